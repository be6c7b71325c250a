# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the lk_start module (arguments, results, failures) against a fake Looker home."""

from __future__ import annotations

import json
import os

from ansible.module_utils import basic

from ansible_collections.lookerops.encryption.plugins.modules import lk_start
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
