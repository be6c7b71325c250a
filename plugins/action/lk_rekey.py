# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of lookerops.encryption.lk_rekey: for a new local key, supplies it from `key`, a controller key file or the
escrow (never generates one), and sends it to the node only inside the module payload (no_log there, never echoed)."""

from __future__ import annotations

import time

from ansible.utils.display import Display

from ansible_collections.lookerops.encryption.plugins.plugin_utils._action_module import KeyActionBase
from ansible_collections.lookerops.encryption.plugins.plugin_utils._cmk_source import SOURCE_ARGSPEC
from ansible_collections.lookerops.encryption.plugins.plugin_utils._job_wait import add_controller_wait, wait_for_live_window

MODULE = 'lookerops.encryption.lk_rekey'

display = Display()


class ActionModule(KeyActionBase):
    MODULE = MODULE
    ARGSPEC = SOURCE_ARGSPEC

    def run_action(self, result, task_vars, module_args, params):
        local = module_args.get('new_key_source') == 'local'
        if not local and (params['key'] is not None or params['controller_key_file'] is not None):
            result.update(failed=True, msg='key and controller_key_file are for new_key_source=local; an AWS KMS key is named by '
                                           'aws_region, aws_cmk and aws_cmk_ec.')
            return result
        # What remains of Looker's live window is waited for here, with a line every progress_interval, before the key is
        # read or sent.
        module_args, waited = wait_for_live_window(module_args, (task_vars or {}).get('inventory_hostname'), 'rekey',
                                                   self._task.check_mode, display.display, time.sleep, time.monotonic)
        result = self.run_with_existing_key(result, task_vars, module_args, params, local, ('escrow_path', 'escrow_verified'),
                                            error_prefix='The new key: ')
        return add_controller_wait(result, waited)
