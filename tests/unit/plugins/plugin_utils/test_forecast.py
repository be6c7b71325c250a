# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of _forecast: the downtime window expected before the change, part by part, and when there is none; each
node's stop and start from its own measured restarts, or the stated times."""

from __future__ import annotations

import pytest

from ansible_collections.lookerops.encryption.plugins.filter import forecast as forecast_filter
from ansible_collections.lookerops.encryption.plugins.plugin_utils import _forecast as fc

HOSTS = ['n1', 'n2', 'n3']
SETTINGS = {'stop_seconds': 10, 'start_seconds': 20, 'task_seconds': 30, 'live_window_seconds': 60}
MIB = 1024 * 1024
STOP_STATED = 'stated: lookerops_forecast_stop_seconds'
START_STATED = 'stated: lookerops_forecast_start_seconds'


def check(mib, rate_mib):
    return {'estimate_bytes': mib * MIB, 'probe_bytes_per_second': rate_mib * MIB}


def test_short_backups_wait_for_the_live_window():
    forecast = fc.downtime_forecast({'job': 'migrate', 'migration_needed': True}, HOSTS, [check(10, 100)] * 3, {}, SETTINGS)
    # stop 10 + max(backup 0.12, live window 60) + task 30 + start 20 + start of the others 20
    assert forecast['window_seconds'] == pytest.approx(140.0)
    assert forecast['parts']['backup'] == pytest.approx(10 / 100 * fc.READ_BACK_FACTOR)
    assert forecast['task'] == 'migrate_encryption' and forecast['unmeasured'] == []
    assert forecast['text'].startswith('140 s = stop 10 (%s) + max(backup 0, live window 60) + migrate_encryption 30 + start of '
                                       'the first node 20 (%s)' % (STOP_STATED, START_STATED))
    assert forecast['text'].endswith('+ start of the others 20 (%s)' % START_STATED)


def test_the_slowest_home_and_the_backend_make_the_backup():
    backups = [check(1000, 50), check(6000, 100), check(100, 10)]
    forecast = fc.downtime_forecast({'job': 'migrate'}, HOSTS, backups, {'estimate_bytes': 500 * MIB}, SETTINGS)
    homes = 6000 / 100 * fc.READ_BACK_FACTOR  # n2: 72 s, the longest
    backend = 500 / 50 * fc.READ_BACK_FACTOR  # at the first node's rate: 12 s
    assert forecast['backup_nodes']['n2'] == pytest.approx(homes)
    assert forecast['backend_seconds'] == pytest.approx(backend)
    assert forecast['parts']['backup'] == pytest.approx(homes + backend)
    assert forecast['window_seconds'] == pytest.approx(10 + homes + backend + 30 + 20 + 20)


def test_a_node_without_a_measurement_is_named():
    backups = [check(10, 100), {}, {'estimate_bytes': MIB, 'probe_bytes_per_second': None}]
    forecast = fc.downtime_forecast({'job': 'migrate'}, HOSTS, backups, {'estimate_bytes': MIB}, SETTINGS)
    assert forecast['unmeasured'] == ['n2', 'n3']
    assert '(backup not measured on n2, n3: counted as 0)' in forecast['text']


def test_the_backend_without_the_first_nodes_rate_is_named():
    backups = [{}, check(10, 100), check(10, 100)]
    forecast = fc.downtime_forecast({'job': 'migrate'}, HOSTS, backups, {'estimate_bytes': MIB}, SETTINGS)
    assert forecast['backend_seconds'] is None
    assert 'n1, the backend: counted as 0' in forecast['text']


def test_one_node_has_no_start_of_others():
    forecast = fc.downtime_forecast({'job': 'migrate'}, ['n1'], [check(1, 100)], {}, SETTINGS)
    assert forecast['parts']['start_rest'] == 0.0
    assert forecast['window_seconds'] == pytest.approx(10 + 60 + 30 + 20)
    assert 'start of the others' not in forecast['text']


def test_a_rekey_forecasts_its_own_task():
    forecast = fc.downtime_forecast({'job': 'rekey', 'rekey_plan': {'needed': True}}, HOSTS, [check(1, 100)] * 3, {}, SETTINGS)
    assert forecast['task'] == 'rekey' and '+ rekey 30 +' in forecast['text']


def test_stated_times_that_are_not_numbers_count_as_zero():
    forecast = fc.downtime_forecast({'job': 'migrate'}, ['n1'], [{}], {}, {'stop_seconds': 'x', 'start_seconds': -5})
    assert forecast['window_seconds'] == 0.0


def history(stops=(), starts=()):
    """A node's restart history as lk_node_info returns it."""
    return {'stops': [{'utc': '2026-01-01T00:00:00Z', 'seconds': x} for x in stops],
            'starts': [{'utc': '2026-01-01T00:01:00Z', 'seconds': x} for x in starts], 'error': None}


def forecast_with(restarts, hosts=None):
    hosts = HOSTS if hosts is None else hosts
    return fc.downtime_forecast({'job': 'migrate'}, hosts, [check(1, 100)] * len(hosts), {}, SETTINGS, restarts)


