# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to lookerops.encryption; not a public API.

The opening every action plugin that carries the key shares (lk_cmk, lk_node_env, lk_rekey, lk_transport_probe): refuse
before anything is decided, read or sent when Ansible's debug output is on (it prints module arguments and replies, no_log
or not), split the controller-side options from the module's, then hand over to the plugin's own ``run_action``; and the
module run with an existing key that lk_node_env and lk_rekey share.
"""

from __future__ import annotations

from ansible import constants as C
from ansible.plugins.action import ActionBase

from ansible_collections.lookerops.encryption.plugins.plugin_utils._cmk_source import existing_key_for_module, split_task_args
from ansible_collections.lookerops.encryption.plugins.plugin_utils._key_transport import execute_module
from ansible_collections.lookerops.encryption.plugins.plugin_utils._run_guards import debug_refusal


class KeyActionBase(ActionBase):
    """Base class of the key-carrying action plugins.

    ``MODULE`` names the module the plugin runs. ``ARGSPEC``, when set, is the argument spec of the controller-side options
    (``split_task_args``); ``run_action`` then gets the module's arguments and the controller's parameters apart.
    """

    TRANSFERS_FILES = False
    MODULE = None
    ARGSPEC = None

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        refusal = debug_refusal(C.DEFAULT_DEBUG, self.MODULE)
        if refusal:
            result.update(failed=True, changed=False, msg=refusal)
            return result
        module_args = params = None
        if self.ARGSPEC is not None:
            module_args, params, error = split_task_args(self._task.args, self.ARGSPEC)
            if error:
                result.update(failed=True, msg=error)
                return result
        return self.run_action(result, task_vars, module_args, params)

    def run_action(self, result, task_vars, module_args, params):
        """The plugin's own work, after the shared opening; returns ``result`` updated."""
        raise NotImplementedError

    def run_with_existing_key(self, result, task_vars, module_args, params, wanted, facts, error_prefix=''):
        """Run the module; when ``wanted``, with the key it gets from the controller (``key``, the controller key file or
        the escrow, never a generated one) as its no_log ``key`` and that key's ``expected_kcv`` (lk_node_env for
        mode=key_env, lk_rekey for a new local key). The escrow ``facts`` named join the result; a written escrow is a
        change. Returns ``result`` updated."""
        escrow_facts = {}
        if wanted:
            source, error = existing_key_for_module(params, self._loader, module_args, bool(self._task.check_mode))
            if error:
                result.update(failed=True, msg=error_prefix + error)
                return result
            module_args['key'] = source.key_text
            module_args['expected_kcv'] = source.kcv
            escrow_facts = {name: getattr(source, name) for name in facts}
            source = None
        result.update(execute_module(self, self.MODULE, module_args, task_vars))
        result.update(escrow_facts)
        if escrow_facts.get('escrow_written'):
            result['changed'] = True
        return result
