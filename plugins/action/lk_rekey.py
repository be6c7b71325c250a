# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of lookerops.encryption.lk_rekey: for a new local key, supplies it from `key`, a controller key file or the
escrow (never generates one), and sends it to the node only inside the module payload (no_log there, never echoed)."""

from __future__ import annotations

from ansible_collections.lookerops.encryption.plugins.plugin_utils._key_transport import execute_module
from ansible_collections.lookerops.encryption.plugins.plugin_utils._action_module import KeyActionBase
from ansible_collections.lookerops.encryption.plugins.plugin_utils._cmk_source import (
    existing_key_for_module,
    SOURCE_ARGSPEC,
)

MODULE = 'lookerops.encryption.lk_rekey'


class ActionModule(KeyActionBase):
    MODULE = MODULE
    ARGSPEC = SOURCE_ARGSPEC

    def run_action(self, result, task_vars, module_args, params):
        facts = {}
        if module_args.get('new_key_source') == 'local':
            source, error = existing_key_for_module(params, self._loader, module_args, bool(self._task.check_mode))
            if error:
                result.update(failed=True, msg='The new key: %s' % error)
                return result
            module_args['key'] = source.key_text
            module_args['expected_kcv'] = source.kcv
            facts = {'escrow_path': source.escrow_path, 'escrow_verified': source.escrow_verified}
            source = None
        elif params['key'] is not None or params['controller_key_file'] is not None:
            result.update(failed=True, msg='key and controller_key_file are for new_key_source=local; an AWS KMS key is named by '
                                           'aws_region, aws_cmk and aws_cmk_ec.')
            return result
        module_result = execute_module(self, MODULE, module_args, task_vars)
        result.update(module_result)
        result.update(facts)
        return result
