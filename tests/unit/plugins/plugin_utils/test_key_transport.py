# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of _key_transport: module arguments with key bytes only travel on stdin (pipelining), whatever the configuration.

The decision is checked against ansible-core's own objects: a real ActionBase, the real local connection plugin and
real become plugins, so that a change of ansible-core's pipelining logic shows up here.
"""

from __future__ import annotations

import types

import pytest

from ansible import constants as C
from ansible.playbook.play_context import PlayContext
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import become_loader, connection_loader

from ansible_collections.lookerops.encryption.plugins.plugin_utils import _key_transport as kt

KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8='


class Recorder(ActionBase):
    """An action whose _execute_module records how ActionBase would transport the module, and sends nothing."""

    calls = None
    style = 'new'

    def _execute_module(self, module_name=None, module_args=None, tmp=None, task_vars=None, persist_files=False,
                        delete_remote_tmp=None, wrap_async=False, ignore_unknown_opts=False):
        # The two questions ActionBase._execute_module asks before it decides to write a remote file.
        self.calls.append({
            'module': module_name,
            'early': self._is_pipelining_enabled('new', wrap_async),
            'pipelined': self._is_pipelining_enabled(self.style),
            'connection_option': self._connection.get_option('pipelining'),
        })
        return {'changed': True, 'ok': True}

    def run(self, tmp=None, task_vars=None):
        raise NotImplementedError


def make_action(become=None, pipelining=False, async_val=0, connection='local'):
    play_context = PlayContext()
    conn = connection_loader.get(connection, play_context, None)
    conn.set_options(direct={'pipelining': pipelining})
    if become is not None:
        plugin = become_loader.get(become)
        plugin.set_options(direct={'become_user': 'root'})
        conn.set_become_plugin(plugin)
    task = types.SimpleNamespace(async_val=async_val, check_mode=False, environment=[], action='x', args={})
    action = Recorder(task, conn, play_context, None, None, None)
    action.calls = []
    return action


@pytest.fixture
def keep_remote_files(monkeypatch):
    monkeypatch.setattr(C, 'DEFAULT_KEEP_REMOTE_FILES', True)


@pytest.mark.parametrize('become', [None, 'sudo'])
@pytest.mark.parametrize('pipelining', [False, True])
def test_key_args_always_pipeline(keep_remote_files, become, pipelining):
    action = make_action(become=become, pipelining=pipelining)
    # As configured, ActionBase would write the module (with its arguments) to a remote file.
    assert action._is_pipelining_enabled('new') is False
    result = kt.execute_module(action, 'lookerops.encryption.lk_cmk', {'key': KEY, 'path': '/k'}, {'inventory_hostname': 'n1'})
    assert result == {'changed': True, 'ok': True}
    assert action.calls == [{'module': 'lookerops.encryption.lk_cmk', 'early': True, 'pipelined': True, 'connection_option': True}]
    # Only for that one call: afterwards the action and the connection are as configured.
    assert '_is_pipelining_enabled' not in vars(action)
    assert action._connection.get_option('pipelining') is pipelining
    assert action._is_pipelining_enabled('new') is False


def test_without_key_bytes_the_configuration_decides(keep_remote_files):
    action = make_action(pipelining=False)
    kt.execute_module(action, 'lookerops.encryption.lk_node_env', {'mode': 'key_file', 'key': None}, {})
    assert action.calls[0]['pipelined'] is False and action.calls[0]['connection_option'] is False


@pytest.mark.parametrize('case, kwargs, words', [
    ('su', {'become': 'su'}, ['become method', 'su', 'sudo']),
    ('async', {'async_val': 60}, ['async']),
])
def test_refused_before_anything_is_sent(case, kwargs, words):
    action = make_action(**kwargs)
    result = kt.execute_module(action, 'lookerops.encryption.lk_node_env', {'mode': 'key_env', 'key': KEY}, {'inventory_hostname': 'n1'})
    assert result['failed'] is True and action.calls == [], case
    for word in words + ['n1', 'nothing was sent']:
        assert word in result['msg'], (word, result['msg'])
    assert KEY not in result['msg']


def test_connection_without_pipelining_is_refused():
    action = make_action()
    action._connection.has_pipelining = False
    result = kt.execute_module(action, 'lookerops.encryption.lk_cmk', {'key': KEY}, {})
    assert result['failed'] is True and action.calls == []
    assert 'connection plugin' in result['msg'] and 'local' in result['msg'] and 'ansible.builtin.ssh' in result['msg']


def test_ssh_tty_is_refused():
    # ansible-core 2.19+ ssh plugin: _is_tty_requested() when the ssh arguments ask for a terminal.
    conn = types.SimpleNamespace(has_pipelining=True, become=None, _is_tty_requested=lambda: True)
    assert 'RequestTTY' in kt.pipelining_blocker(conn, types.SimpleNamespace(async_val=0))


def test_a_module_that_cannot_pipeline_is_refused_at_the_decision(keep_remote_files):
    action = make_action()
    action.style = 'old'
    result = kt.execute_module(action, 'lookerops.encryption.lk_cmk', {'key': KEY}, {})
    assert result['failed'] is True and 'new-style' in result['msg'] and KEY not in result['msg']
    assert '_is_pipelining_enabled' not in vars(action)


@pytest.mark.parametrize('become, blocked', [(None, False), ('sudo', False), ('su', True)])
def test_pipelining_blocker(become, blocked):
    action = make_action(become=become)
    assert (kt.pipelining_blocker(action._connection, action._task) is not None) is blocked


def test_become_plugin_that_declares_no_pipelining():
    conn = types.SimpleNamespace(has_pipelining=True, become=types.SimpleNamespace(name='community.general.machinectl', pipelining=False))
    assert 'machinectl' in kt.pipelining_blocker(conn, types.SimpleNamespace(async_val=0))
