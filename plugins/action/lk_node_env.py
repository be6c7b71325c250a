# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of lookerops.encryption.lk_node_env: for mode key_env, supplies the CMK from `key` or the escrow (never generates)."""

from __future__ import annotations

from ansible import constants as C
from ansible.plugins.action import ActionBase

from ansible_collections.lookerops.encryption.plugins.plugin_utils._key_transport import execute_module
from ansible_collections.lookerops.encryption.plugins.plugin_utils._run_guards import debug_refusal
from ansible_collections.lookerops.encryption.plugins.plugin_utils._cmk_source import (
    existing_key_for_module,
    split_task_args,
    SOURCE_ARGSPEC,
)

MODULE = 'lookerops.encryption.lk_node_env'
# `key` stays a module argument (no_log there); the escrow options are consumed here.
CONTROLLER_ONLY = ('controller_key_file', 'escrow', 'escrow_aws', 'escrow_path', 'escrow_vault_id', 'escrow_vault_password_file',
                   'escrow_waiver')


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        refusal = debug_refusal(C.DEFAULT_DEBUG, MODULE)
        if refusal:
            # Before any key is decided, read or sent: the debug output would print it.
            result.update(failed=True, changed=False, msg=refusal)
            return result
        module_args, params, error = split_task_args(self._task.args, SOURCE_ARGSPEC)
        if error:
            result.update(failed=True, msg=error)
            return result
        facts = {}
        if module_args.get('mode') == 'key_env':
            source, error = existing_key_for_module(params, self._loader, module_args, bool(self._task.check_mode))
            if error:
                result.update(failed=True, msg=error)
                return result
            module_args['key'] = source.key_text
            module_args['expected_kcv'] = source.kcv
            facts = {'escrow_path': source.escrow_path, 'escrow_verified': source.escrow_verified, 'escrow_written': source.escrow_written}
        elif params['key'] is not None:
            result.update(failed=True, msg='key is only used with mode=key_env; remove it for mode=%s.' % module_args.get('mode'))
            return result
        module_result = execute_module(self, MODULE, module_args, task_vars)
        result.update(module_result)
        if 'setting_mode' in module_result:
            # exit_json() put the file mode of `path` into `mode`; `mode` is documented as the setting mode.
            result['cfg_file_mode'] = module_result.get('mode')
            result['mode'] = module_result['setting_mode']
        result.update(facts)
        if facts.get('escrow_written'):
            result['changed'] = True
        return result
