# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of the modules that run one of Looker's offline tasks (lk_migrate_encryption, lk_rekey)."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    """Documentation of the offline task option group (plugins/module_utils/_looker/migrate.py, OFFLINE_TASK_OPTIONS)."""

    DOCUMENTATION = r'''
options:
  creds_file:
    description:
      - Credentials YAML passed as C(-d). Default the C(-d)/C(--internal-db-creds) of the node's C(LOOKERARGS) (the procedure
        requires the same option as the startup). V(none) runs without C(-d).
    type: str
  jvm_args:
    description: JVM options placed before C(-jar) (the procedure runs plain C(java -jar)).
    type: list
    elements: str
    default: []
  retries:
    description: How many times to retry on the other-live-nodes answer.
    type: int
    default: 10
  retry_delay:
    description: Seconds before the first retry.
    type: float
    default: 10
  first_attempt_delay:
    description:
      - Seconds to wait before the first attempt, counted in O(timeout). The caller gives what remains of Looker's live
        window after the last node stopped (the filter C(lookerops.encryption.live_window_wait)), so that the first
        attempt is not refused; later attempts follow only Looker's answer that other nodes are live.
      - The wait happens on the controller (the action plugin), before the module runs on the node; RV(waited_seconds)
        and RV(duration_seconds) count it.
    type: float
    default: 0
  progress_interval:
    description:
      - The action plugin waits O(first_attempt_delay) on the controller and prints, every this many seconds, a line with
        the node, the task and the seconds left of Looker's live window; 0 prints one line only.
    type: float
    default: 15
  timeout:
    description: Seconds for the whole run, retries included. On timeout the task is left running.
    type: int
    default: 3600
'''
