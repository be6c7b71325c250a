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
