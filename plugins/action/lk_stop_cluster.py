# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of lookerops.encryption.lk_stop_cluster: runs the module and notes when its result came back
(``returned_at``, the controller's clock). The node was down before then, so the latest of these over every node bounds
when the last node stopped, earlier than the end of the whole task: Looker's live window runs from there
(plugins/plugin_utils/_fan_out.py, last_down_by). A stop launched with ``async`` returns at once and notes nothing."""

from __future__ import annotations

import time

from ansible.plugins.action import ActionBase

MODULE = 'lookerops.encryption.lk_stop_cluster'


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        wrap_async = self._task.async_val
        module_result = self._execute_module(module_name=MODULE, module_args=dict(self._task.args), task_vars=task_vars,
                                             wrap_async=wrap_async)
        if not wrap_async:
            if 'stop_seconds' in module_result and not module_result.get('failed'):
                module_result['returned_at'] = time.time()
            self._remove_tmp_path(self._connection._shell.tmpdir)
        result.update(module_result)
        return result
