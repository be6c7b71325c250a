# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the progress lines while a long phase runs (plugins/plugin_utils/_job_wait.py and the action plugins of
lk_job_wait and lk_migrate_encryption that use it), one per branch. Controller side."""

from __future__ import annotations

import time

import pytest

from ansible.plugins.action import ActionBase

from ansible_collections.lookerops.encryption.plugins.action import lk_job_wait as job_wait_action
from ansible_collections.lookerops.encryption.plugins.action import lk_migrate_encryption as migrate_action
from ansible_collections.lookerops.encryption.plugins.plugin_utils import _job_wait as jw


class FakeTime:
    def __init__(self):
        self.now, self.sleeps = 1000.0, []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.mark.parametrize('timeout, elapsed, interval, expected', [
    (600, 0, 15, (600, 15.0)),        # a line is due before the end: wait one interval
    (600, 590.5, 15, (10, None)),     # less than an interval left: the last wait, rounded up
    (600, 0, 0, (600, None)),         # no lines: one wait
    ('600', '0', '15', (600, 15.0)),  # templated strings
    (10, 30, 15, (1, None)),          # past the timeout: the module answers at once with its own message
    (None, 0, 'x', (3600, None)),     # unusable values: the defaults
])
def test_next_wait(timeout, elapsed, interval, expected):
    assert jw.next_wait(timeout, elapsed, interval) == expected


def test_the_job_line_names_the_node_the_job_the_time_and_the_progress():
    progress = {'what': 'archiving', 'done_bytes': 1024 ** 3, 'total_bytes': 4 * 1024 ** 3, 'seconds': 10.0}
    assert (jw.job_wait_line('node2', 'home backup', 45.7, progress)
            == 'node2: home backup still running after 45 s (archiving: 1.0 GiB of 4.0 GiB (25 %), 102.4 MiB/s)')
    assert jw.job_wait_line('node2', None, 15, None) == 'node2: the job still running after 15 s'
    assert jw.job_wait_line('node2', 'Looker start', 0.54, None) == 'node2: Looker start still running after 0.5 s'


def test_the_live_window_line_says_the_seconds_left():
    line = jw.live_window_line('node1', 'migrate_encryption', 41.2)
    assert line.startswith("node1: migrate_encryption waits for Looker's live window after the stop: 42 s left")
    assert ': 0 s left' in jw.live_window_line('node1', 'rekey', -3)


@pytest.mark.parametrize('delay, interval, waits', [
    (0, 15, []),
    (-1, 15, []),
    (40, 15, [15.0, 15.0, 10.0]),
    (30, 15, [15.0, 15.0]),
    (10, 15, [10.0]),
    (40, 0, [40.0]),
])
def test_live_window_waits(delay, interval, waits):
    assert jw.live_window_waits(delay, interval) == waits


def test_the_live_window_is_waited_for_on_the_controller_with_a_line_each_interval():
    fake, lines = FakeTime(), []
    args, waited = jw.wait_for_live_window({'first_attempt_delay': '32.5', 'timeout': 3600, 'progress_interval': 15,
                                            'retries': 30}, 'node1', 'migrate_encryption', False, lines.append,
                                           fake.sleep, fake.clock)
    assert fake.sleeps == [15.0, 15.0, 2.5] and waited == 32.5
    assert [line.split(': ')[2].split(' s left')[0] for line in lines] == ['33', '18', '3']
    assert lines[0].endswith('(Looker refuses it while it counts a node stopped within the last minute as live)')
    # The module gets no delay left and the rest of its timeout; every other argument as it was.
    assert args == {'first_attempt_delay': 0, 'timeout': 3568, 'progress_interval': 15, 'retries': 30}


@pytest.mark.parametrize('args, check_mode', [
    ({'first_attempt_delay': 20}, True),   # check mode: the module only reports
    ({'first_attempt_delay': 0}, False),   # a resumed run: nothing to wait for
    ({}, False),
])
def test_nothing_is_waited_for(args, check_mode):
    fake, lines = FakeTime(), []
    out, waited = jw.wait_for_live_window(args, 'node1', 'rekey', check_mode, lines.append, fake.sleep, fake.clock)
    assert out == args and waited == 0.0 and fake.sleeps == [] and lines == []


def test_the_wait_never_outlasts_the_timeout():
    fake = FakeTime()
    args, waited = jw.wait_for_live_window({'first_attempt_delay': 90, 'timeout': 20, 'progress_interval': 0}, 'n', 'rekey',
                                           False, lambda line: None, fake.sleep, fake.clock)
    assert waited == 20 and args['timeout'] == 1


def test_the_controllers_wait_counts_in_the_result():
    assert (jw.add_controller_wait({'waited_seconds': 0.0, 'duration_seconds': 4.25, 'changed': True}, 30.5)
            == {'waited_seconds': 30.5, 'duration_seconds': 34.75, 'changed': True})
    failed = {'failed': True, 'msg': 'no key settings'}
    assert jw.add_controller_wait(dict(failed), 30.5) == failed
    assert jw.add_controller_wait({'waited_seconds': 1.0}, 0.0) == {'waited_seconds': 1.0}


class _Task:
    def __init__(self, args, check_mode=False):
        self.args, self.check_mode = args, check_mode


def _action(cls, monkeypatch, args, replies, check_mode=False):
    """The action plugin ``cls`` with its module calls answered by ``replies`` in turn (each call's arguments kept)."""
    action = cls.__new__(cls)
    action._task = _Task(args, check_mode)
    calls = []

    def execute_module(module_name=None, module_args=None, task_vars=None):
        calls.append((module_name, dict(module_args)))
        return dict(replies[len(calls) - 1])
    action._execute_module = execute_module
    monkeypatch.setattr(ActionBase, 'run', lambda self, tmp=None, task_vars=None: {})
    return action, calls


def test_the_job_wait_action_prints_a_line_per_slice_then_returns_the_jobs_result(monkeypatch):
    fake, lines = FakeTime(), []
    monkeypatch.setattr(job_wait_action.display, 'display', lines.append)
    progress = {'what': 'archiving', 'done_bytes': 512, 'total_bytes': 1024, 'seconds': 1.0}
    replies = [{'running': True, 'progress': progress, 'changed': False}, {'running': True, 'progress': None},
               {'changed': True, 'path': '/b/home.tar.gz', 'waited_seconds': 0.3}]

    def execute_module(module_name=None, module_args=None, task_vars=None):
        calls.append((module_name, dict(module_args)))
        fake.now += 15 if len(calls) < 3 else 0.3
        return dict(replies[len(calls) - 1])
    action, calls = _action(job_wait_action.ActionModule, monkeypatch,
                            {'results_file': '/r/j1', 'timeout': 100, 'progress_interval': 15, 'label': 'home backup'}, replies)
    action._execute_module = execute_module
    before = time.time()
    result = action.run(task_vars={'inventory_hostname': 'node2'}, clock=fake.clock)
    assert lines == ['node2: home backup still running after 15 s (archiving: 512 B of 1.0 KiB (50 %), 512 B/s)',
                     'node2: home backup still running after 30 s']
    assert [call[1].get('slice_seconds') for call in calls] == [15.0, 15.0, 15.0]
    assert [call[1]['timeout'] for call in calls] == [100, 85, 70]
    # When the job's result came back, on the controller's clock (the end of a stop launched with async).
    assert before <= result.pop('returned_at') <= time.time()
    assert result == {'changed': True, 'path': '/b/home.tar.gz', 'waited_seconds': 30.3}


def test_the_job_wait_action_passes_a_failure_on_at_once(monkeypatch):
    lines = []
    monkeypatch.setattr(job_wait_action.display, 'display', lines.append)
    action, calls = _action(job_wait_action.ActionModule, monkeypatch, {'results_file': '/r/j1', 'progress_interval': 0},
                            [{'failed': True, 'msg': 'the filesystem of /b filled up'}])
    result = action.run(task_vars={'inventory_hostname': 'node2'})
    assert result == {'failed': True, 'msg': 'the filesystem of /b filled up'} and lines == []
    assert 'slice_seconds' not in calls[0][1] and len(calls) == 1


def test_the_job_wait_action_refuses_a_slice_set_in_the_task(monkeypatch):
    action, calls = _action(job_wait_action.ActionModule, monkeypatch, {'results_file': '/r/j1', 'slice_seconds': 3}, [])
    result = action.run(task_vars={})
    assert result['failed'] and 'slice_seconds is set by the action plugin' in result['msg'] and calls == []


def test_the_migrate_action_waits_on_the_controller_then_runs_the_module_without_a_delay(monkeypatch):
    fake, lines = FakeTime(), []
    monkeypatch.setattr(migrate_action.display, 'display', lines.append)
    monkeypatch.setattr(migrate_action.time, 'sleep', fake.sleep)
    monkeypatch.setattr(migrate_action.time, 'monotonic', fake.clock)
    action, calls = _action(migrate_action.ActionModule, monkeypatch,
                            {'first_attempt_delay': 20, 'timeout': 3600, 'progress_interval': 15, 'looker_home': '/h'},
                            [{'changed': True, 'waited_seconds': 0.0, 'duration_seconds': 5.0}])
    result = action.run(task_vars={'inventory_hostname': 'node1'})
    assert calls == [('lookerops.encryption.lk_migrate_encryption',
                      {'first_attempt_delay': 0, 'timeout': 3580, 'progress_interval': 15, 'looker_home': '/h'})]
    assert len(lines) == 2 and lines[0].startswith("node1: migrate_encryption waits for Looker's live window")
    assert result == {'changed': True, 'waited_seconds': 20.0, 'duration_seconds': 25.0}
