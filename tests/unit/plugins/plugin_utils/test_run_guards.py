# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of _run_guards: no key is handled with Ansible's debug output on (it prints module arguments and replies).

The refusal is checked on the pure decision, on the filter preflight calls, and on every action plugin that carries a key:
each refuses before it decides, reads or sends a key.
"""

from __future__ import annotations

import importlib
import types

import pytest

from ansible import constants as C
from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import connection_loader

from ansible_collections.lookerops.encryption.plugins.filter import debug_refusal as debug_filter
from ansible_collections.lookerops.encryption.plugins.plugin_utils import _action_module
from ansible_collections.lookerops.encryption.plugins.plugin_utils import _run_guards as rg

KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8='


@pytest.mark.parametrize('setting', [True, 'True', 'true', '1', 'yes', 'on'])
def test_debug_on_is_refused(setting):
    msg = rg.debug_refusal(setting, 'lookerops.encryption.migrate')
    assert msg.startswith('lookerops.encryption.migrate refused: Ansible debug output is on')
    assert 'ANSIBLE_DEBUG' in msg and 'Nothing was sent and nothing was changed' in msg and rg.DEBUG_REMEDY in msg


@pytest.mark.parametrize('setting', [False, None, '', '0', 'false', 'no', 'off'])
def test_debug_off_is_let_through(setting):
    assert rg.debug_refusal(setting) is None


def test_filter():
    flt = debug_filter.FilterModule().filters()['debug_refusal']
    assert flt(False) == ''
    assert flt(True, 'lookerops.encryption.rekey').startswith('lookerops.encryption.rekey refused')
    assert flt(True).startswith('this run refused')


ACTIONS = {
    'lk_cmk': [{'state': 'present', 'key': KEY, 'path': '/k'}, {'state': 'recovered', 'escrow': 'vault', 'escrow_path': '/e'}],
    'lk_node_env': [{'mode': 'key_env', 'key': KEY}],
    'lk_rekey': [{'new_key_source': 'local', 'key': KEY}],
    'lk_transport_probe': [{}],
}


def make_action(name, args):
    mod = importlib.import_module('ansible_collections.lookerops.encryption.plugins.action.%s' % name)
    play_context = PlayContext()
    conn = connection_loader.get('local', play_context, None)
    task = types.SimpleNamespace(async_val=0, check_mode=False, environment=[], action=name, args=dict(args),
                                 diff=False)
    action = mod.ActionModule(task, conn, play_context, None, None, None)
    action.sent = []

    def execute(**kwargs):
        action.sent.append(kwargs)
        return {'changed': True}
    action._execute_module = execute  # pylint: disable=protected-access
    return mod, action


@pytest.mark.parametrize('name, args', [(n, a) for n, cases in ACTIONS.items() for a in cases])
def test_key_actions_refuse_with_debug_on(monkeypatch, name, args):
    mod, action = make_action(name, args)
    monkeypatch.setattr(C, 'DEFAULT_DEBUG', True)
    looked_up = []
    for owner in (mod, _action_module):
        for helper in ('resolve_task_cmk', 'existing_key_for_module', 'split_task_args'):
            if hasattr(owner, helper):
                monkeypatch.setattr(owner, helper, lambda *a, h=helper, **k: looked_up.append(h))
    result = action.run(task_vars={'inventory_hostname': 'n1'})
    assert result['failed'] and not result['changed']
    assert result['msg'].startswith('lookerops.encryption.%s refused: Ansible debug output is on' % name)
    assert action.sent == [] and looked_up == []
    assert KEY not in repr(result)


def test_key_actions_run_with_debug_off(monkeypatch):
    mod, action = make_action('lk_node_env', {'mode': 'key_file', 'path': '/x'})
    monkeypatch.setattr(C, 'DEFAULT_DEBUG', False)
    del mod
    result = action.run(task_vars={'inventory_hostname': 'n1'})
    assert not result.get('failed') and len(action.sent) == 1


WAIVED = {'escrow': 'none', 'escrow_waiver': 'I have escrowed the CMK myself'}
KEY_KCV = 'kcv1:85eaa8f81d9c4bb6'


@pytest.mark.parametrize('name, args, facts', [
    ('lk_node_env', {'mode': 'key_env'}, {'escrow_path': None, 'escrow_verified': False, 'escrow_written': False}),
    ('lk_rekey', {'new_key_source': 'local'}, {'escrow_path': None, 'escrow_verified': False}),
])
def test_existing_key_goes_to_the_module_with_its_kcv(monkeypatch, name, args, facts):
    dummy, action = make_action(name, dict(args, key=KEY, **WAIVED))
    monkeypatch.setattr(C, 'DEFAULT_DEBUG', False)
    result = action.run(task_vars={'inventory_hostname': 'n1'})
    assert not result.get('failed'), result.get('msg')
    assert [(sent['module_args']['key'], sent['module_args']['expected_kcv']) for sent in action.sent] == [(KEY, KEY_KCV)]
    assert {fact: result.get(fact, 'absent') for fact in ('escrow_path', 'escrow_verified', 'escrow_written')} == dict(
        {'escrow_written': 'absent'}, **facts)
    assert KEY not in repr(result)


@pytest.mark.parametrize('name, args, msg', [
    ('lk_node_env', {'mode': 'key_env', 'expected_kcv': 'kcv1:0123456789abcdef'}, 'The CMK has %s but expected_kcv' % KEY_KCV),
    ('lk_rekey', {'new_key_source': 'local', 'expected_kcv': 'kcv1:0123456789abcdef'}, 'The new key: The CMK has %s' % KEY_KCV),
    ('lk_node_env', {'mode': 'key_file'}, 'key is only used with mode=key_env; remove it for mode=key_file.'),
    ('lk_rekey', {'new_key_source': 'aws_kms'}, 'key and controller_key_file are for new_key_source=local'),
])
def test_existing_key_refusals_send_nothing(monkeypatch, name, args, msg):
    dummy, action = make_action(name, dict(args, key=KEY, **WAIVED))
    monkeypatch.setattr(C, 'DEFAULT_DEBUG', False)
    result = action.run(task_vars={'inventory_hostname': 'n1'})
    assert result['failed'] and result['msg'].startswith(msg) and action.sent == []
