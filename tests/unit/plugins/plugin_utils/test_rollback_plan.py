# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollback's decision, one test per branch: backups, key, and whether it discards what the cluster stored since."""

from __future__ import annotations

import pytest

from ansible_collections.lookerops.encryption.plugins.filter.path_name_problem import FilterModule as NameFilters
from ansible_collections.lookerops.encryption.plugins.filter.rollback_plan import FilterModule as PlanFilters
from ansible_collections.lookerops.encryption.plugins.plugin_utils import _rollback_plan as rp

RUN = '20261201T100000Z-aaaaaa'
NOW = rp.parse_utc('2026-12-04 12:00:00')
BACKUP_TIME = '2026-12-01T10:00:05Z'
ENDED = rp.parse_utc('2026-12-01 10:05:00')


def node(name, marker_run=None, up=True, started='2026-12-01 10:04:30', verified=True, **extra):
    marker = None if marker_run is None else {'scheme': 'AES-GCM-256', 'run_id': marker_run, 'kcv': 'kcv1:0123456789abcdef',
                                              'migrated_at': '2026-12-01 10:00:00', 'rekeyed_at': None}
    data = {'name': name, 'reachable': True, 'marker': marker, 'marker_mtime': ENDED if marker else None, 'up': up,
            'started_at': rp.parse_utc(started) if up else None,
            'backup': {'verified': verified, 'error': None if verified else 'the backup x does not match its manifest',
                       'created_utc': BACKUP_TIME}}
    data.update(extra)
    return data


def facts(nodes, **extra):
    data = {'run_id': RUN, 'now': NOW, 'acknowledged': False, 'key_note': None, 'pre_note': None, 'nodes': nodes,
            'backend': {'verified': True, 'error': None}, 'escrow_error': None, 'dump_error': None, 'suffix': 'abc123'}
    data.update(extra)
    return data


def plan(data):
    return PlanFilters().filters()['rollback_plan'](data)


def test_a_failed_run_needs_no_acknowledgement():
    out = plan(facts([node('n1', marker_run=None, up=False), node('n2', marker_run=None, up=False)]))
    assert out['allowed'] and out['status'] == 'unfinished' and not out['needs_ack'] and out['problems'] == []
    assert out['kind'] == 'migrate'
    assert out['pre_backup_id'] == 'pre-rollback-20261204T120000Z-abc123'


def test_a_completed_run_whose_cluster_served_is_refused_saying_when_it_ended_and_what_is_lost():
    out = plan(facts([node('n1', RUN), node('n2', RUN, up=False)]))
    assert not out['allowed'] and out['status'] == 'completed' and out['needs_ack']
    [problem] = out['problems']
    assert '2026-12-01 10:05:00 UTC' in problem  # when the run ended
    assert 'n1: Looker up since 2026-12-01 10:04:30 UTC (3 d 1 h)' in problem  # what served since
    assert 'n2: Looker not running now' in problem
    assert 'lookerops_rollback_discard_changes_since_run=true' in problem
    assert 'Nothing was changed' in problem


@pytest.mark.parametrize('ack', [True, 'true', 'True'])
def test_a_completed_run_goes_on_when_the_loss_is_acknowledged(ack):
    out = plan(facts([node('n1', RUN), node('n2', RUN)], acknowledged=ack))
    assert out['allowed'] and out['needs_ack'] and out['acknowledged']
    assert 'discards everything stored in Looker since then' in out['lost']


def test_a_run_a_later_run_superseded_is_refused_naming_that_run():
    later = node('n1', 'later-run')
    later['marker']['rekeyed_at'] = '2026-12-02 09:00:00'
    out = plan(facts([later]))
    assert out['status'] == 'superseded' and out['discards_run'] == 'later-run' and not out['allowed']
    assert 'older than run later-run' in out['problems'][0]


def test_an_older_marker_does_not_make_a_failed_rekey_stale():
    # A rekey that failed: the marker still names the migration before it, older than the rekey's backups.
    earlier = node('n1', 'migrate-run', up=False)
    earlier['marker']['migrated_at'] = '2026-11-01 09:00:00'
    out = plan(facts([earlier], key_note={'job': 'rekey', 'old': 'kcv1:0123456789abcdef', 'new': 'kcv1:fedcba9876543210'}))
    assert out['allowed'] and out['status'] == 'unfinished' and out['kind'] == 'rekey'