def test_every_node_measured():
    forecast = forecast_with([history([5, 12], [80, 90]), history([8], [100]), history([3, 4, 6], [70])])
    parts = forecast['parts']
    # The nodes stop together (the longest, n1's 12); n1 starts alone (its longest, 90); then the others (n2's 100).
    assert (parts['stop'], parts['start_first'], parts['start_rest']) == (12, 90, 100)
    assert forecast['window_seconds'] == pytest.approx(12 + 60 + 30 + 90 + 100)
    assert forecast['nodes']['n1'] == {'stop': 12, 'stop_source': 'measured', 'stop_measured': 2,
                                       'start': 90, 'start_source': 'measured', 'start_measured': 2}
    assert forecast['nodes']['n3']['stop_measured'] == 3 and forecast['nodes']['n3']['start'] == 70
    text = forecast['text']
    assert 'stop 12 (measured on 3 of 3 nodes) +' in text
    assert 'start of the first node 90 (measured: longest of its last 2 starts)' in text
    assert text.endswith('+ start of the others 100 (measured on 2 of 2 nodes)')
    assert 'stated' not in text


def test_measured_times_replace_the_stated_ones_even_when_shorter():
    forecast = forecast_with([history([2], [5])], hosts=['n1'])
    assert forecast['parts']['stop'] == 2 and forecast['parts']['start_first'] == 5  # not the stated 10 and 20
    assert 'stop 2 (measured: longest of its last 1 stop)' in forecast['text']
    assert 'start of the first node 5 (measured: longest of its last 1 start)' in forecast['text']


@pytest.mark.parametrize('case, restarts', [
    ('no histories given', None),
    ('empty histories', [{}, {}, {}]),
    ('histories that could not be read', [{'stops': [], 'starts': [], 'error': 'not JSON'}] * 3),
    ('malformed entries', [{'stops': [{'seconds': 'x'}, {'seconds': True}, 'junk', {'seconds': -3}, {}], 'starts': None}] * 3),
    ('fewer histories than nodes', []),
])
def test_every_node_stated(case, restarts):
    forecast = forecast_with(restarts)
    parts = forecast['parts']
    assert (parts['stop'], parts['start_first'], parts['start_rest']) == (10, 20, 20), case
    for host in HOSTS:
        assert forecast['nodes'][host] == {'stop': 10, 'stop_source': 'stated', 'stop_measured': 0,
                                           'start': 20, 'start_source': 'stated', 'start_measured': 0}, case
    assert 'stop 10 (%s)' % STOP_STATED in forecast['text'], case
    assert 'start of the first node 20 (%s)' % START_STATED in forecast['text'], case
    assert forecast['text'].endswith('start of the others 20 (%s)' % START_STATED), case


def test_measured_and_stated_nodes_mixed():
    # n1: a short measured stop, no start; n2: nothing measured; n3: a long measured stop; n2 a measured start.
    forecast = forecast_with([history([5]), history([], [50]), history([25])])
    nodes = forecast['nodes']
    assert (nodes['n1']['stop'], nodes['n1']['stop_source']) == (5, 'measured')
    assert (nodes['n2']['stop'], nodes['n2']['stop_source']) == (10, 'stated')
    assert (nodes['n2']['start'], nodes['n2']['start_source'], nodes['n2']['start_measured']) == (50, 'measured', 1)
    assert (nodes['n3']['start'], nodes['n3']['start_source']) == (20, 'stated')
    parts = forecast['parts']
    assert (parts['stop'], parts['start_first'], parts['start_rest']) == (25, 20, 50)
    assert forecast['window_seconds'] == pytest.approx(25 + 60 + 30 + 20 + 50)
    assert 'stop 25 (measured on 2 of 3 nodes, the others %s)' % STOP_STATED in forecast['text']
    assert 'start of the first node 20 (%s)' % START_STATED in forecast['text']
    assert forecast['text'].endswith('start of the others 50 (measured on 1 of 2 nodes, the others %s)' % START_STATED)


def test_a_stated_time_longer_than_the_measured_ones_still_counts_for_an_unmeasured_node():
    forecast = forecast_with([history([3], [4]), {}, history([3], [4])])
    assert forecast['parts']['stop'] == 10 and forecast['parts']['start_rest'] == 20  # n2 has only the stated times
    assert forecast['parts']['start_first'] == 4


@pytest.mark.parametrize('case, run', [
    ('a rollback', {'job': 'rollback'}),
    ('a new install', {'job': 'new_install'}),
    ('no record', None),
    ('every node already migrated', {'job': 'migrate', 'migration_needed': False}),
    ('already migrated, as a string', {'job': 'migrate', 'migration_needed': 'False'}),
    ('the rekey was done earlier', {'job': 'rekey', 'rekey_plan': {'needed': False}}),
])
def test_no_forecast(case, run):
    assert fc.downtime_forecast(run, HOSTS, [], {}, SETTINGS) is None, case


@pytest.mark.parametrize('forecast, actual, expected', [
    ({'window_seconds': 110.0}, 100.0, 0.1),
    ({'window_seconds': 90.0}, 100.0, -0.1),
    (None, 100.0, None),
    ({'window_seconds': 90.0}, None, None),
    ({'window_seconds': 90.0}, 0, None),
])
def test_forecast_error(forecast, actual, expected):
    assert fc.forecast_error(forecast, actual) == (pytest.approx(expected) if expected is not None else None)


def test_filters():
    filters = forecast_filter.FilterModule().filters()
    assert filters['downtime_forecast']({'job': 'migrate'}, ['n1'], [{}], {}, SETTINGS)['window_seconds'] == 10 + 60 + 30 + 20
    measured = filters['downtime_forecast']({'job': 'migrate'}, ['n1'], [{}], {}, SETTINGS, [history([4], [6])])
    assert measured['window_seconds'] == 4 + 60 + 30 + 6
    assert filters['forecast_error']({'window_seconds': 50.0}, 100) == -0.5
