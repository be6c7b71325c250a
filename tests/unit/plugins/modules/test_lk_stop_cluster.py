# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the lk_stop_cluster module (arguments, results, failures) against a fake Looker home."""

from __future__ import annotations

import json
import os

from ansible.module_utils import basic

from ansible_collections.lookerops.encryption.plugins.module_utils._looker.proc import pid_alive
from ansible_collections.lookerops.encryption.plugins.modules import lk_stop_cluster
from ansible_collections.lookerops.encryption.tests.unit.plugins.modules.utils import common, run_main


def test_stop_cluster(fake, monkeypatch):
    pid = fake.start_jvm()
    res = run_main(lk_stop_cluster, common(fake, run_id='r1'), monkeypatch, check_mode=True)
    assert res['changed'] and res['was_running'] and res['method'] == 'control' and res['evidence']['pid_alive']
    res = run_main(lk_stop_cluster, common(fake, run_id='r1', stop_timeout=30), monkeypatch)
    assert res['changed'] and res['fenced'] and res['evidence']['alive'] == 'refused' and not res['evidence']['pid_alive']
    assert res['evidence']['pid'] == pid and res['evidence']['backend_sessions'] is None
    res = run_main(lk_stop_cluster, common(fake, run_id='r1'), monkeypatch)
    assert res['changed'] is False and res['was_running'] is False


def test_stop_cluster_requires_run_id(fake, monkeypatch):
    res = run_main(lk_stop_cluster, common(fake), monkeypatch)
    assert res['failed'] and 'run_id' in res['msg']
    res = run_main(lk_stop_cluster, common(fake, fence=False), monkeypatch)
    assert res['changed'] is False and res['fenced'] is False


def test_stop_cluster_backend_sessions(fake, monkeypatch):
    calls = []
    fake.write_cfg()
    with open(os.path.join(fake.home, 'looker-db.yml'), 'w') as handle:
        handle.write('dialect: mysql\nhost: 127.0.0.1\nusername: looker\npassword: pw\ndatabase: looker\n')
    sessions = [[{'id': 5, 'user': 'looker', 'host': '198.51.100.11:4000', 'client': '198.51.100.11'}], []]

    class _Conn:
        pass

    class _Ctx:
        def __enter__(self):
            return _Conn()

        def __exit__(self, *exc):
            return False

    def fake_list(conn, user, client_host=None):
        calls.append((user, client_host))
        return sessions.pop(0) if sessions else []
    monkeypatch.setattr(lk_stop_cluster, 'connect', lambda cfg: _Ctx())
    monkeypatch.setattr(lk_stop_cluster, 'list_sessions', fake_list)
    res = run_main(lk_stop_cluster, common(fake, run_id='r1', backend={}, client_host='198.51.100.11', backend_timeout=10), monkeypatch)
    assert res['evidence']['backend_sessions'] == [] and calls == [('looker', '198.51.100.11')] * 2
    sessions[:] = [[{'id': 7, 'user': 'looker', 'host': '198.51.100.11:1', 'client': '198.51.100.11'}]] * 10
    res = run_main(lk_stop_cluster, common(fake, run_id='r1', backend={}, client_host='198.51.100.11', backend_timeout=0), monkeypatch)
    assert res['failed'] and 'still shows 1 session' in res['msg'] and res['evidence']['backend_sessions'][0]['id'] == 7
    assert 'pw' not in res['msg']


def test_stop_cluster_records_its_time_in_the_history(fake, monkeypatch):
    """The module appends the stop of a node that was running; a node already down, or check mode, adds nothing.
    stop_node is replaced by its results: no Looker process runs here."""
    was_running = {'value': True}

    def stop(node, check_mode, **kwargs):
        return {'changed': True, 'was_running': was_running['value'], 'stop_seconds': 7.25 if was_running['value'] else 0.0,
                'fenced': True, 'evidence': {'backend_sessions': None}}
    monkeypatch.setattr(lk_stop_cluster, 'stop_node', stop)
    path = os.path.join(fake.home, '.lookerops-restarts.json')
    res = run_main(lk_stop_cluster, common(fake, run_id='r1'), monkeypatch, check_mode=True)
    assert res['restart_recorded'] is False and not os.path.exists(path)
    res = run_main(lk_stop_cluster, common(fake, run_id='r1'), monkeypatch)
    assert res['restart_recorded'] is True
    was_running['value'] = False
    res = run_main(lk_stop_cluster, common(fake, run_id='r1'), monkeypatch)
    assert res['restart_recorded'] is False
    with open(path, encoding='utf-8') as handle:
        assert [e['seconds'] for e in json.load(handle)['stops']] == [7.25]
    warned = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, msg: warned.append(msg))
    os.unlink(path)
    os.mkdir(path)  # a history that cannot be written: the stop still succeeds, with a warning
    was_running['value'] = True
    res = run_main(lk_stop_cluster, common(fake, run_id='r1'), monkeypatch)
    assert 'failed' not in res and res['restart_recorded'] is False and 'Could not record this stop' in warned[0]


def test_stop_cluster_waits_for_the_gate_before_anything(fake, monkeypatch):
    pid = fake.start_jvm()
    waited = []

    def fake_sleep(seconds):
        # At the gate nothing was done yet: no fence, Looker still running.
        waited.append((seconds, os.path.exists(os.path.join(fake.home, '.deploying')), pid_alive(pid)))
    monkeypatch.setattr(lk_stop_cluster, 'wait_for_gate', fake_sleep)
    res = run_main(lk_stop_cluster, common(fake, run_id='r1', delay=2.5), monkeypatch, check_mode=True)
    assert waited == [] and res['was_running']
    res = run_main(lk_stop_cluster, common(fake, run_id='r1', delay=2.5, stop_timeout=30), monkeypatch)
    assert waited == [(2.5, False, True)] and res['fenced'] and not res['evidence']['pid_alive']


def test_stop_cluster_refuses_a_delay_out_of_range(fake, monkeypatch):
    pid = fake.start_jvm()
    for delay in (-1, 121):
        res = run_main(lk_stop_cluster, common(fake, run_id='r1', delay=delay), monkeypatch)
        assert res['failed'] and 'delay must be between 0 and 120 seconds' in res['msg'] and 'Nothing was done' in res['msg']
    assert pid_alive(pid) and not os.path.exists(os.path.join(fake.home, '.deploying'))
