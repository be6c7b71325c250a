# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan of a rekey, branch by branch: what is old and new, whether a run resumes, and every refusal (a resume goes
only to the key Looker's rekey already used; a run never generates a key on resume)."""

from __future__ import annotations

import pytest

from ansible_collections.lookerops.encryption.plugins.filter.rekey import FilterModule
from ansible_collections.lookerops.encryption.plugins.plugin_utils._rekey_plan import rekey_plan

A, B, C = 'kcv1:aaaaaaaaaaaaaaaa', 'kcv1:bbbbbbbbbbbbbbbb', 'kcv1:cccccccccccccccc'
KMS = 'kms:us-east-1/alias/looker/Looker_Encryption_Context'
HOSTS = ['n1', 'n2']
NEXT = '/ctl/escrow/c-cmk-next.vault'


def node(identity, running=True, marker=True, fenced=False):
    return {'home_exists': True, 'key': {'identity': identity, 'kind': 'file', 'proven_by_start': True if running else None},
            'marker': {'scheme': 'AES-GCM-256'} if marker else None, 'fence': {'ours': fenced}}


def facts(nodes=None, state=None, run_id='run-2', new=None, generated=False, **kwargs):
    out = {'hosts': HOSTS, 'first_node': 'n1', 'nodes': nodes or {h: node(A) for h in HOSTS}, 'state': state or {},
           'state_path': '/home/looker/.lookerops-rekey.json', 'run_id': run_id, 'new_kind': 'local',
           'new_local': {'kcv': new or C, 'generated': generated}, 'aws_region': 'us-east-1', 'aws_cmk_alias': 'alias/looker',
           'aws_cmk_ec': 'Looker_Encryption_Context', 'escrow': 'vault', 'next_escrow': NEXT, 'variable_names': {}}
    out.update(kwargs)
    return out


def down(identity):
    return {h: node(identity, running=False, fenced=True) for h in HOSTS}


def state(kind, run_id='run-1', source=A, destination=B):
    return {'state': kind, 'run_id': run_id, 'source': source, 'destination': destination}


def test_the_filter_is_the_plan():
    assert FilterModule().filters()['rekey_plan'] is rekey_plan


def test_a_fresh_rekey_to_a_named_key():
    plan = rekey_plan(facts(new=B))
    assert plan == {'old': A, 'old_kind': 'local', 'new': B, 'new_kind': 'local', 'needed': True, 'resumes': None,
                    'state_path': '/home/looker/.lookerops-rekey.json', 'problems': []}


def test_a_fresh_rekey_to_a_generated_key_leaves_the_new_key_open():
    plan = rekey_plan(facts(generated=True))
    assert plan['new'] is None and plan['needed'] and plan['problems'] == []


def test_a_fresh_rekey_to_kms():
    plan = rekey_plan(facts(new_kind='aws_kms', new_local={'skipped': True}))
    assert plan['new'] == KMS and plan['old_kind'] == 'local' and plan['problems'] == []


def test_the_key_in_force_is_refused():
    plan = rekey_plan(facts(new=A))
    assert [p for p in plan['problems'] if 'is the key in force on every node' in p]


def test_a_completed_rekey_to_the_same_key_has_nothing_to_do():
    plan = rekey_plan(facts(nodes={h: node(B) for h in HOSTS}, state=state('done'), new=B))
    assert plan['needed'] is False and plan['old'] == A and plan['new'] == B and plan['problems'] == []


def test_nodes_with_different_keys_are_refused():
    plan = rekey_plan(facts(nodes={'n1': node(A), 'n2': node(C)}, new=B))
    assert [p for p in plan['problems'] if 'different keys (n1=%s, n2=%s)' % (A, C) in p]


def test_a_node_not_running_or_changed_since_its_start_is_refused():
    nodes = {'n1': node(A, running=False), 'n2': node(A)}
    nodes['n2']['key']['proven_by_start'] = False
    problems = rekey_plan(facts(nodes=nodes, new=B))['problems']
    assert [p for p in problems if p.startswith('n1: Looker is not running')]
    assert [p for p in problems if p.startswith('n2: lookerstart.cfg or the key file changed')]


