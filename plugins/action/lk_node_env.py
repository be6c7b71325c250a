# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of lookerops.encryption.lk_node_env: for mode key_env, supplies the CMK from `key` or the escrow (never generates)."""

from __future__ import annotations

from ansible_collections.lookerops.encryption.plugins.plugin_utils._key_transport import execute_module
from ansible_collections.lookerops.encryption.plugins.plugin_utils._action_module import KeyActionBase
from ansible_collections.lookerops.encryption.plugins.plugin_utils._cmk_source import (
    existing_key_for_module,
    SOURCE_ARGSPEC,
)

MODULE = 'lookerops.encryption.lk_node_env'


class ActionModule(KeyActionBase):
    MODULE = MODULE
    ARGSPEC = SOURCE_ARGSPEC

    def run_action(self, result, task_vars, module_args, params):
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
