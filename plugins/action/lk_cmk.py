# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of lookerops.encryption.lk_cmk: decides the CMK on the controller, keeps its escrow, then runs the module.

The key reaches the node only as the module's no_log ``key`` argument inside the module payload;
it is never echoed in the result.
"""

from __future__ import annotations

import base64
import os

from ansible_collections.lookerops.encryption.plugins.module_utils._key_material import KeyMaterialError, is_kcv, kcv_of_text
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.migrate import RECOVERED_KEY_FIELD
from ansible_collections.lookerops.encryption.plugins.plugin_utils._key_transport import execute_module
from ansible_collections.lookerops.encryption.plugins.plugin_utils._action_module import KeyActionBase
from ansible_collections.lookerops.encryption.plugins.plugin_utils._cmk_source import (
    SOURCE_ARGSPEC,
    resolve_task_cmk,
)

MODULE = 'lookerops.encryption.lk_cmk'

ACTION_ARGSPEC = dict(
    SOURCE_ARGSPEC,
    generate=dict(type='bool', default=True),
    deliver=dict(type='bool', default=True),
)


class ActionModule(KeyActionBase):
    MODULE = MODULE
    ARGSPEC = ACTION_ARGSPEC

    def run_action(self, result, task_vars, module_args, params):
        state = module_args.get('state') or 'present'
        expected_kcv = module_args.get('expected_kcv')
        if expected_kcv is not None and not is_kcv(expected_kcv):
            result.update(failed=True, msg="expected_kcv must look like 'kcv1:' followed by 16 hex digits (as returned by lk_cmk).")
            return result
        check_mode = bool(self._task.check_mode)
        if state == 'recovered':
            return self._recover(result, module_args, params, expected_kcv, check_mode, task_vars)

        if state == 'retired' and (expected_kcv is None or params['key'] is not None):
            result.update(failed=True, msg='state=retired removes the key named by expected_kcv (its key check value) from the '
                                           'node; it takes no key.')
            return result
        if state == 'retired' or (state == 'validated' and expected_kcv is not None and params['key'] is None):
            source = None
        else:
            # state=validated never writes anything, not even the escrow.
            source, error = resolve_task_cmk(params, self._loader, params['key'], params['generate'] and state == 'present',
                                             check_mode or state == 'validated', key_file=params['controller_key_file'])
            if error:
                result.update(failed=True, msg=error)
                return result

        facts = {}
        if source is not None:
            if expected_kcv is not None and expected_kcv != source.kcv:
                result.update(failed=True, msg='The CMK has %s but expected_kcv is %s; nothing was sent to the node.' % (source.kcv, expected_kcv))
                return result
            facts = source.facts()
            if state == 'validated':
                # Nothing was or would be written.
                facts['escrow_written'] = False
                facts['generated'] = False
            expected_kcv = source.kcv
        else:
            facts = {'kcv': expected_kcv, 'generated': False, 'escrow_path': None, 'escrow_written': False, 'escrow_verified': False}

        if not params['deliver']:
            result.update(facts)
            result['changed'] = bool(facts['escrow_written'])
            return result

        module_args['expected_kcv'] = expected_kcv
        if state == 'present':
            module_args['key'] = source.key_text
        else:
            module_args.pop('key', None)
        module_result = execute_module(self, MODULE, module_args, task_vars)
        result.update(module_result)
        result.update(facts)
        result['changed'] = bool(module_result.get('changed')) or bool(facts['escrow_written'])
        return result

    def _recover(self, result, module_args, params, expected_kcv, check_mode, task_vars):
        """Read the key the node's Looker uses and escrow it (when missing) or check the escrow holds it."""
        if params['escrow'] == 'none':
            result.update(failed=True, msg='state=recovered escrows the key the nodes use; it needs an escrow (escrow=vault or '
                                           'aws_secretsmanager), not escrow=none.')
            return result
        module_args.pop('key', None)
        # A one-time pad seals the key in the module's reply (Ansible prints replies at -vvvv).
        pad = os.urandom(32)
        module_args['transport_pad'] = base64.b64encode(pad).decode('ascii')
        module_result = execute_module(self, MODULE, module_args, task_vars, secret_args=('transport_pad',))
        sealed = module_result.pop(RECOVERED_KEY_FIELD, None)
        key_text = None
        if sealed is not None:
            try:
                key_text = base64.b64encode(bytes(a ^ b for a, b in zip(base64.b64decode(sealed), pad))).decode('ascii')
            except (ValueError, TypeError):
                key_text = None
        if module_result.get('failed') or key_text is None:
            result.update(module_result)
            result['failed'] = True
            result.setdefault('msg', 'The node returned no key.')
            return result
        try:
            matches = kcv_of_text(key_text) == module_result.get('kcv') and expected_kcv in (None, module_result.get('kcv'))
        except KeyMaterialError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        if not matches:
            result.update(failed=True, msg='The key read from the node does not have the key check value the node reported (%s, expected %s); '
                                           'nothing was escrowed. Run again.' % (module_result.get('kcv'), expected_kcv))
            return result
        source, error = resolve_task_cmk(params, self._loader, key_text, False, check_mode)
        key_text = None
        if error:
            result.update(failed=True, msg=error)
            return result
        result.update(source.facts())
        result.update(recovered=True, source=module_result.get('source'), changed=bool(source.escrow_written))
        return result
