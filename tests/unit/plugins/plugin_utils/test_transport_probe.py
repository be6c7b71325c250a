# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the key-transport probe: the decision branch by branch, and the action plugin on ansible-core's own
connection and become plugins (a no-op is sent exactly as the key is: pipelined, whatever the configuration)."""

from __future__ import annotations

import types

import pytest

from ansible.errors import AnsibleConnectionFailure
from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import become_loader, connection_loader

from ansible_collections.lookerops.encryption.plugins.action import lk_transport_probe as probe_action
from ansible_collections.lookerops.encryption.plugins.modules import lk_transport_probe as probe_module
from ansible_collections.lookerops.encryption.plugins.plugin_utils import _transport_probe as tp

DIGEST = tp.token_digest('t0ken')
OK = {'changed': False, 'euid': 0, 'token_digest': DIGEST}
AFTER = 'before any node was stopped; nothing was changed'


def test_the_transport_works():
    assert tp.probe_verdict('n1', None, OK, DIGEST) is None


@pytest.mark.parametrize('case, blocker, result, words', [
    ('become su cannot pipeline', 'the become method su cannot pipeline (it needs a terminal). Use become_method: sudo', {},
     ['the node n1', 'become method su cannot pipeline', 'become_method: sudo']),
    ('sudo requiretty', None, {'failed': True, 'msg': 'MODULE FAILURE', 'module_stderr': 'sudo: sorry, you must have a tty to run sudo\n'},
     ['sudo there needs a terminal', '!requiretty', 'you must have a tty']),
    ('sudo without askpass', None, {'failed': True, 'module_stderr': 'sudo: no tty present and no askpass program specified'},
     ['sudo there needs a terminal']),
    ('sudo password missing', None, {'failed': True, 'msg': 'Missing sudo password'}, ['asks for a password', '--ask-become-pass']),
    ('become prompt timeout', None, {'failed': True, 'msg': 'Timeout (12s) waiting for privilege escalation prompt: '},
     ['asks for a password']),
    ('any other failure', None, {'failed': True, 'msg': 'MODULE FAILURE', 'module_stderr': '/usr/bin/python3: not found'},
     ['a no-op module sent the same way (pipelined, with become) failed', '/usr/bin/python3: not found']),
    ('arguments altered', None, dict(OK, token_digest='0' * 64), ['did not get its arguments intact']),
    ('not root', None, dict(OK, euid=1000), ['ran as uid 1000', 'become: true']),
])
def test_refusals(case, blocker, result, words):
    msg = tp.probe_verdict('n1', blocker, result, DIGEST)
    assert msg and AFTER in msg, case
    for word in words:
        assert word in msg, (case, msg)


def make_action(become=None, outcome=None):
    play_context = PlayContext()
    conn = connection_loader.get('local', play_context, None)
    conn.set_options(direct={'pipelining': False})
    if become is not None:
        plugin = become_loader.get(become)
        plugin.set_options(direct={'become_user': 'root'})
        conn.set_become_plugin(plugin)
    task = types.SimpleNamespace(async_val=0, check_mode=False, environment=[], action='lk_transport_probe', args={}, diff=False)
    action = probe_action.ActionModule(task, conn, play_context, None, None, None)
    action.sent = []

    def execute(module_name=None, module_args=None, task_vars=None, **_kwargs):
        # What ActionBase would decide: the probe always pipelines (its token is a secret argument).
        action.sent.append({'module': module_name, 'pipelined': action._is_pipelining_enabled('new')})  # pylint: disable=protected-access
        if isinstance(outcome, Exception):
            raise outcome
        if outcome is not None:
            return dict(outcome)
        return {'changed': False, 'euid': 0, 'token_digest': tp.token_digest(module_args['token'])}
    action._execute_module = execute  # pylint: disable=protected-access
    return action


def test_action_sends_the_probe_pipelined_and_passes():
    action = make_action(become='sudo')
    result = action.run(task_vars={'inventory_hostname': 'n1'})
    assert not result.get('failed') and result['pipelined'] is True and result['changed'] is False
    assert isinstance(result['dispatched_at'], float) and result['dispatched_at'] > 1.7e9
    assert action.sent == [{'module': 'lookerops.encryption.lk_transport_probe', 'pipelined': True}]


def test_action_refuses_su_before_sending():
    action = make_action(become='su')
    result = action.run(task_vars={'inventory_hostname': 'n1'})
    assert result['failed'] and 'become method su cannot pipeline' in result['msg'] and action.sent == []


def test_action_turns_a_connection_failure_into_a_refusal():
    action = make_action(become='sudo', outcome=AnsibleConnectionFailure('Timeout (12s) waiting for privilege escalation prompt: '))
    result = action.run(task_vars={'inventory_hostname': 'n1'})
    assert result['failed'] and 'asks for a password' in result['msg'] and not result.get('unreachable')


def test_action_reports_a_tty_refusal():
    action = make_action(become='sudo', outcome={'failed': True, 'msg': 'MODULE FAILURE',
                                                 'module_stderr': 'sudo: sorry, you must have a tty to run sudo'})
    result = action.run(task_vars={'inventory_hostname': 'n1'})
    assert result['failed'] and 'needs a terminal' in result['msg'] and 'n1' in result['msg']


def test_module_answers_the_digest(monkeypatch):
    from ansible_collections.lookerops.encryption.tests.unit.plugins.modules.utils import run_main  # pylint: disable=import-outside-toplevel
    res = run_main(probe_module, {'token': 't0ken'}, monkeypatch)
    assert res['token_digest'] == DIGEST and res['changed'] is False and isinstance(res['euid'], int)