def test_a_backup_that_does_not_match_its_manifest_is_refused():
    out = plan(facts([node('n1', verified=False, up=False), node('n2', up=False)]))
    assert not out['allowed']
    assert out['problems'] == ['n1: the backup of its Looker home from run %s cannot be used: the backup x does not match '
                               'its manifest. Check lookerops_run_id and lookerops_backup_dir. Nothing was changed.' % RUN]


def test_an_unreachable_node_is_refused():
    gone = node('n2', up=False)
    gone['reachable'] = False
    out = plan(facts([node('n1', up=False), gone]))
    assert not out['allowed'] and out['problems'][0].startswith('n2: unreachable')


def test_a_backend_dump_that_cannot_be_used_is_refused():
    out = plan(facts([node('n1', up=False)], backend={'verified': False, 'error': 'the backend dump is truncated'}))
    assert not out['allowed'] and 'the backend dump is truncated' in out['problems'][0]


def test_no_backend_dump_to_restore_is_no_problem():
    assert plan(facts([node('n1', up=False)], backend=None))['allowed']


def test_a_backend_that_cannot_be_dumped_for_the_pre_rollback_backup_is_refused():
    out = plan(facts([node('n1', up=False)], dump_error='Access denied'))
    assert not out['allowed'] and 'pre-rollback backup: Access denied' in out['problems'][0]


def test_no_room_for_the_pre_rollback_backup_is_refused():
    out = plan(facts([node('n1', up=False, space_error='4096 bytes free, 1000000 needed')]))
    assert not out['allowed'] and out['problems'][0].startswith('n1: no room for the pre-rollback backup')


def test_a_missing_escrow_of_the_old_key_is_refused_before_anything():
    note = {'job': 'rekey', 'old': 'kcv1:0123456789abcdef', 'new': 'kcv1:fedcba9876543210'}
    out = plan(facts([node('n1', up=False)], key_note=note, escrow_error='no escrow of the old key kcv1:0123456789abcdef'))
    assert not out['allowed']
    assert out['problems'][0].startswith('controller: no escrow of the old key kcv1:0123456789abcdef')
    assert 'taken under kcv1:0123456789abcdef' in out['problems'][0]


def test_a_key_file_that_cannot_take_the_old_key_is_refused_naming_where_its_escrow_belongs():
    note = {'job': 'rekey', 'old': 'kcv1:0123456789abcdef', 'new': 'kcv1:fedcba9876543210',
            'escrow_in_force': '/ctl/escrow/c-cmk.vault'}
    error = 'The CMK has kcv1:fedcba9876543210 but expected_kcv is kcv1:0123456789abcdef'
    out = plan(facts([node('n1', up=False, key_error=error)], key_note=note))
    assert not out['allowed'] and out['problems'][0].startswith('n1: The CMK has kcv1:fedcba9876543210')
    assert 'belongs at /ctl/escrow/c-cmk-retired-0123456789abcdef.vault (or at /ctl/escrow/c-cmk.vault' in out['problems'][0]


def test_a_pre_rollback_backup_needs_acknowledgement_once_looker_serves_again():
    pre = {'job': 'pre-rollback', 'run_id': 'pre-rollback-x', 'rolls_back': RUN}
    out = plan(facts([node('n1')], run_id='pre-rollback-x', pre_note=pre))
    assert out['kind'] == 'pre-rollback' and out['status'] == 'completed' and not out['allowed']
    assert 'the backup a rollback took before it restored' in out['problems'][0]
    down = plan(facts([node('n1', up=False)], run_id='pre-rollback-x', pre_note=pre))
    assert down['allowed'] and down['status'] == 'unfinished'


def test_values_templated_as_text_by_older_ansible_core():
    text = node('n1', RUN)
    text.update(reachable='True', up='False', started_at='None', marker_mtime=str(ENDED))
    text['backup']['verified'] = 'True'
    out = plan(facts([text], now=str(NOW), key_note='', pre_note='None', escrow_error='', dump_error='None'))
    assert out['status'] == 'completed' and out['ended_utc'] == '2026-12-01 10:05:00 UTC'
    assert out['problems'] and 'n1: Looker not running now' in out['problems'][0]


@pytest.mark.parametrize('value, bad', [('.', True), ('..', True), ('a/b', True), ('run-1', False)])
def test_the_name_filter(value, bad):
    assert bool(NameFilters().filters()['path_name_problem'](value, 'lookerops_run_id')) is bad


def test_formatting():
    assert rp.format_duration(59) == '0 min' and rp.format_duration(3700) == '1 h 1 min'
    assert rp.format_utc(None) == 'an unknown time'
    assert rp.parse_utc('garbage') is None
