# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the lk_start module (arguments, results, failures) against a fake Looker home."""

from __future__ import annotations

import http.server
import json
import os
import threading
import time

import pytest
from ansible.module_utils import basic

from ansible_collections.lookerops.encryption.plugins.modules import lk_start
from ansible_collections.lookerops.encryption.tests.unit.plugins.module_utils.test_looker_node import free_port
from ansible_collections.lookerops.encryption.tests.unit.plugins.modules.utils import common, run_main


def test_start(fake, monkeypatch):
    res = run_main(lk_start, common(fake, timeout=30), monkeypatch, check_mode=True)
    assert res['changed'] and fake.pid() is None
    res = run_main(lk_start, common(fake, timeout=30), monkeypatch)
    assert res['changed'] and res['pid'] == fake.pid() and res['alive_after_seconds'] >= 0
    assert run_main(lk_start, common(fake), monkeypatch)['changed'] is False


def test_start_fenced(fake, monkeypatch):
    fake.node().fence.create('r1')
    res = run_main(lk_start, common(fake, run_id='r1'), monkeypatch)
    assert res['failed'] and 'unfence=true' in res['msg']
    res = run_main(lk_start, common(fake, run_id='r2', unfence=True), monkeypatch)
    assert res['failed'] and 'not this run' in res['msg']
    res = run_main(lk_start, common(fake, run_id='r1', unfence=True, timeout=30), monkeypatch)
    assert res['changed'] and res['unfenced'] and not os.path.exists(os.path.join(fake.home, '.deploying'))


def test_start_cannot_start(fake, monkeypatch):
    fake.configure(start='cannot', message='Size of the Master Key is invalid it must be 32 bytes however is 12')
    res = run_main(lk_start, common(fake, timeout=60), monkeypatch)
    assert res['failed'] and 'Size of the Master Key is invalid' in res['msg'] and '32 random bytes' in res['msg']
    assert res['evidence']['pid_alive'] is False and res['evidence']['log_lines']


def test_start_records_its_time_in_the_history(fake, monkeypatch):
    """The module appends a start that ran the script and saw /alive; a node already up, or check mode, adds nothing.
    start_node is replaced by its results: no Looker process runs here."""
    results = {False: {'changed': True, 'started': True, 'alive_after_seconds': 42.5, 'pid': 1, 'unfenced': False},
               True: {'changed': True, 'started': True, 'alive_after_seconds': None, 'pid': None, 'unfenced': False}}
    monkeypatch.setattr(lk_start, 'start_node', lambda node, check_mode, **kwargs: dict(results[check_mode]))
    path = os.path.join(fake.home, '.lookerops-restarts.json')
    res = run_main(lk_start, common(fake), monkeypatch, check_mode=True)
    assert res['restart_recorded'] is False and not os.path.exists(path)
    res = run_main(lk_start, common(fake), monkeypatch)
    assert res['restart_recorded'] is True and res['alive_after_seconds'] == 42.5
    with open(path, encoding='utf-8') as handle:
        assert [e['seconds'] for e in json.load(handle)['starts']] == [42.5]
    results[False] = {'changed': False, 'started': False, 'alive_after_seconds': 0.0, 'pid': 1, 'unfenced': False}
    res = run_main(lk_start, common(fake), monkeypatch)
    assert res['restart_recorded'] is False
    with open(path, encoding='utf-8') as handle:
        assert len(json.load(handle)['starts']) == 1


def test_start_with_an_unwritable_history_succeeds_with_a_warning(fake, monkeypatch):
    monkeypatch.setattr(lk_start, 'start_node', lambda node, check_mode, **kwargs: {
        'changed': True, 'started': True, 'alive_after_seconds': 3.0, 'pid': 1, 'unfenced': False})
    warned = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, msg: warned.append(msg))
    os.mkdir(os.path.join(fake.home, '.lookerops-restarts.json'))
    res = run_main(lk_start, common(fake), monkeypatch)
    assert 'failed' not in res and res['changed'] and res['restart_recorded'] is False
    assert len(warned) == 1 and 'Could not record this start' in warned[0]


class _FirstNode(http.server.BaseHTTPRequestHandler):
    """The first node's /alive, as another node reaches it."""

    def do_GET(self):  # pylint: disable=invalid-name
        self.send_response(200 if self.path == '/alive' else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(name='first_node')
def first_node_fixture():
    server = http.server.HTTPServer(('127.0.0.1', 0), _FirstNode)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield 'http://127.0.0.1:%d/alive' % server.server_address[1]
    server.shutdown()
    server.server_close()


def test_start_at_the_gate_once_the_first_node_answers(fake, monkeypatch, first_node):
    fake.node().fence.create('r1')
    res = run_main(lk_start, common(fake, run_id='r1', unfence=True, timeout=30, after_url=first_node), monkeypatch, check_mode=True)
    assert res['changed'] and 'gate_waited_seconds' not in res and fake.pid() is None
    res = run_main(lk_start, common(fake, run_id='r1', unfence=True, timeout=30, after_url=first_node), monkeypatch)
    assert res['changed'] and res['unfenced'] and res['pid'] == fake.pid() and res['gate_waited_seconds'] >= 0
    assert res['cancelled'] is None and not os.path.exists(os.path.join(fake.home, '.deploying'))
    assert not os.path.exists(os.path.join(fake.home, '.lookerops-start-gate-r1')), 'the gate file is gone once it opened'


def test_a_cancelled_start_at_the_gate_starts_nothing_and_keeps_the_fence(fake, monkeypatch):
    fake.node().fence.create('r1')
    gate = os.path.join(fake.home, '.lookerops-start-gate-r1')
    closed = 'http://127.0.0.1:%d/alive' % free_port()

    def remove_gate_once_held():
        # The run cancels (lk_job_wait with remove_to_cancel) while the start waits for a first node still down.
        while not os.path.exists(gate):
            time.sleep(0.01)
        os.unlink(gate)
    thread = threading.Thread(target=remove_gate_once_held, daemon=True)
    thread.start()
    res = run_main(lk_start, common(fake, run_id='r1', unfence=True, timeout=30, after_url=closed, after_timeout=60), monkeypatch)
    thread.join(5)
    assert res['changed'] is False and res['started'] is False and 'cancelled this start' in res['cancelled'], res
    assert fake.pid() is None and os.path.exists(os.path.join(fake.home, '.deploying')) and 'failed' not in res


def test_start_at_the_gate_needs_this_runs_fence(fake, monkeypatch, first_node):
    res = run_main(lk_start, common(fake, run_id='r1', unfence=True, timeout=30, after_url=first_node), monkeypatch)
    assert res['changed'] is False and 'fence of this run is gone' in res['cancelled'] and fake.pid() is None
    assert not os.path.exists(os.path.join(fake.home, '.lookerops-start-gate-r1'))


def test_start_at_the_gate_needs_a_run_id(fake, monkeypatch, first_node):
    res = run_main(lk_start, common(fake, after_url=first_node), monkeypatch)
    assert res['failed'] and 'run_id' in res['msg']
