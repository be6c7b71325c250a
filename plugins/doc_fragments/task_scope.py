# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The running-task check option of the modules that must not act while a Looker task runs (lk_stop_cluster, lk_migrate_encryption)."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    """Documentation of the task_scope option."""

    DOCUMENTATION = r'''
options:
  task_scope:
    description:
      - Which running Looker tasks make the module refuse. V(host) any C(java -jar looker.jar TASK) process on the host.
        V(install) only those running this node's C(looker.jar) (the same file, resolved in the task's own mount namespace),
        for hosts that run several Looker installations.
    type: str
    choices: [host, install]
    default: host
'''
