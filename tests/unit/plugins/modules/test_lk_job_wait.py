# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the lk_job_wait module: the job's result passed on, its failure failing the task."""

from __future__ import annotations

import json
import os
import threading
import time

from ansible_collections.lookerops.encryption.plugins.modules import lk_job_wait
from ansible_collections.lookerops.encryption.tests.unit.plugins.modules.utils import run_main


def _job(tmp_path, data):
    path = str(tmp_path / 'j9.1')
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump(data, handle)
    return path


def test_the_jobs_result_is_returned(tmp_path, monkeypatch):
    path = _job(tmp_path, {'changed': True, 'alive': {'status': 200}, 'ansible_job_id': 'j9.1', 'warnings': ['slow start']})
    warned = []
    monkeypatch.setattr(lk_job_wait.AnsibleModule, 'warn', lambda self, text: warned.append(text))
    res = run_main(lk_job_wait, {'results_file': path}, monkeypatch)
    assert res['changed'] is True and res['alive'] == {'status': 200} and res['ansible_job_id'] == 'j9.1'
    assert 'failed' not in res and warned == ['slow start'] and not os.path.exists(path)


def test_a_failed_job_fails_the_task_with_its_message(tmp_path, monkeypatch):
    path = _job(tmp_path, {'failed': True, 'changed': False, 'msg': 'Looker can not start because: no key', 'log_lines': ['x']})
    res = run_main(lk_job_wait, {'results_file': path, 'cleanup': False}, monkeypatch)
    assert res['failed'] and res['msg'] == 'Looker can not start because: no key' and res['log_lines'] == ['x']
    assert os.path.exists(path)


def test_no_such_job_fails_with_the_reason(tmp_path, monkeypatch):
    res = run_main(lk_job_wait, {'results_file': str(tmp_path / 'gone')}, monkeypatch)
    assert res['failed'] and 'does not exist' in res['msg'] and res['results_file'] == str(tmp_path / 'gone')


def test_check_mode_keeps_the_results_file(tmp_path, monkeypatch):
    path = _job(tmp_path, {'changed': True})
    res = run_main(lk_job_wait, {'results_file': path}, monkeypatch, check_mode=True)
    assert res['changed'] is True and os.path.exists(path)


def test_a_slice_that_ends_first_returns_running_with_the_jobs_progress(tmp_path, monkeypatch):
    path = _job(tmp_path, {'started': 1, 'finished': 0, 'ansible_job_id': 'j9.1'})
    progress = tmp_path / 'progress.json'
    progress.write_text(json.dumps({'what': 'archiving', 'done_bytes': 10, 'total_bytes': 40, 'seconds': 2.0}))
    res = run_main(lk_job_wait, {'results_file': path, 'slice_seconds': 0.05, 'poll_interval': 0.01,
                                 'progress_file': str(progress)}, monkeypatch)
    assert res['running'] is True and res['changed'] is False and 'failed' not in res
    assert res['progress'] == {'what': 'archiving', 'done_bytes': 10, 'total_bytes': 40, 'seconds': 2.0}
    assert os.path.exists(path)  # the job's results stay for the next wait


def test_a_slice_without_a_progress_file_returns_no_progress(tmp_path, monkeypatch):
    path = _job(tmp_path, {'started': 1, 'finished': 0, 'ansible_job_id': 'j9.1'})
    res = run_main(lk_job_wait, {'results_file': path, 'slice_seconds': 0.05, 'poll_interval': 0.01}, monkeypatch)
    assert res['running'] is True and res['progress'] is None


def test_remove_to_cancel_removes_the_gate_file_until_the_job_ended(tmp_path, monkeypatch):
    path = _job(tmp_path, {'started': 1, 'finished': 0, 'ansible_job_id': 'j9.1'})
    gate = str(tmp_path / '.lookerops-start-gate-r1')

    def job():
        # The job (a start waiting at the gate) takes its gate file a moment after the wait began, sees it removed, and
        # ends without starting.
        with open(gate, 'w', encoding='utf-8') as handle:
            handle.write('{}')
        while os.path.exists(gate):
            time.sleep(0.01)
        with open(path + '.tmp', 'w', encoding='utf-8') as handle:
            json.dump({'changed': False, 'started': False, 'cancelled': 'the run cancelled this start', 'finished': 1}, handle)
        os.replace(path + '.tmp', path)
    monkeypatch.setattr(lk_job_wait.time, 'sleep', _after_first_sleep(job))
    res = run_main(lk_job_wait, {'results_file': path, 'remove_to_cancel': gate, 'timeout': 30}, monkeypatch)
    assert res['cancelled'] == 'the run cancelled this start' and res['started'] is False and 'failed' not in res
    assert not os.path.exists(gate) and not os.path.exists(path)


def _after_first_sleep(job):
    """time.sleep that starts ``job`` in a thread at its first call: the job's gate file appears only once the wait runs."""
    real_sleep, started = time.sleep, []

    def sleep(seconds):
        if not started:
            started.append(threading.Thread(target=job, daemon=True))
            started[0].start()
        real_sleep(seconds)
    return sleep


def test_remove_to_cancel_when_the_job_already_ended(tmp_path, monkeypatch):
    path = _job(tmp_path, {'changed': True, 'alive_after_seconds': 5.0, 'finished': 1})
    res = run_main(lk_job_wait, {'results_file': path, 'remove_to_cancel': str(tmp_path / 'gone')}, monkeypatch)
    assert res['changed'] is True and res['alive_after_seconds'] == 5.0


def test_remove_to_cancel_that_cannot_remove(tmp_path, monkeypatch):
    path = _job(tmp_path, {'started': 1, 'finished': 0})
    gate = tmp_path / 'gate-dir'
    gate.mkdir()
    (gate / 'x').write_text('')  # a non-empty directory: unlink fails
    res = run_main(lk_job_wait, {'results_file': path, 'remove_to_cancel': str(gate)}, monkeypatch)
    assert res['failed'] and 'could not remove' in res['msg'] and 'not cancelled' in res['msg']
