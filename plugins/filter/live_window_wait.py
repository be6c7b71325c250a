# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: live_window_wait
short_description: Seconds Looker's offline task waits before its first try, after the stop round
version_added: 0.2.0
description:
  - Looker refuses C(migrate_encryption) and C(rekey) while it counts other nodes as live, and says to try again shortly
    when a node stopped within the last minute. The first try waits for what remains of that window after the stop round
    proved the last running node down; the task then retries only while Looker still answers that nodes are live.
  - When no node was running at the stop (a resumed run), the first try goes at once.
author:
  - lookerops.encryption contributors (@lookerops)
options:
  _input:
    description:
      - The stop phase of the run record, with C(any_was_running) and C(last_down_by) (epoch seconds on the controller by
        which the last running node was down, when known) or else C(stopped_at) (when the stop task ended).
    type: dict
    required: true
  live_window:
    description: Looker's live window in seconds (the procedure's "last minute").
    type: float
    default: 60
  now:
    description: Epoch seconds on the controller now.
    type: float
    required: true
"""

EXAMPLES = r"""
- name: Wait for what remains of the live window, then migrate
  lookerops.encryption.lk_migrate_encryption:
    first_attempt_delay: "{{ lookerops_run.stop | lookerops.encryption.live_window_wait(60, now(utc=true).timestamp()) }}"
"""

RETURN = r"""
_value:
  description: Seconds to wait, 0 or more.
  type: float
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.lookerops.encryption.plugins.plugin_utils._live_window import LiveWindowError, live_window_wait


def _live_window_wait(stop, live_window=60, now=None):
    try:
        return live_window_wait(stop, live_window, now)
    except LiveWindowError as exc:
        raise AnsibleFilterError('live_window_wait: %s' % exc) from None


class FilterModule:
    """How long the offline task waits for Looker's live window."""

    def filters(self):
        return {'live_window_wait': _live_window_wait}
