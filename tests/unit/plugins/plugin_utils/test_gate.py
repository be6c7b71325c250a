# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of _gate (the stop gate, one instant at which every node stops, set from preflight's measured round) and
of lk_stop_cluster's action plugin (when each node's stop came back, for Looker's live window)."""

from __future__ import annotations

import time

import pytest

from ansible.plugins.action import ActionBase

from ansible_collections.lookerops.encryption.plugins.action import lk_stop_cluster as stop_action
from ansible_collections.lookerops.encryption.plugins.filter import fan_out as fan_out_filter
from ansible_collections.lookerops.encryption.plugins.plugin_utils import _gate as gate

NOW = 1_800_000_000.0


def probe(at):
    return {'changed': False, 'pipelined': True, 'euid': 0, 'dispatched_at': at}


@pytest.mark.parametrize('case, results, expected', [
    ('three nodes reached over 0.6 s', [probe(NOW), probe(NOW + 0.2), probe(NOW + 0.6)], 0.6),
    ('order does not matter', [probe(NOW + 4.0), probe(NOW), probe(NOW + 1.0)], 4.0),
    ('a failed or skipped node is no measurement',
     [probe(NOW), dict(probe(NOW + 50), failed=True), {'skipped': True, 'dispatched_at': NOW + 60}, probe(NOW + 1)], 1.0),
    ('times given as strings (a result read back)', [probe(str(NOW)), probe(str(NOW + 2))], 2.0),
    ('one node: no round to measure', [probe(NOW)], None),
    ('no results (the stop role on its own)', [], None),
    ('None', None, None),
    ('results without the time (an older probe)', [{'pipelined': True}, {'pipelined': True}], None),
    ('a value that is not a number', [probe('soon'), probe(NOW)], None),
    ('NaN is no measurement', [probe(float('nan')), probe(NOW)], None),
    ('not a dict', ['x', probe(NOW), probe(NOW + 1)], 1.0),
])
def test_probe_spread(case, results, expected):
    spread = gate.probe_spread(results)
    assert (spread if spread is None else round(spread, 3)) == expected, case


@pytest.mark.parametrize('case, spread, check_mode, ahead, recorded', [
    ('measured: twice the spread plus a second ahead', 4.5, False, 10.0, 4.5),
    ('a long round is capped at 120 s', 100.0, False, 120.0, 100.0),
    ('check mode: no gate', 4.5, True, 0.0, 4.5),
    ('nothing measured (the stop role on its own): no gate, each node stops when reached', None, False, 0.0, None),
    ('a round that took no time: no gate', 0.0, False, 0.0, 0.0),
    ('a spread given as a string (the run record)', '2.0', False, 5.0, 2.0),
    ('a spread that is not a number: no gate', 'x', False, 0.0, None),
])
def test_stop_gate(case, spread, check_mode, ahead, recorded):
    result = gate.stop_gate(NOW, spread, check_mode)
    assert result == {'at': NOW + ahead, 'ahead': ahead, 'spread': recorded}, case


def test_stop_gate_from_the_measured_round():
    spread = gate.probe_spread([probe(NOW), probe(NOW + 1)])
    assert gate.stop_gate(str(NOW), spread)['at'] == NOW + 3.0


@pytest.mark.parametrize('case, gate_at, now, expected', [
    ('reached before the gate: waits the rest', NOW + 10, NOW + 2.5, 7.5),
    ('reached at the gate', NOW + 10, NOW + 10, 0.0),
    ('reached after the gate: stops at once', NOW + 10, NOW + 12, 0.0),
    ('no gate', None, NOW, 0.0),
    ('a gate that is not a number', 'x', NOW, 0.0),
    ('never more than the longest gate (a controller clock that jumped back)', NOW + 1000, NOW, 120.0),
    ('given as a string (a templated record)', str(NOW + 3), NOW, 3.0),
])
def test_gate_delay(case, gate_at, now, expected):
    assert gate.gate_delay(gate_at, now) == expected, case


def test_filters_are_registered():
    filters = fan_out_filter.FilterModule().filters()
    assert filters['stop_gate'] is gate.stop_gate and filters['gate_delay'] is gate.gate_delay
    assert filters['round_spread'] is gate.probe_spread


class _Task:
    def __init__(self, async_val):
        self.args, self.async_val, self.check_mode = {'run_id': 'r1'}, async_val, False


class _Shell:
    tmpdir = None


class _Connection:
    _shell = _Shell()


def _stop_action(monkeypatch, async_val, reply):
    action = stop_action.ActionModule.__new__(stop_action.ActionModule)
    action._task, action._connection = _Task(async_val), _Connection()
    calls = []

    def execute_module(module_name=None, module_args=None, task_vars=None, wrap_async=False):
        calls.append((module_name, dict(module_args), wrap_async))
        return dict(reply)
    action._execute_module = execute_module
    action._remove_tmp_path = lambda path: None
    monkeypatch.setattr(ActionBase, 'run', lambda self, tmp=None, task_vars=None: {})
    return action, calls


def test_the_stop_action_notes_when_each_nodes_result_came_back(monkeypatch):
    action, calls = _stop_action(monkeypatch, 0, {'changed': True, 'was_running': True, 'stop_seconds': 2.0})
    before = time.time()
    result = action.run(task_vars={})
    assert calls == [('lookerops.encryption.lk_stop_cluster', {'run_id': 'r1'}, 0)]
    assert before <= result['returned_at'] <= time.time() and result['stop_seconds'] == 2.0


@pytest.mark.parametrize('case, async_val, reply', [
    ('launched async: the job returns later, nothing to note', 420, {'started': 1, 'finished': 0, 'results_file': '/r/j'}),
    ('a failed stop is no proof the node was down', 0, {'failed': True, 'msg': 'a Looker task is running', 'stop_seconds': 0.0}),
])
def test_the_stop_action_notes_nothing(monkeypatch, case, async_val, reply):
    action, calls = _stop_action(monkeypatch, async_val, reply)
    result = action.run(task_vars={})
    assert 'returned_at' not in result and calls[0][2] == async_val, case
