# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of _report: the run's report for the change record, its timeline, and that it is self-contained."""

from __future__ import annotations

import re

import pytest

from ansible_collections.lookerops.encryption.plugins.filter import run_report as report_filter
from ansible_collections.lookerops.encryption.plugins.plugin_utils import _report as rp
from ansible_collections.lookerops.encryption.tests.e2e.report_page import parse_report as parse

T0 = 1_800_000_000.0
HOSTS = ['n1', 'n2']
RUN = {
    'job': 'migrate', 'run_id': '20270101T000000Z', 'cluster_id': 'db-3306-looker', 'first_node': 'n1',
    'started_utc': '2027-01-01 00:00:00', 'controller': 'ops@ctl', 'nodes': HOSTS,
    'stop': {'window_started': T0, 'stopped_at': T0 + 4, 'any_was_running': True},
    'backup': {'started_at': T0 + 4, 'seconds': 30.0, 'backend': {'path': '/b/backend.sql.gz', 'size': 2048, 'sha256': 'ab' * 32}},
    'cmk': {'fingerprint': 'kcv1:0011', 'kcv': 'kcv1:0011', 'escrow_path': '/ctl/escrow/db-cmk.vault'},
    'migrate': {'result': {'changed': True, 'failed': False, 'duration_seconds': 10.0, 'ended_at': T0 + 74}},
    'start': {'started_at': T0 + 75, 'window_ended': T0 + 87, 'evidence': ['Starting migration from AES-128-CBC Legacy to AES-GCM-256']},
}
NODES = [
    {'stop': {'was_running': True, 'stop_seconds': 3.0, 'evidence': {'alive': {'state': 'refused'}, 'backend_sessions': []}},
     'backup_home': {'path': '/b/n1.tar.gz', 'size': 5 * 1024 * 1024, 'sha256': 'cd' * 32}, 'start': {'alive_after_seconds': 6.0}},
    {'stop': {'was_running': True, 'stop_seconds': 4.0, 'evidence': {'alive': 'refused', 'backend_sessions': None}},
     'backup_home': {'path': '/b/n2.tar.gz', 'size': 1000, 'sha256': 'ef' * 32}, 'start': {'alive_after_seconds': 5.0}},
]


def bars_of(timeline):
    return {row['node']: [(segment['phase'], segment['start'] - T0, segment['end'] - T0) for segment in row['segments']]
            for row in timeline['rows']}


def test_timeline_of_a_completed_migration():
    timeline = rp.report_timeline(RUN, HOSTS, NODES)
    assert bars_of(timeline) == {
        'n1': [('stop', 0.0, 3.0), ('backup', 4.0, 34.0), ('migrate', 64.0, 74.0), ('start', 75.0, 81.0)],
        # The other nodes start once the first answers /alive.
        'n2': [('stop', 0.0, 4.0), ('backup', 4.0, 34.0), ('start', 81.0, 86.0)],
    }
    assert timeline['window'] == {'start': T0, 'end': T0 + 87}


def test_timeline_of_a_run_that_failed_in_the_backup():
    run = {key: value for key, value in RUN.items() if key in ('job', 'run_id', 'first_node', 'stop', 'backup')}
    nodes = [{'stop': {'was_running': True}}, {}]
    timeline = rp.report_timeline(run, HOSTS, nodes)
    # No stop_seconds recorded: the stop lasts until every node was proven down; no migrate, no start, window open.
    assert bars_of(timeline) == {'n1': [('stop', 0.0, 4.0), ('backup', 4.0, 34.0)], 'n2': [('stop', 0.0, 4.0), ('backup', 4.0, 34.0)]}
    assert timeline['window'] == {'start': T0, 'end': None}


def test_timeline_of_a_service_restore_ends_with_it():
    run = dict(RUN, start={}, restore_service={'window_ended': T0 + 50})
    assert rp.report_timeline(run, HOSTS, NODES)['window'] == {'start': T0, 'end': T0 + 50}


def test_timeline_of_a_rekey():
    rekey = {'old': 'kcv1:a', 'new': 'kcv1:b', 'result': {'duration_seconds': 2.0, 'ended_at': T0 + 70}}
    run = dict(RUN, job='rekey', migrate={}, rekey=rekey)
    assert ('rekey', 68.0, 70.0) in bars_of(rp.report_timeline(run, HOSTS, NODES))['n1']


def test_timeline_of_a_run_that_never_stopped():
    timeline = rp.report_timeline({'job': 'migrate', 'first_node': 'n1'}, HOSTS, [{}, {}])
    assert bars_of(timeline) == {'n1': [], 'n2': []}
    assert timeline['window'] is None


