# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The escrow option group is written once: the modules, the action plugins' spec and the action group agree."""

from __future__ import annotations

import os

import yaml

from ansible_collections.lookerops.encryption.plugins.module_utils._escrow_options import escrow_argument_spec
from ansible_collections.lookerops.encryption.plugins.modules import lk_cmk, lk_node_env
from ansible_collections.lookerops.encryption.plugins.plugin_utils._cmk_source import SOURCE_ARGSPEC

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
MODULES = os.path.join(ROOT, 'plugins', 'modules')


def _escrow_documented():
    """Modules whose documentation extends the escrow doc fragment."""
    out = []
    for name in sorted(os.listdir(MODULES)):
        if name.endswith('.py'):
            with open(os.path.join(MODULES, name), encoding='utf-8') as handle:
                if '  - lookerops.encryption.escrow\n' in handle.read():
                    out.append(name[:-3])
    return out


def test_the_escrow_action_group_names_every_module_documented_with_the_escrow_options():
    with open(os.path.join(ROOT, 'meta', 'runtime.yml'), encoding='utf-8') as handle:
        groups = yaml.safe_load(handle)['action_groups']
    assert sorted(groups['escrow']) == _escrow_documented() == ['lk_cmk', 'lk_node_env', 'lk_rekey']


def test_modules_compose_the_one_escrow_option_group():
    for module in (lk_cmk, lk_node_env):
        spec = module.argument_spec()
        assert {name: spec[name] for name in escrow_argument_spec()} == escrow_argument_spec()


def test_the_action_plugins_check_the_same_options_with_the_same_defaults():
    group = escrow_argument_spec()
    assert set(SOURCE_ARGSPEC) == set(group) | {'key'}
    for name, option in group.items():
        assert SOURCE_ARGSPEC[name]['type'] == option['type']
        assert SOURCE_ARGSPEC[name].get('default') == option.get('default')
        assert SOURCE_ARGSPEC[name].get('choices') == option.get('choices')
    assert SOURCE_ARGSPEC['key']['no_log'] is True


def test_each_call_gets_its_own_copy():
    first = escrow_argument_spec()
    first['escrow']['choices'].append('elsewhere')
    assert 'elsewhere' not in escrow_argument_spec()['escrow']['choices']
