# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of lookerops.encryption.lk_migrate_encryption: waits for what remains of Looker's live window
(``first_attempt_delay``) on the controller, with a line every ``progress_interval`` seconds, then runs the module."""

from __future__ import annotations

import time

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.lookerops.encryption.plugins.plugin_utils._job_wait import add_controller_wait, wait_for_live_window

MODULE = 'lookerops.encryption.lk_migrate_encryption'

display = Display()


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        host = (task_vars or {}).get('inventory_hostname')
        module_args, waited = wait_for_live_window(self._task.args, host, 'migrate_encryption', self._task.check_mode,
                                                   display.display, time.sleep, time.monotonic)
        module_result = self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars)
        result.update(add_controller_wait(module_result, waited))
        return result
