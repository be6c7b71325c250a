# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: path_name_problem
short_description: Why a value cannot name a file or directory of a run (run id, node name), or an empty string
version_added: 0.2.0
description:
  - A run id names the run's backup directory, a node's inventory name its home archive. Each must be one path component
    of letters, digits, C(_), C(.) and C(-), and never C(.) or C(..) alone.
  - Returns an empty string when the value is fine, else a sentence naming O(what) and what is wrong.
author:
  - lookerops.encryption contributors (@lookerops)
options:
  _input:
    description: The value to check.
    type: raw
    required: true
  what:
    description: What the value is, for the sentence (for example C(lookerops_run_id)).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Check the run id
  ansible.builtin.assert:
    that: lookerops_run_id | lookerops.encryption.path_name_problem('lookerops_run_id') | length == 0
"""

RETURN = r"""
_value:
  description: The problem, or an empty string.
  type: str
"""

from ansible_collections.lookerops.encryption.plugins.module_utils._names import name_problem


def path_name_problem(value, what):
    return name_problem(value, what) or ''


class FilterModule:
    """The names of a run that become paths."""

    def filters(self):
        return {'path_name_problem': path_name_problem}
