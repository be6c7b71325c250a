# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of _forecast: the downtime window expected before the change, part by part, and when there is none."""

from __future__ import annotations

import pytest

from ansible_collections.lookerops.encryption.plugins.filter import forecast as forecast_filter
from ansible_collections.lookerops.encryption.plugins.plugin_utils import _forecast as fc

HOSTS = ['n1', 'n2', 'n3']
SETTINGS = {'stop_seconds': 10, 'start_seconds': 20, 'task_seconds': 30, 'live_window_seconds': 60}
MIB = 1024 * 1024


def check(mib, rate_mib):
    return {'estimate_bytes': mib * MIB, 'probe_bytes_per_second': rate_mib * MIB}


def test_short_backups_wait_for_the_live_window():
    forecast = fc.downtime_forecast({'job': 'migrate', 'migration_needed': True}, HOSTS, [check(10, 100)] * 3, {}, SETTINGS)
    # stop 10 + max(backup 0.12, live window 60) + task 30 + start 20 + start of the others 20
    assert forecast['window_seconds'] == pytest.approx(140.0)
    assert forecast['parts']['backup'] == pytest.approx(10 / 100 * fc.READ_BACK_FACTOR)
    assert forecast['task'] == 'migrate_encryption' and forecast['unmeasured'] == []
    assert forecast['text'].startswith('140 s = stop 10 + max(backup 0, live window 60) + migrate_encryption 30 + start of the first node 20')
    assert forecast['text'].endswith('+ start of the others 20')


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
    assert filters['forecast_error']({'window_seconds': 50.0}, 100) == -0.5
