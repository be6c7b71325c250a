# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The attribute support the collection's modules share (the descriptions come from ansible.builtin.action_common_attributes).

A module lists this fragment and the sub-fragments that fit it first, then ``ansible.builtin.action_common_attributes`` (and
``.flow`` with an action plugin): of two fragments the first one listed wins, and the builtin one says ``platform: N/A``.
The module's own ``attributes:`` hold the details and whatever differs; they win over every fragment.
"""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    """Documentation of the attributes: every module's support, then named sub-fragments."""

    # Every module: check mode (the module's own details say how), no diff unless the module says otherwise, POSIX hosts.
    DOCUMENTATION = r'''
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
'''

    # The modules that have an action plugin of their own (lk_cmk, lk_node_env, lk_rekey, lk_run_lock, lk_transport_probe);
    # none of them runs with async or bypasses the host loop.
    ACTION_PLUGIN = r'''
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
'''

    # The modules that only read.
    INFO_MODULE = r'''
attributes:
  check_mode:
    details: The module only reads; it behaves the same in check mode.
'''
