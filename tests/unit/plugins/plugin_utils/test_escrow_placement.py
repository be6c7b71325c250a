# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every escrow of a run outlives an AWX job: the new key's, and in a rekey the old key's too."""

from __future__ import annotations

import pytest

from ansible_collections.lookerops.encryption.plugins.filter.rekey import FilterModule
from ansible_collections.lookerops.encryption.plugins.plugin_utils._escrow_placement import escrow_placement, is_ephemeral

HOME = '/home/runner'
LOCAL, KMS = 'kcv1:aaaaaaaaaaaaaaaa', 'kms:us-east-1/alias/a/Looker_Encryption_Context'
IN_JOB = HOME + '/.lookerops/escrow/c-cmk.vault'
LASTING = '/mnt/escrow/c-cmk.vault'


def facts(job='rekey', new_kind='aws_kms', node_keys=(LOCAL,), in_force=IN_JOB, escrow='vault', awx_job=42):
    stem = in_force[:-len('.vault')]
    return {'job': job, 'awx_job': awx_job, 'job_home': HOME, 'escrow': escrow, 'new_kind': new_kind,
            'node_keys': list(node_keys), 'escrow_in_force': in_force,
            'escrow_path': stem + '-next.vault' if job == 'rekey' else in_force}


def test_the_filter_is_the_decision():
    assert FilterModule().filters()['escrow_placement'] is escrow_placement


@pytest.mark.parametrize('path, ephemeral', [
    (IN_JOB, True), ('/runner/env/x.vault', True), ('/tmp/x.vault', True), (HOME, True),
    (LASTING, False), ('/home/runner2/x.vault', False), ('/home/runner/../elsewhere/x.vault', False), ('', False),
])
def test_what_is_ephemeral(path, ephemeral):
    assert is_ephemeral(path, HOME + '/') is ephemeral


def test_a_rekey_from_a_local_key_to_kms_keeps_the_old_key_where_it_outlives_the_job():
    (problem,) = escrow_placement(facts())
    assert 'job 42' in problem and 'the old key' in problem and IN_JOB in problem and 'Nothing was changed' in problem
    assert escrow_placement(facts(in_force=LASTING)) == []


def test_a_rekey_to_a_new_local_key_keeps_both_escrows_where_they_outlive_the_job():
    problems = escrow_placement(facts(new_kind='local'))
    assert len(problems) == 2 and 'the old key' in problems[0] and HOME + '/.lookerops/escrow/c-cmk-next.vault' in problems[1]
    problems = escrow_placement(facts(new_kind='local', node_keys=(KMS,)))
    assert len(problems) == 2 and all('the new key' in p for p in problems) and '-next.vault' in problems[0]
    assert escrow_placement(facts(new_kind='local', in_force=LASTING)) == []


def test_a_rekey_between_kms_keys_has_no_escrow():
    assert escrow_placement(facts(node_keys=(KMS, KMS))) == []


@pytest.mark.parametrize('job', ['migrate', 'new_install'])
def test_a_migration_keeps_its_new_key_where_it_outlives_the_job(job):
    (problem,) = escrow_placement(facts(job=job, new_kind='local', node_keys=()))
    assert 'the key would be written to %s' % IN_JOB in problem
    assert escrow_placement(facts(job=job, new_kind='aws_kms', node_keys=())) == []


@pytest.mark.parametrize('changes', [{'awx_job': None}, {'escrow': 'aws_secretsmanager'}, {'escrow': 'none'}, {'job': 'rollback'}])
def test_outside_awx_or_with_an_escrow_outside_the_job_nothing_is_refused(changes):
    assert escrow_placement(dict(facts(new_kind='local'), **changes)) == []
