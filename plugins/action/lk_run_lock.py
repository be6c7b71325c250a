# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of lookerops.encryption.lk_run_lock: names the holder (this controller's ansible-playbook process) and,
when the lock of the same run is held by a process of this controller that is gone, takes it over."""

from __future__ import annotations

import os
import socket

from ansible.plugins.action import ActionBase

from ansible_collections.lookerops.encryption.plugins.module_utils._looker.proc import process_started_at
from ansible_collections.lookerops.encryption.plugins.module_utils._run_lock import held_by_live_msg, holder_alive

MODULE = 'lookerops.encryption.lk_run_lock'


def controller_holder():
    """This controller's ansible-playbook process: the parent of the worker process that runs an action plugin."""
    pid = os.getppid()
    return {'host': socket.gethostname(), 'pid': pid, 'started': process_started_at(pid)}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        module_args = dict(self._task.args)
        for internal in ('holder', 'takeover_of'):
            if internal in module_args:
                result.update(failed=True, msg='%s is set by the action plugin; remove it from the task.' % internal)
                return result
        me = controller_holder()
        module_args['holder'] = me
        module_result = self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars)
        if module_result.get('failed') and module_result.get('held_same_run'):
            lock = module_result.get('lock') or {}
            alive = holder_alive(lock.get('holder'), me, process_started_at)
            if alive is False:
                module_args['takeover_of'] = lock.get('holder')
                module_result = self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars)
            else:
                module_result['msg'] = held_by_live_msg(module_args.get('path') or module_result.get('path') or 'the run lock',
                                                        lock, alive)
        result.update(module_result)
        return result