def test_a_node_without_the_marker_or_a_usable_key_is_refused():
    nodes = {'n1': node(A, marker=False), 'n2': {'home_exists': True, 'key': {'error': 'bad base64', 'kind': 'file'}}}
    problems = rekey_plan(facts(nodes=nodes, new=B))['problems']
    assert [p for p in problems if p.startswith('n1: carries no AES-GCM-256 marker')]
    assert [p for p in problems if p.startswith('n2: lookerstart.cfg gives Looker a local key (file) that cannot be used')]


# ---------------------------------------------------------------- resume of a rekey that Looker may have run


@pytest.mark.parametrize('kind', ['running', 'done'])
def test_a_resume_goes_to_the_recorded_key(kind):
    plan = rekey_plan(facts(nodes=down(A), state=state(kind, run_id='run-2'), new=B))
    assert plan['problems'] == [] and plan['resumes'] == 'run-2' and plan['needed']
    assert plan['old'] == A and plan['new'] == B


@pytest.mark.parametrize('kind', ['running', 'done'])
def test_a_resume_without_the_next_escrow_is_refused_and_never_generates(kind):
    plan = rekey_plan(facts(nodes=down(A), state=state(kind, run_id='run-2'), generated=True))
    (problem,) = plan['problems']
    assert B in problem and NEXT in problem and 'never generates a key' in problem
    assert 'lookerops.encryption.rollback -e lookerops_run_id=run-2' in problem
    assert plan['new'] == B


@pytest.mark.parametrize('kind', ['running', 'done'])
def test_a_resume_towards_another_key_is_refused(kind):
    plan = rekey_plan(facts(nodes=down(A), state=state(kind, run_id='run-2'), new=C))
    (problem,) = plan['problems']
    assert 'names the new key %s; a resumed rekey goes only to %s' % (C, B) in problem and NEXT in problem


def test_a_resume_whose_key_settings_fail_on_the_controller_still_names_the_recorded_key():
    plan = rekey_plan(facts(nodes=down(A), state=state('done', run_id='run-2'), new_local={'failed': True, 'msg': 'differs'}))
    (problem,) = plan['problems']
    assert 'a resumed rekey goes only to %s' % B in problem and NEXT in problem


def test_a_resume_towards_kms_instead_of_the_recorded_local_key_is_refused():
    plan = rekey_plan(facts(nodes=down(A), state=state('done', run_id='run-2'), new_kind='aws_kms'))
    assert [p for p in plan['problems'] if 'a resumed rekey goes only to %s' % B in p]


def test_a_resume_of_a_kms_rekey_without_its_settings_is_refused():
    plan = rekey_plan(facts(nodes=down(A), state=state('running', run_id='run-2', destination=KMS), generated=True))
    (problem,) = plan['problems']
    assert 'lookerops_aws_cmk_alias' in problem and KMS in problem


def test_a_resume_whose_nodes_hold_a_third_key_is_refused():
    plan = rekey_plan(facts(nodes=down(C), state=state('running', run_id='run-2'), new=B))
    assert [p for p in plan['problems'] if 'neither key of that rekey' in p and C in p]


def test_a_resume_after_the_nodes_got_the_new_key_but_did_not_start_starts_them():
    plan = rekey_plan(facts(nodes=down(B), state=state('done', run_id='run-2'), new=B))
    assert plan['problems'] == [] and plan['needed'] and plan['resumes'] == 'run-2'


def test_a_resume_after_the_start_only_retires_the_old_key():
    plan = rekey_plan(facts(nodes={h: node(B) for h in HOSTS}, state=state('done', run_id='run-2'), new=B))
    assert plan['problems'] == [] and plan['needed'] is False and plan['old'] == A and plan['new'] == B


