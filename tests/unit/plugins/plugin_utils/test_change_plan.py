# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of _change_plan: what a change board asks before the change, from a check run's record."""

from __future__ import annotations

import pytest

from ansible_collections.lookerops.encryption.plugins.plugin_utils import _change_plan as cp
from ansible_collections.lookerops.encryption.plugins.plugin_utils import _report as rp

HOSTS = ['n1', 'n2']
FORECAST = {'window_seconds': 262.0, 'text': '262 s = stop 30 + ...',
            'parts': {'stop': 30, 'backup': 12, 'live_window': 60, 'task': 60, 'start_first': 120, 'start_rest': 120}}
RUN = {'job': 'migrate', 'run_id': 'r1', 'first_node': 'n1', 'forecast': FORECAST, 'escrow_path': '/ctl/escrow/c-cmk.vault',
       'backend': {'mode': 'mysql_creds_file', 'host': 'db.example'}}
NODES = [{'info': {'release': '25.0.1', 'supervisors': [{'kind': 'systemd', 'path': '/etc/systemd/system/looker.service'}]}},
         {'info': {'release': '25.0.1', 'supervisors': [{'kind': 'monit'}]}}]
SETTINGS = {'backup_dir': '/var/backups/lookerops', 'cmk_path': '/home/looker/.lookerops/cmk.key', 'systemd_dropin': ''}


def sections(plan):
    return {title: '\n'.join(lines) for title, lines in plan}


def test_the_plan_of_a_migration():
    plan = sections(cp.change_plan(RUN, HOSTS, NODES, SETTINGS))
    assert list(plan) == ['Expected downtime', 'Blast radius', 'Point of no return', 'Rollback plan',
                          'Pre-change checklist (checked)', 'Verification the run performs']
    assert '262 s' in plan['Expected downtime'] and 'migrate_encryption 60 s' in plan['Expected downtime']
    assert 'n1, n2' in plan['Blast radius'] and 'MySQL backend at db.example (named by the -d file)' in plan['Blast radius']
    assert 'AES-128-CBC to AES-GCM-256' in plan['Blast radius'] and '/var/backups/lookerops/r1' in plan['Blast radius']
    assert 'systemd drop-in' not in plan['Blast radius']
    assert 'when migrate_encryption starts on n1' in plan['Point of no return']
    assert 'lookerops.encryption.rollback -e lookerops_run_id=r1' in plan['Rollback plan']
    assert 'about 282 s' in plan['Rollback plan']  # stop 30 + backups 12 + starts 240
    assert 'the legacy scheme' in plan['Rollback plan'] and 'lookerops_rollback_discard_changes_since_run' in plan['Rollback plan']
    checklist = plan['Pre-change checklist (checked)']
    assert '/ctl/escrow/c-cmk.vault' in checklist and 'dump client' in checklist
    assert 'releases: n1 25.0.1, n2 25.0.1' in checklist and 'supervisors found: monit, systemd' in checklist
    assert 'Starting migration from AES-128-CBC Legacy to AES-GCM-256' in plan['Verification the run performs']


def test_the_expected_downtime_names_each_nodes_stop_and_start_and_their_source():
    nodes = {'n1': {'stop': 12.4, 'stop_source': 'measured', 'stop_measured': 3, 'start': 120, 'start_source': 'stated',
                    'start_measured': 0},
             'n2': {'stop': 30, 'stop_source': 'stated', 'stop_measured': 0, 'start': 95, 'start_source': 'measured',
                    'start_measured': 1}}
    plan = sections(cp.change_plan(dict(RUN, forecast=dict(FORECAST, nodes=nodes)), HOSTS, NODES, SETTINGS))
    lines = plan['Expected downtime'].splitlines()
    assert 'n1 (first): stop 12 s (measured: longest of its last 3 stops), start 120 s (stated: lookerops_forecast_start_seconds)' in lines
    assert 'n2: stop 30 s (stated: lookerops_forecast_stop_seconds), start 95 s (measured: longest of its last 1 start)' in lines
    # A forecast without per-node times (recorded before they were kept) still gives its plan, without those lines.
    plan = sections(cp.change_plan(RUN, HOSTS, NODES, SETTINGS))
    assert len(plan['Expected downtime'].splitlines()) == 3


def test_the_plan_of_a_rekey():
    run = dict(RUN, job='rekey', rekey_plan={'old': 'kcv1:aa', 'new': 'kcv1:bb'}, backend={'mode': 'internal'})
    plan = sections(cp.change_plan(run, HOSTS, NODES, dict(SETTINGS, systemd_dropin='/etc/systemd/system/looker.service.d/x.conf')))
    assert "from kcv1:aa to kcv1:bb" in plan['Blast radius'] and "internal database in the home of n1" in plan['Blast radius']
    assert 'systemd drop-in' in plan['Blast radius'] and 'when rekey starts on n1' in plan['Point of no return']
    assert 'the old key' in plan['Rollback plan'] and 'dump client' not in plan['Pre-change checklist (checked)']
    assert 'Looker on GCM with the new key' in plan['Verification the run performs']


@pytest.mark.parametrize('case, run', [
    ('no forecast: nothing to change (already migrated)', dict(RUN, forecast=None)),
    ('a rollback', dict(RUN, job='rollback')),
    ('no record', None),
])
def test_no_plan(case, run):
    assert cp.change_plan(run, HOSTS, NODES, SETTINGS) == [], case


def test_unknown_facts_are_said_not_guessed():
    plan = sections(cp.change_plan({'job': 'migrate', 'forecast': {'parts': {'stop': 'x'}}}, ['n1'], [{}], None))
    assert 'releases: n1 unknown' in plan['Pre-change checklist (checked)']
    assert 'about unknown' in plan['Rollback plan'] and 'the backend the nodes name' in plan['Blast radius']


def test_only_a_check_runs_report_holds_the_plan():
    check = rp.run_report(RUN, HOSTS, NODES, 'x', 'check', SETTINGS)
    done = rp.run_report(RUN, HOSTS, NODES, 'x', 'completed', SETTINGS)
    assert '<h2>Change plan</h2>' in check['html'] and 'change plan, point of no return:' in check['text']
    assert 'Change plan' not in done['html'] and 'change plan' not in done['text']
