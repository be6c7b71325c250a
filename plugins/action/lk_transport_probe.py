# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of lookerops.encryption.lk_transport_probe: a no-op through the key's own transport (pipelined, with become)."""

from __future__ import annotations

import secrets
import time

from ansible.errors import AnsibleError

from ansible_collections.lookerops.encryption.plugins.plugin_utils._key_transport import execute_module, pipelining_blocker
from ansible_collections.lookerops.encryption.plugins.plugin_utils._action_module import KeyActionBase
from ansible_collections.lookerops.encryption.plugins.plugin_utils._transport_probe import probe_verdict, token_digest

MODULE = 'lookerops.encryption.lk_transport_probe'


class ActionModule(KeyActionBase):
    MODULE = MODULE
    ARGSPEC = None

    def run_action(self, result, task_vars, module_args, params):
        host = (task_vars or {}).get('inventory_hostname')
        # When the controller reached this node: the spread over every node measures a round (the stop gate).
        dispatched_at = time.time()
        blocker = pipelining_blocker(self._connection, self._task)
        token = secrets.token_hex(16)
        module_result = {}
        if blocker is None:
            try:
                # Sent as a key is: the token is a secret argument, so it travels pipelined whatever the settings say.
                module_result = execute_module(self, MODULE, {'token': token}, task_vars, secret_args=('token',))
            except AnsibleError as exc:
                # A become prompt that never comes, a connection that breaks: a refusal to explain, not an unreachable host.
                module_result = {'failed': True, 'msg': str(exc)}
        verdict = probe_verdict(host, blocker, module_result, token_digest(token))
        if verdict:
            result.update(failed=True, changed=False, msg=verdict)
            return result
        result.update(changed=False, pipelined=True, euid=module_result.get('euid'), token_digest=module_result.get('token_digest'),
                      dispatched_at=dispatched_at)
        return result
