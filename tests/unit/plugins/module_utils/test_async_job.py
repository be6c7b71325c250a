# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of waiting for an async job's results file (plugins/module_utils/_async_job.py), one per branch."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils import _async_job as aj

STARTED = {'started': True, 'finished': False, 'ansible_job_id': 'j1.2', 'results_file': 'x'}
STARTED_OLD_CORE = {'started': 1, 'finished': 0, 'ansible_job_id': 'j1.2'}  # ansible-core before 2.19 writes 1 and 0


def _write(path, data):
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(data if isinstance(data, str) else json.dumps(data))


class FakeTime:
    """A clock that moves only when the code sleeps; each sleep may run an action (the job ending meanwhile)."""

    def __init__(self, on_sleep=None):
        self.now, self.sleeps, self.on_sleep = 100.0, [], on_sleep or (lambda n: None)

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
        self.on_sleep(len(self.sleeps))


def test_a_finished_job_returns_its_result_and_the_file_is_removed(tmp_path):
    path = str(tmp_path / 'j1.2')
    _write(path, {'changed': True, 'was_running': True, 'ansible_job_id': 'j1.2', 'invocation': {'module_args': {}}})
    fake = FakeTime()
    result = aj.wait_for_job(path, 60, clock=fake.clock, sleep=fake.sleep)
    assert result == {'changed': True, 'was_running': True, 'ansible_job_id': 'j1.2', 'waited_seconds': 0.0}
    assert not os.path.exists(path) and fake.sleeps == []


def test_a_running_job_is_waited_for_at_the_poll_interval(tmp_path):
    path = str(tmp_path / 'j1.2')
    _write(path, STARTED)
    fake = FakeTime(lambda n: n == 3 and _write(path, {'changed': False, 'failed': True, 'msg': 'Looker can not start'}))
    result = aj.wait_for_job(path, 60, poll_interval=0.2, cleanup=False, clock=fake.clock, sleep=fake.sleep)
    assert fake.sleeps == [0.2, 0.2, 0.2]
    assert result['failed'] and result['msg'] == 'Looker can not start' and result['waited_seconds'] == pytest.approx(0.6)
    assert os.path.exists(path)  # cleanup=False keeps it


def test_a_result_with_a_started_of_its_own_is_finished(tmp_path):
    """lk_start returns started (whether it started Looker): only the wrapper's first record has a false finished."""
    path = str(tmp_path / 'j1.2')
    _write(path, {'changed': True, 'started': True, 'pid': 42, 'ansible_job_id': 'j1.2'})
    assert aj.read_job(path) == (True, {'changed': True, 'started': True, 'pid': 42, 'ansible_job_id': 'j1.2'})
    assert aj.wait_for_job(path, 5)['started'] is True


@pytest.mark.parametrize('record', [STARTED, STARTED_OLD_CORE])
def test_the_wrappers_first_record_is_running(tmp_path, record):
    path = str(tmp_path / 'j1.2')
    _write(path, record)
    assert aj.read_job(path) == (False, record)


@pytest.mark.parametrize('text', ['', '{"changed": tr', '[1, 2]'])
def test_a_file_not_yet_or_half_written_counts_as_running(tmp_path, text):
    path = str(tmp_path / 'j1.2')
    _write(path, text)
    assert aj.read_job(path) == (False, {})


def test_a_job_that_does_not_end_in_time_is_left_running(tmp_path):
    path = str(tmp_path / 'j1.2')
    _write(path, STARTED)
    fake = FakeTime()
    with pytest.raises(aj.JobWaitError, match=r'did not finish within 1s; it was not stopped and still runs on the node'):
        aj.wait_for_job(path, 1, poll_interval=0.4, clock=fake.clock, sleep=fake.sleep)
    assert fake.sleeps == [0.4, 0.4, pytest.approx(0.2)] and os.path.exists(path)


def test_a_missing_results_file_is_explained(tmp_path):
    with pytest.raises(aj.JobWaitError, match='does not exist: no job with these results was launched on this node'):
        aj.wait_for_job(str(tmp_path / 'nope'), 5)


def test_an_unreadable_results_file_is_explained(tmp_path):
    path = tmp_path / 'dir'
    path.mkdir()  # reading a directory fails like a refused read
    with pytest.raises(aj.JobWaitError, match=r'cannot be read \(.*\): wait as the user the job ran as'):
        aj.read_job(str(path))


def test_a_slice_returns_none_while_the_job_still_runs_and_keeps_the_file(tmp_path):
    """With slice_seconds the wait returns after that long (the controller prints a progress line), before the timeout."""
    path = str(tmp_path / 'j1.2')
    _write(path, STARTED)
    fake = FakeTime()
    assert aj.wait_for_job(path, 60, poll_interval=0.4, clock=fake.clock, sleep=fake.sleep, slice_seconds=1.0) is None
    assert sum(fake.sleeps) == pytest.approx(1.0) and max(fake.sleeps) <= 0.4 and os.path.exists(path)


def test_a_job_that_ends_within_the_slice_returns_its_result(tmp_path):
    path = str(tmp_path / 'j1.2')
    _write(path, STARTED)
    fake = FakeTime(lambda n: n == 2 and _write(path, {'changed': True}))
    result = aj.wait_for_job(path, 60, poll_interval=0.2, clock=fake.clock, sleep=fake.sleep, slice_seconds=5.0)
    assert result['changed'] is True and not os.path.exists(path)


def test_the_timeout_wins_over_a_longer_slice(tmp_path):
    path = str(tmp_path / 'j1.2')
    _write(path, STARTED)
    fake = FakeTime()
    with pytest.raises(aj.JobWaitError, match='did not finish within 1s'):
        aj.wait_for_job(path, 1, poll_interval=0.2, clock=fake.clock, sleep=fake.sleep, slice_seconds=30.0)