def test_timeline_ignores_values_that_are_not_times():
    run = dict(RUN, backup={'started_at': 'soon', 'seconds': None})
    assert all(segment[0] != 'backup' for segment in bars_of(rp.report_timeline(run, HOSTS, NODES))['n1'])


def test_report_of_a_completed_migration():
    report = rp.run_report(RUN, HOSTS, NODES, ['lookerops.encryption run x', 'result: migrated'])
    assert report['name'] == 'db-3306-looker-20270101T000000Z-migrate'
    page = parse(report['html'])
    assert 'svg' in page.tags and page.tags.count('rect') >= 7
    assert 'script' not in page.tags and 'link' not in page.tags and 'img' not in page.tags
    assert page.references == []
    text = ''.join(page.text)
    for words in ('completed', 'n1 (first)', '/b/n1.tar.gz', 'cd' * 32, '/b/backend.sql.gz', 'kcv1:0011',
                  '/ctl/escrow/db-cmk.vault', 'Starting migration from AES-128-CBC Legacy to AES-GCM-256', 'result: migrated',
                  '87.0 s', 'stopped in 3.0 s; pid gone, /alive refused, backend sessions left 0', 'backend sessions left not checked'):
        assert words in text, words
    assert 'n2' in report['text'] and 'migrate_encryption' in report['text'] and 'result: migrated' in report['text']
    assert '5.0 MiB' in report['text'] and '1000 B' in report['text']


def test_report_escapes_every_value():
    run = dict(RUN, cluster_id='<script>alert(1)</script>')
    report = rp.run_report(run, ['<b>n1</b>'], [{}], 'line with <img src=x onerror=y>')
    page = parse(report['html'])
    assert 'script' not in page.tags and 'img' not in page.tags and 'b' not in page.tags
    assert '<img src=x onerror=y>' in ''.join(page.text)


@pytest.mark.parametrize('outcome, words', [
    ('failed', 'failed'),
    ('check', 'check mode: nothing was changed'),
    ('completed', 'completed'),
])
def test_report_outcome(outcome, words):
    report = rp.run_report({'job': 'migrate', 'run_id': 'r'}, [], [], 'x', outcome)
    assert 'outcome-%s' % outcome in report['html'] and words in report['text']


def test_report_of_a_run_that_never_stopped_has_no_timeline():
    report = rp.run_report({'job': 'migrate', 'run_id': 'r', 'first_node': 'n1'}, HOSTS, [{}, {}], 'nothing to do')
    assert 'svg' not in parse(report['html']).tags
    assert 'No node was stopped.' in report['html'] and '(no node was stopped)' in report['text']
    assert 'downtime window: -' in report['text']


def test_report_of_a_run_left_down_says_so():
    run = dict(RUN, start={})
    assert 'not ended: the nodes were left stopped' in rp.run_report(run, HOSTS, NODES, 'x', 'failed')['text']


def test_report_of_a_rekey_names_both_keys_never_key_text():
    run = dict(RUN, job='rekey', rekey={'old': 'kcv1:a', 'new': 'kcv1:b', 'escrow': '/ctl/e.vault'})
    text = rp.run_report(run, HOSTS, NODES, 'x')['text']
    assert 'rekey kcv1:a -> kcv1:b; escrow /ctl/e.vault (the key itself is never written into a report)' in text


def test_report_of_an_rds_backend():
    run = dict(RUN, backup={'rds': {'snapshot_id': 'lookerops-r1'}})
    report = rp.run_report(run, HOSTS, NODES, 'x')
    assert 'RDS snapshot lookerops-r1' in report['text'] and 'RDS snapshot lookerops-r1' in report['html']


def test_report_shows_the_forecast_beside_the_actual_window():
    run = dict(RUN, forecast={'window_seconds': 100.0, 'text': '100 s = stop 10 + ...'})
    text = rp.run_report(run, HOSTS, NODES, 'x')['text']
    assert re.search(r'^downtime forecast: +100 s = stop 10 \+ \.\.\.; actual 87 s \(forecast \+15 %\)$', text, re.M), text


def test_report_without_a_forecast_says_why():
    assert 'none (no downtime window of this kind)' in rp.run_report(dict(RUN, job='rollback'), HOSTS, NODES, 'x')['text']


def test_report_of_a_check_run_shows_the_forecast_alone():
    run = {'job': 'migrate', 'run_id': 'r', 'forecast': {'window_seconds': 140.0, 'text': '140 s = stop 30 + ...'}}
    text = rp.run_report(run, HOSTS, [{}, {}], 'x', 'check')['text']
    assert re.search(r'^downtime forecast: +140 s = stop 30 \+ \.\.\.$', text, re.M), text