def test_a_resume_of_a_rekey_that_looker_refused_keeps_its_new_key():
    plan = rekey_plan(facts(state=state('refused', run_id='run-2'), generated=True))
    (problem,) = plan['problems']
    assert B in problem and NEXT in problem and 'without lookerops_run_id' in problem
    plan = rekey_plan(facts(state=state('refused', run_id='run-2'), new=C))
    assert [p for p in plan['problems'] if 'names %s' % C in p]
    plan = rekey_plan(facts(state=state('refused', run_id='run-2'), new=B))
    assert plan['problems'] == [] and plan['new'] == B and plan['resumes'] is None


# ---------------------------------------------------------------- another run meets an earlier rekey


def test_an_unfinished_rekey_of_another_run_is_refused():
    plan = rekey_plan(facts(nodes=down(A), state=state('running'), new=B))
    assert [p for p in plan['problems'] if 'did not complete (run run-1)' in p]


def test_a_completed_rekey_whose_nodes_did_not_get_the_new_key_is_refused_without_its_run_id():
    plan = rekey_plan(facts(state=state('done'), generated=True))
    (problem,) = plan['problems']
    assert 'the data is under %s' % B in problem and '-e lookerops_run_id=run-1' in problem and NEXT in problem


def test_a_new_rekey_after_a_completed_one_starts_from_its_new_key():
    plan = rekey_plan(facts(nodes={h: node(B) for h in HOSTS}, state=state('done'), new=C))
    assert plan['problems'] == [] and plan['old'] == B and plan['new'] == C and plan['needed']


def test_a_refused_rekey_of_another_run_does_not_hold_a_new_run():
    plan = rekey_plan(facts(state=state('refused'), new=C))
    assert plan['problems'] == [] and plan['new'] == C


# ---------------------------------------------------------------- escrows and settings


def test_a_new_local_key_needs_a_vault_escrow():
    plan = rekey_plan(facts(escrow='aws_secretsmanager', new=B))
    assert [p for p in plan['problems'] if 'lookerops_cmk_escrow is aws_secretsmanager' in p]


def test_a_local_old_key_needs_an_escrow_to_leave_the_nodes():
    plan = rekey_plan(facts(escrow='none', new_kind='aws_kms', new_local={'skipped': True}))
    assert [p for p in plan['problems'] if 'lookerops_cmk_escrow is none' in p]


def test_a_local_old_key_may_go_to_secrets_manager():
    plan = rekey_plan(facts(escrow='aws_secretsmanager', new_kind='aws_kms', new_local={'skipped': True}))
    assert plan['problems'] == []


@pytest.mark.parametrize('names', [
    {'LKR_AWS_CMK': {'destination': 'LD_PRELOAD'}},
    {'LKR_AWS_CMK': {'destination': 'lkr_aws_cmk_new'}},
    {'LKR_AWS_CMK': {'destination': 'LKR_AWS_CMK; rm -rf /'}},
    {'LKR_AWS_CMK': {'destination': 'LKR_MASTER_KEY_ENV'}},
    {'LKR_AWS_CMK': {'target': 'LKR_AWS_CMK_NEW'}},
    {'LKR_AWS_CMK': 'LKR_AWS_CMK_NEW'},
    {'PATH': {'source': 'LKR_PATH_SOURCE'}},
    {'LKR_AWS_CMK': {'destination': 'LKR_AWS_CMK_SOURCE'}},
    ['LKR_AWS_CMK'],
])
def test_bad_variable_names_are_refused(names):
    plan = rekey_plan(facts(new=B, variable_names=names))
    assert [p for p in plan['problems'] if p.startswith('settings: lookerops_rekey_variable_names: ')], plan['problems']


def test_good_variable_names_pass():
    names = {'LKR_AWS_CMK': {'source': 'LKR_AWS_CMK_OLD', 'destination': 'LKR_AWS_CMK_NEW'}, 'AWS_REGION': {'destination': 'AWS_REGION'}}
    assert rekey_plan(facts(new=B, variable_names=names))['problems'] == []
