# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of _service_restore: a failed run gives service back only when Looker changed nothing for certain.

One case per branch, on run records shaped as roles/lookerops/meta/run_record.yml declares them.
"""

from __future__ import annotations

import pytest

from ansible_collections.lookerops.encryption.plugins.filter import service_restore as service_filter
from ansible_collections.lookerops.encryption.plugins.plugin_utils import _service_restore as sr

STOPPED = {'window_started': 1.0}


def migrate_run(**result):
    base = {'changed': False, 'failed': True, 'unreachable': False, 'migration_started': None, 'error': None, 'pid': None,
            'duration_seconds': 1.0, 'attempts': 1}
    base.update(result)
    return {'job': 'migrate', 'stop': STOPPED, 'migrate': {'result': base}}


def rekey_run(**result):
    base = {'changed': False, 'failed': True, 'unreachable': False, 'task_ran': True, 'already_rekeyed': False, 'pid': None,
            'attempts': 1}
    base.update(result)
    return {'job': 'rekey', 'stop': STOPPED, 'rekey': {'old': 'kcv1:a', 'new': 'kcv1:b', 'result': base}}


@pytest.mark.parametrize('case, run, words', [
    ('failed after the stop, before migrate_encryption (backup)', {'job': 'migrate', 'stop': STOPPED}, 'before migrate_encryption ran'),
    ('failed in the migrate phase before its result', {'job': 'migrate', 'stop': STOPPED, 'migrate': {}}, 'before migrate_encryption ran'),
    ('the collection refused before Looker ran the task', migrate_run(attempts=0), "collection's own checks"),
    ('Could not find task', migrate_run(error='task_not_found'), 'documented error before changing anything (task_not_found)'),
    ('live nodes at every attempt', migrate_run(error='live_nodes', attempts=11), '(live_nodes)'),
    ('Missing backing keystore', migrate_run(error='missing_keystore'), '(missing_keystore)'),
    ('Size of the Master Key is invalid', migrate_run(error='key_size'), '(key_size)'),
    ('Permission for backing key file must be 0400', migrate_run(error='key_file_mode'), '(key_file_mode)'),
    ('rekey failed before it ran', {'job': 'rekey', 'stop': STOPPED, 'rekey': {'old': 'kcv1:a'}}, 'before rekey ran'),
    ('rekey refused with live nodes (never ran)', rekey_run(task_ran=False), "did not run past its refusal"),
])
def test_service_is_given_back(case, run, words):
    answer = sr.service_restore(run)
    assert answer['restore'] is True, case
    assert words in answer['reason'], (case, answer)


@pytest.mark.parametrize('case, run, check_mode, words', [
    ('check mode', migrate_run(error='task_not_found'), True, 'check mode'),
    ('the cluster was not stopped', {'job': 'migrate'}, False, 'not stopped'),
    ('a rollback', {'job': 'rollback', 'stop': STOPPED}, False, 'a rollback run does not give service back'),
    ('no record at all', None, False, 'not stopped'),
    ('migrate_encryption completed, the start failed', migrate_run(failed=False, changed=True), False, 'completed'),
    ('the first node stopped answering', migrate_run(unreachable=True), False, 'stopped answering'),
    ('the task outlived its timeout', migrate_run(pid=4242), False, 'still running (pid 4242)'),
    ('records began to change', migrate_run(migration_started='... Starting migration from AES-128-CBC Legacy to AES-GCM-256'),
     False, 'began changing records'),
    ('a crash with no Starting migration line captured', migrate_run(error=None), False,
     'failed without one of Looker\'s documented refusals: it may have changed records'),
    ('an undocumented error id', migrate_run(error='something_new'), False, '(error something_new)'),
    ('rekey ran and failed', rekey_run(), False, 'rekey failed without one of Looker\'s documented refusals'),
    ('rekey unreachable', rekey_run(unreachable=True, task_ran=True), False, 'stopped answering'),
    ('rekey left running', rekey_run(pid=77, task_ran=True), False, 'still running (pid 77)'),
])
def test_service_is_not_given_back(case, run, check_mode, words):
    answer = sr.service_restore(run, check_mode)
    assert answer['restore'] is False, case
    assert words in answer['reason'], (case, answer)


def test_documented_refusals_are_the_procedures_errors_and_live_nodes():
    assert sorted(sr.DOCUMENTED_REFUSALS) == sorted(['task_not_found', 'missing_keystore', 'key_size', 'key_file_mode',
                                                     'live_nodes'])


def test_filter():
    flt = service_filter.FilterModule().filters()['service_restore']
    assert flt(migrate_run(error='key_size'), False)['restore'] is True
    assert flt(migrate_run(), False)['restore'] is False


# The service restore's plan and outcome.
HOSTS = ['n1', 'n2', 'n3', 'n4']
CHANGED = {'reachable': True, 'node_env': {'changed': True, 'key_identity_before': None}}
KEPT = {'reachable': True, 'node_env': {'changed': False, 'key_identity_before': None}}
HAD_KEY = {'reachable': True, 'node_env': {'changed': True, 'key_identity_before': 'kcv1:abc'}}
NO_ENV = {'reachable': True}
GONE = {'reachable': False}


@pytest.mark.parametrize('case, nodes, here, expected', [
    ('every node in the rescue (a task failed on one node)', [CHANGED] * 4, [True] * 4,
     {'nodes': HOSTS, 'first': ['n1'], 'reset_self': HOSTS, 'reset_delegated': [], 'start_self': ['n2', 'n3', 'n4'],
      'start_delegated': []}),
    ('one node in the rescue (a run_once task failed)', [CHANGED] * 4, [True, False, False, False],
     {'nodes': HOSTS, 'first': ['n1'], 'reset_self': ['n1'], 'reset_delegated': ['n2', 'n3', 'n4'], 'start_self': [],
      'start_delegated': ['n2', 'n3', 'n4']}),
    ('the node in the rescue is not the first', [CHANGED] * 4, [False, False, True, False],
     {'nodes': HOSTS, 'first': ['n1'], 'reset_self': ['n3'], 'reset_delegated': ['n1', 'n2', 'n4'], 'start_self': ['n3'],
      'start_delegated': ['n2', 'n4']}),
    ('settings not written, written over a key, never set: not reset', [KEPT, HAD_KEY, NO_ENV, CHANGED], [True] * 4,
     {'nodes': HOSTS, 'first': ['n1'], 'reset_self': ['n4'], 'reset_delegated': [], 'start_self': ['n2', 'n3', 'n4'],
      'start_delegated': []}),
    ('a node that did not answer preflight gets nothing, the next is first', [GONE, CHANGED, {}, CHANGED], [True] * 4,
     {'nodes': ['n2', 'n4'], 'first': ['n2'], 'reset_self': ['n2', 'n4'], 'reset_delegated': [], 'start_self': ['n4'],
      'start_delegated': []}),
    ('no node answered preflight', [GONE] * 4, [True] * 4,
     {'nodes': [], 'first': [], 'reset_self': [], 'reset_delegated': [], 'start_self': [], 'start_delegated': []}),
    ('fewer facts than hosts', [CHANGED], [True],
     {'nodes': ['n1'], 'first': ['n1'], 'reset_self': ['n1'], 'reset_delegated': [], 'start_self': [], 'start_delegated': []}),
])
def test_restore_service_plan(case, nodes, here, expected):
    plan = sr.restore_service_plan(HOSTS, nodes, here)
    assert plan == dict(expected, hosts=HOSTS), case


def plan_of(here):
    return sr.restore_service_plan(HOSTS, [CHANGED] * 4, here)


OK = {'changed': True}
FAILED = {'failed': True, 'msg': 'permission denied'}
UNREACHABLE = {'unreachable': True, 'msg': 'ssh: connect timed out'}


@pytest.mark.parametrize('case, here, delegated, self_results, expected', [
    ('every reset worked', [True] * 4, [], [OK] * 4, []),
    ('a node failed its own reset', [True] * 4, [], [OK, FAILED, OK, OK], ['n2']),
    ('a node became unreachable', [True] * 4, [], [OK, OK, UNREACHABLE, OK], ['n3']),
    ('a node without a result (left the play)', [True] * 4, [], [OK, {}, OK, OK], []),
    ('delegated resets, one failed, one unreachable', [True, False, False, False],
     [dict(FAILED, item='n2'), dict(OK, item='n3'), dict(UNREACHABLE, item='n4')], [OK], ['n2', 'n4']),
])
def test_restore_service_env_failed(case, here, delegated, self_results, expected):
    assert sr.restore_service_env_failed(plan_of(here), delegated, self_results) == expected, case


def waited(node, result):
    """A delegated wait's loop result: its item is the launch's loop result, whose item is the node."""
    return dict(result, item={'results_file': '/x', 'item': node})


@pytest.mark.parametrize('case, here, first, delegated, self_results, restored', [
    ('all back, acting for themselves', [True] * 4, [dict(OK, item='n1')], [], [OK] * 3, HOSTS),
    ('all back, by delegation', [True, False, False, False], [dict(OK, item='n1')],
     [waited('n2', OK), waited('n3', OK), waited('n4', OK)], [], HOSTS),
    ('first start failed', [True] * 4, [dict(FAILED, item='n1')], [], [OK] * 3, ['n2', 'n3', 'n4']),
    ('first skipped (its settings could not be put back)', [True] * 4, [{'skipped': True, 'item': 'n1'}], [], [OK] * 3,
     ['n2', 'n3', 'n4']),
    ('a wait failed, a node unreachable, a wait skipped, a wait missing', [True] * 4, [dict(OK, item='n1')], [],
     [FAILED, UNREACHABLE, {'skipped': True}], ['n1']),
    ('self wait results missing for a node that left', [True] * 4, [dict(OK, item='n1')], [], [OK, {}], ['n1', 'n2']),
    ('a delegated wait failed', [True, False, False, False], [dict(OK, item='n1')],
     [waited('n2', OK), waited('n3', FAILED), waited('n4', UNREACHABLE)], [], ['n1', 'n2']),
])
def test_restore_service_outcome(case, here, first, delegated, self_results, restored):
    outcome = sr.restore_service_outcome(plan_of(here), first, delegated, self_results)
    assert outcome['restored'] == restored, case
    assert outcome['not_restored'] == [host for host in HOSTS if host not in restored], case


def test_restore_filters():
    filters = service_filter.FilterModule().filters()
    plan = filters['restore_service_plan'](HOSTS, [CHANGED] * 4, [True] * 4)
    assert filters['restore_service_env_failed'](plan, [], [FAILED, OK, OK, OK]) == ['n1']
    assert filters['restore_service_outcome'](plan, [dict(OK, item='n1')], [], [OK] * 3)['not_restored'] == []


def test_state_line_after_a_completed_start_says_looker_runs():
    run = dict(migrate_run(failed=False), start={'window_ended': 2.0})
    assert service_filter.FilterModule().filters()['service_state_line'](run).startswith('Looker runs on every node')


def test_state_line_of_a_stopped_cluster_says_why_service_was_not_given_back():
    run = migrate_run(migration_started='2026-01-01 00:00:00')
    assert sr.service_state_line(run) == 'service not given back: %s.' % sr.service_restore(run)['reason']
    assert sr.service_state_line(rekey_run(task_ran=True)).startswith('service not given back: ')


def test_state_line_is_empty_without_a_stop_or_for_another_job():
    assert sr.service_state_line({'job': 'migrate'}) == ''
    assert sr.service_state_line({'job': 'rollback', 'stop': STOPPED}) == '' and sr.service_state_line(None) == ''