@pytest.mark.parametrize('case, stop, expected', [
    ('stopped, every proof', {'was_running': True, 'stop_seconds': 3.04, 'evidence': {'alive': {'state': 'refused'}, 'backend_sessions': []}},
     'fenced, stopped in 3.0 s; pid gone, /alive refused, backend sessions left 0'),
    ('already stopped, /alive as a plain state, sessions not checked',
     {'was_running': False, 'stop_seconds': 0.2, 'evidence': {'alive': 'timeout', 'backend_sessions': None}},
     'fenced, was already stopped in 0.2 s; pid gone, /alive timeout, backend sessions left not checked'),
    ('no evidence recorded', {'was_running': True, 'stop_seconds': 2},
     'fenced, stopped in 2.0 s; pid gone, /alive refused, backend sessions left not checked'),
    ('sessions left', {'was_running': True, 'stop_seconds': 1, 'evidence': {'backend_sessions': [{'id': 7}, {'id': 8}]}},
     'fenced, stopped in 1.0 s; pid gone, /alive refused, backend sessions left 2'),
    ('no seconds', {'was_running': True}, 'fenced, stopped in -; pid gone, /alive refused, backend sessions left not checked'),
    ('no stop recorded', {}, 'no stop recorded'),
    ('not a stop result', None, 'no stop recorded'),
])
def test_node_stop_text(case, stop, expected):
    assert rp.node_stop_text(stop) == expected, case


def test_filter():
    filters = report_filter.FilterModule().filters()
    assert filters['run_report'](RUN, HOSTS, NODES, 'x')['name'].endswith('-migrate')
    assert filters['node_stop_text']({}) == 'no stop recorded'


def test_report_shows_each_connection_before_and_after():
    ok = {'ok': True, 'message': 'Can connect'}
    before = [dict(ok, name='conn-1'), dict(ok, name='conn-2')]
    after = [dict(ok, name='conn-1'), {'name': 'conn-2', 'ok': False, 'message': 'connect: no <key>'}]
    proof = {'before': {'configured': True, 'release': '25.6.1', 'connections': before},
             'after': {'configured': True, 'release': '25.6.1', 'connections': after}}
    report = rp.run_report(dict(RUN, api_proof=proof), HOSTS, NODES, 'summary')
    assert 'Looker API proof: connections: 2 tested, 1 pass before and after; FAIL after the start: conn-2' in report['text']
    assert 'conn-1: pass before, pass after' in report['text']
    assert 'conn-2: pass before, FAIL after (connect: no <key>)' in report['text']
    page = parse(report['html'])
    assert 'conn-2: pass before, FAIL after (connect: no <key>)' in ''.join(page.text) and 'key' not in page.tags


def test_report_says_when_the_api_proof_was_skipped_or_not_run():
    skipped = rp.run_report(dict(RUN, api_proof={'before': {'configured': False, 'reason': ''}}), HOSTS, NODES, 's')
    assert 'Looker API proof: skipped (no API key given' in skipped['text']
    assert "proof through Looker's API (connection tests before the stop and after the start):\n  not run" in rp.run_report(
        RUN, HOSTS, NODES, 's')['text']


@pytest.mark.parametrize('case, run, stop_line, start_line', [
    ('both gates used',
     dict(RUN, stop=dict(RUN['stop'], gate={'at': T0, 'ahead': 10.0, 'spread': 4.5}),
          start_gate={'gated': True, 'url': 'https://n1:9999/alive', 'reason': 'every other node reached it', 'unreached': []}),
     "every node stopped at one instant, set 10.0 s ahead (preflight's round to every node took 4.5 s)",
     'used: every other node reached it'),
    ('no measured round, a node that did not reach the first one',
     dict(RUN, stop=dict(RUN['stop'], gate={'at': T0, 'ahead': 0.0, 'spread': None}),
          start_gate={'gated': False, 'reason': 'not every node reaches it: n2 (timed out)'}),
     'none: each node stopped when the controller reached it', 'not used: not every node reaches it: n2 (timed out)'),
    ('an older record without gates', RUN, '-', '-'),
])
def test_report_says_how_the_nodes_stopped_and_started(case, run, stop_line, start_line):
    text = rp.run_report(run, HOSTS, NODES, '')['text']
    assert re.search(r'^stop gate: +%s' % re.escape(stop_line), text, re.M), (case, text)
    assert re.search(r'^start gate: +%s' % re.escape(start_line), text, re.M), (case, text)
