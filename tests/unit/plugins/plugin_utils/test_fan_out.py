# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of _fan_out: when a node task runs on every node at once, and which result is each node's."""

from __future__ import annotations

import pytest

from ansible_collections.lookerops.encryption.plugins.filter import fan_out as fan_out_filter
from ansible_collections.lookerops.encryption.plugins.plugin_utils import _fan_out as fo

LAUNCHED = {'ansible_job_id': 'j1', 'results_file': '/root/.ansible_async/j1', 'started': 1, 'finished': 0, 'changed': True}
SKIPPED = {'changed': False, 'skipped': True, 'skip_reason': 'Conditional result was False'}


@pytest.mark.parametrize('case, args, expected', [
    ('more nodes than forks', (300, 100, 50), 420),
    ('forks given as a string (ansible_forks)', (300, 100, '50'), 420),
    ('timeout given as a string', ('60', 3, 2), 180),
    ('as many nodes as forks: a plain task', (300, 50, 50), 0),
    ('fewer nodes than forks: a plain task', (300, 3, 5), 0),
    ('check mode: a plain task', (300, 100, 50, True), 0),
    ('turned off (start one node after the other)', (300, 100, 50, False, False), 0),
])
def test_fan_out_async(case, args, expected):
    assert fo.fan_out_async(*args) == expected, case


@pytest.mark.parametrize('case, launch, waited, expected', [
    ('fanned out: the wait has the result', LAUNCHED, {'was_running': True}, {'was_running': True}),
    ('a plain task: the wait was skipped', {'was_running': False}, SKIPPED, {'was_running': False}),
    ('a plain task: no wait recorded', {'was_running': True}, {}, {'was_running': True}),
    ('a plain task: wait undefined', {'was_running': True}, None, {'was_running': True}),
    ('nothing at all', None, None, {}),
])
def test_fan_out_result(case, launch, waited, expected):
    assert fo.fan_out_result(launch, waited) == expected, case


FIRST = {'alive_after_seconds': 41.5, 'changed': True}


@pytest.mark.parametrize('case, args, expected', [
    ('the first node: its own start', (FIRST, SKIPPED, SKIPPED, True), FIRST),
    ('the first node, its start skipped (check mode)', (SKIPPED, SKIPPED, SKIPPED, True), {}),
    ('the first node, nothing registered', (None, None, None, True), {}),
    ('another node, started plainly', (SKIPPED, {'alive_after_seconds': 3.0}, SKIPPED, False), {'alive_after_seconds': 3.0}),
    ('another node, fanned out: the wait has the result', (SKIPPED, LAUNCHED, {'alive_after_seconds': 4.0}, False),
     {'alive_after_seconds': 4.0}),
    ('another node: is_first left out', (FIRST, {'alive_after_seconds': 2.0}), {'alive_after_seconds': 2.0}),
    ('another node, started at the gate: the gate wait has the result',
     (SKIPPED, SKIPPED, SKIPPED, False, {'alive_after_seconds': 5.1, 'gate_waited_seconds': 30.0}),
     {'alive_after_seconds': 5.1, 'gate_waited_seconds': 30.0}),
    ('another node, its gate failed: started from the controller',
     (SKIPPED, {'alive_after_seconds': 5.3}, SKIPPED, False, {'failed': True, 'msg': 'unreached'}), {'alive_after_seconds': 5.3}),
    ('another node, no gate (skipped)', (SKIPPED, {'alive_after_seconds': 5.2}, SKIPPED, False, SKIPPED), {'alive_after_seconds': 5.2}),
    ('the first node ignores any gate result', (FIRST, SKIPPED, SKIPPED, True, {'alive_after_seconds': 1.0}), FIRST),
])
def test_node_start_result(case, args, expected):
    assert fo.node_start_result(*args) == expected, case


@pytest.mark.parametrize('case, waited, expected', [
    ('the gate started the node', {'changed': True, 'alive_after_seconds': 5.0, 'gate_waited_seconds': 41.0}, True),
    ('already up when the gate opened (started by hand)', {'changed': False, 'alive_after_seconds': 0.0}, True),
    ('cancelled', {'changed': False, 'started': False, 'cancelled': 'the run cancelled this start'}, False),
    ('the wait failed (the first node stopped answering from here)', {'failed': True, 'msg': 'has not reached'}, False),
    ('the node was unreachable', {'unreachable': True, 'msg': 'ssh'}, False),
    ('not launched (skipped)', SKIPPED, False),
    ('nothing registered', {}, False),
    ('None', None, False),
    ('a result without the start time', {'changed': True}, False),
])
def test_start_gate_started(case, waited, expected):
    assert fo.start_gate_started(waited) is expected, case


