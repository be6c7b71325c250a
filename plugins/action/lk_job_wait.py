# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of lookerops.encryption.lk_job_wait: waits on the node in slices of ``progress_interval`` seconds and
prints, between two slices, a line saying which job still runs, for how long, and how far it is."""

from __future__ import annotations

import time

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.lookerops.encryption.plugins.plugin_utils._job_wait import DEFAULT_INTERVAL, job_wait_line, next_wait

MODULE = 'lookerops.encryption.lk_job_wait'

display = Display()


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None, clock=time.monotonic):
        result = super().run(tmp, task_vars)
        del tmp
        module_args = dict(self._task.args)
        if 'slice_seconds' in module_args:
            result.update(failed=True, msg='slice_seconds is set by the action plugin from progress_interval; remove it from '
                                           'the task.')
            return result
        host = (task_vars or {}).get('inventory_hostname')
        interval = module_args.get('progress_interval', DEFAULT_INTERVAL)
        began = clock()
        while True:
            elapsed = clock() - began
            timeout, slice_seconds = next_wait(module_args.get('timeout', 3600), elapsed, interval)
            args = dict(module_args, timeout=timeout)
            if slice_seconds is not None:
                args['slice_seconds'] = slice_seconds
            module_result = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
            if module_result.get('running') is True and not module_result.get('failed'):
                display.display(job_wait_line(host, module_args.get('label'), clock() - began, module_result.get('progress')))
                continue
            break
        if 'waited_seconds' in module_result:
            module_result['waited_seconds'] = round(clock() - began, 3)
            # When the job's result came back, on the controller's clock: the job had ended by then (the stop role
            # takes the latest over the nodes' stops as the end of the stop, for Looker's live window).
            module_result['returned_at'] = time.time()
        result.update(module_result)
        return result
