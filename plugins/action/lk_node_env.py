# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of lookerops.encryption.lk_node_env: for mode key_env, supplies the CMK from `key` or the escrow (never generates)."""

from __future__ import annotations

from ansible_collections.lookerops.encryption.plugins.plugin_utils._action_module import KeyActionBase
from ansible_collections.lookerops.encryption.plugins.plugin_utils._cmk_source import SOURCE_ARGSPEC

MODULE = 'lookerops.encryption.lk_node_env'


class ActionModule(KeyActionBase):
    MODULE = MODULE
    ARGSPEC = SOURCE_ARGSPEC

    def run_action(self, result, task_vars, module_args, params):
        mode = module_args.get('mode')
        if mode != 'key_env' and params['key'] is not None:
            result.update(failed=True, msg='key is only used with mode=key_env; remove it for mode=%s.' % mode)
            return result
        result = self.run_with_existing_key(result, task_vars, module_args, params, mode == 'key_env',
                                            ('escrow_path', 'escrow_verified', 'escrow_written'))
        if 'setting_mode' in result:
            # exit_json() put the file mode of `path` into `mode`; `mode` is documented as the setting mode.
            result['cfg_file_mode'] = result.get('mode')
            result['mode'] = result['setting_mode']
        return result