@pytest.mark.parametrize('case, launches, waits, expected', [
    ('a plain stop found one running', [{'was_running': False}, {'was_running': True}], [SKIPPED, SKIPPED], True),
    ('a plain stop found none running (a resume)', [{'was_running': False}, {'was_running': False}], [SKIPPED, SKIPPED], False),
    ('fanned out, one was running', [LAUNCHED, LAUNCHED], [{'was_running': False}, {'was_running': True}], True),
    ('fanned out, none running', [LAUNCHED, LAUNCHED], [{'was_running': False}, {'was_running': False}], False),
    ('a launch record alone says nothing', [LAUNCHED], [{}], False),
    ('fewer waits than nodes', [{'was_running': True}], [], True),
    ('no node', [], [], False),
])
def test_any_was_running(case, launches, waits, expected):
    assert fo.any_was_running(launches, waits) is expected, case


def test_filters():
    filters = fan_out_filter.FilterModule().filters()
    assert filters['fan_out_async'](10, 3, 2) == 130
    assert filters['fan_out_result'](LAUNCHED, {'was_running': True}) == {'was_running': True}
    assert filters['any_was_running']([LAUNCHED], [{'was_running': True}]) is True
    assert filters['node_start_result'](FIRST, SKIPPED, SKIPPED, True) == FIRST
    assert filters['start_gate_started']({'alive_after_seconds': 1.0}) is True


@pytest.mark.parametrize('hosts, forks, check_mode, interval, expected', [
    (3, 50, False, 15, 420),     # a long job with progress lines: async whatever the forks
    (3, 50, False, '15', 420),   # templated
    (3, 50, False, 0, 0),        # no lines: a plain task within the forks
    (3, 50, False, 'off', 0),
    (3, 50, True, 15, 0),        # never in check mode
    (100, 50, False, 0, 420),    # beyond the forks: async as before
])
def test_a_long_job_with_progress_lines_runs_async(hosts, forks, check_mode, interval, expected):
    assert fo.fan_out_async(300, hosts, forks, check_mode, progress_interval=interval) == expected


FORECAST = {'backup_nodes': {'n1': 40.0, 'n2': 2.0, 'n3': None}, 'backend_seconds': 120.0}


@pytest.mark.parametrize('forecast, node, interval, check_mode, expected', [
    (FORECAST, 'n1', 15, False, 86520),   # expected to outlast a line: async, so lk_job_wait shows its progress
    (FORECAST, 'n2', 15, False, 0),       # over before the first line: a plain task
    (FORECAST, 'n3', 15, False, 86520),   # not measured: it may be long
    (FORECAST, 'n9', 15, False, 86520),   # not in the forecast
    (None, 'n2', 15, False, 86520),       # no forecast at all
    (FORECAST, None, 15, False, 86520),   # the backend dump, 120 s expected
    ({'backend_seconds': 0.0}, None, 15, False, 0),
    (FORECAST, 'n1', 0, False, 0),        # no progress lines: a plain task within the forks
    (FORECAST, 'n1', '15', True, 0),      # never in check mode
])
def test_a_backup_runs_async_only_when_a_progress_line_is_expected(forecast, node, interval, check_mode, expected):
    assert fo.backup_async(86400, forecast, node, 3, 50, check_mode, progress_interval=interval) == expected


def test_a_short_backup_still_fans_out_beyond_the_forks():
    assert fo.backup_async(86400, FORECAST, 'n2', 100, 50, False, progress_interval=15) == 86520


@pytest.mark.parametrize('launch, waited, expected', [
    ({'skipped': True}, {'skipped': True}, {}),                        # a dump this run does not take
    ({'changed': True, 'path': '/b/d.gz'}, {'skipped': True}, {'changed': True, 'path': '/b/d.gz'}),  # a plain task
    ({'results_file': '/r/j1'}, {'changed': True, 'path': '/b/d.gz'}, {'changed': True, 'path': '/b/d.gz'}),  # async
    (None, None, {}),
])
def test_a_skipped_task_gives_an_empty_result_when_asked(launch, waited, expected):
    assert fo.fan_out_result(launch, waited, empty_when_skipped=True) == expected


def test_a_skipped_task_is_returned_as_it_is_by_default():
    assert fo.fan_out_result({'skipped': True}, {'skipped': True}) == {'skipped': True}


@pytest.mark.parametrize('case, launches, waits, expected', [
    ('the latest of the running nodes', [{'was_running': True, 'returned_at': 10.5}, {'was_running': True, 'returned_at': 12.25}],
     [SKIPPED, SKIPPED], 12.25),
    ('a node that was not running does not count',
     [{'was_running': True, 'returned_at': 10.5}, {'was_running': False, 'returned_at': 99.0}], [SKIPPED, SKIPPED], 10.5),
    ('a running node without the time (launched async): unknown',
     [LAUNCHED, {'was_running': True, 'returned_at': 1.0}], [{'was_running': True}, SKIPPED], None),
    ('a time that is not a number: unknown', [{'was_running': True, 'returned_at': 'x'}], [SKIPPED], None),
    ('no node running: unknown', [{'was_running': False}], [SKIPPED], None),
    ('fewer waits than nodes', [{'was_running': True, 'returned_at': 3.0}], [], 3.0),
    ('no node', [], [], None),
])
def test_last_down_by(case, launches, waits, expected):
    assert fo.last_down_by(launches, waits) == expected, case
