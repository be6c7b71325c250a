# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the lk_rekey module against a fake Looker home: the variables the task gets, the state file that makes a
resumed run safe, the refusals, and that no key text leaves the module."""

from __future__ import annotations

import base64
import hashlib
import json
import os

from ansible_collections.lookerops.encryption.plugins.module_utils._key_material import kcv_of_text
from ansible_collections.lookerops.encryption.plugins.modules import lk_rekey
from ansible_collections.lookerops.encryption.tests.unit.plugins.modules.utils import common, run_main

OLD = 'A' * 43 + '='          # the fake home's key file holds this key
NEW = base64.b64encode(hashlib.sha256(b'new key').digest()).decode()
OTHER = base64.b64encode(hashlib.sha256(b'other key').digest()).decode()


def digest(text):
    return hashlib.sha256(text.encode()).hexdigest()


def rekey_args(fake, tmp_path, key=NEW, **kwargs):
    args = common(fake, new_key_source='local', key=key, state_path=str(tmp_path / 'rekey.json'), run_id='run-1',
                  retry_delay=0.01)
    args.update(kwargs)
    return args


def rekey_calls(fake):
    return [c for c in fake.calls() if 'rekey' in c['argv']]


def state(tmp_path):
    with open(str(tmp_path / 'rekey.json')) as handle:
        return json.load(handle)


def assert_no_key_text(res):
    text = json.dumps(res)
    assert OLD not in text and NEW not in text and OTHER not in text


def test_local_to_local_uses_the_documented_pair_only_in_the_environment(fake, tmp_path, monkeypatch):
    res = run_main(lk_rekey, rekey_args(fake, tmp_path), monkeypatch)
    assert res['changed'] and res['task_ran'] and not res.get('failed'), res
    assert res['source'] == kcv_of_text(OLD) and res['destination'] == kcv_of_text(NEW)
    assert res['variables'] == ['LKR_MASTER_KEY_ENV_DESTINATION', 'LKR_MASTER_KEY_ENV_SOURCE'] and res['inferred_variables'] == []
    (call,) = rekey_calls(fake)
    # the keys arrive in the environment, under the documented names; the plain key settings are removed
    assert call['rekey_env'] == {'LKR_MASTER_KEY_ENV_SOURCE': digest(OLD), 'LKR_MASTER_KEY_ENV_DESTINATION': digest(NEW)}
    assert call['key_file'] is None and call['key_env_set'] is False
    assert not [a for a in call['argv'] if OLD in a or NEW in a]
    assert_no_key_text(res)
    st = state(tmp_path)
    assert st['state'] == 'done' and st['source'] == kcv_of_text(OLD) and st['destination'] == kcv_of_text(NEW)
    assert oct(os.stat(str(tmp_path / 'rekey.json')).st_mode & 0o777) == '0o600'
    # run again: the state file says it is done, nothing runs
    res = run_main(lk_rekey, rekey_args(fake, tmp_path), monkeypatch)
    assert res['changed'] is False and res['already_rekeyed'] and len(rekey_calls(fake)) == 1


def test_check_mode_runs_nothing(fake, tmp_path, monkeypatch):
    res = run_main(lk_rekey, rekey_args(fake, tmp_path), monkeypatch, check_mode=True)
    assert res['changed'] and rekey_calls(fake) == [] and not os.path.exists(str(tmp_path / 'rekey.json'))


def test_live_nodes_are_retried(fake, tmp_path, monkeypatch):
    fake.configure(rekey='live', live_failures=2)
    res = run_main(lk_rekey, rekey_args(fake, tmp_path, retries=3), monkeypatch)
    assert res['changed'] and [a['live_nodes'] for a in res['attempts']] == [True, True, False]


def test_live_nodes_to_the_end_change_nothing(fake, tmp_path, monkeypatch):
    fake.configure(rekey='live', live_failures=9)
    res = run_main(lk_rekey, rekey_args(fake, tmp_path, retries=1), monkeypatch)
    assert res['failed'] and res['task_ran'] is False and 'live nodes' in res['msg']
    assert state(tmp_path)['state'] == 'refused'


def test_a_crashed_rekey_is_resumed_only_towards_the_same_key(fake, tmp_path, monkeypatch):
    fake.configure(rekey='crash')
    res = run_main(lk_rekey, rekey_args(fake, tmp_path), monkeypatch)
    assert res['failed'] and res['task_ran'] and 'rc 137' in res['msg']
    assert state(tmp_path)['state'] == 'running'
    assert_no_key_text(res)
    fake.configure()
    res = run_main(lk_rekey, rekey_args(fake, tmp_path, key=OTHER), monkeypatch)
    assert res['failed'] and 'did not complete' in res['msg'] and 'roll it back' in res['msg']
    assert len(rekey_calls(fake)) == 1
    res = run_main(lk_rekey, rekey_args(fake, tmp_path), monkeypatch)
    assert res['changed'] and state(tmp_path)['state'] == 'done' and len(rekey_calls(fake)) == 2


def test_a_completed_rekey_is_never_followed_by_one_from_the_key_the_node_still_names(fake, tmp_path, monkeypatch):
    # rekey A -> NEW completed; the run died before the nodes got NEW. A run towards OTHER would rekey A -> OTHER over data
    # under NEW: refused, and the state file (the only record that the data is under NEW) stays as it was.
    res = run_main(lk_rekey, rekey_args(fake, tmp_path), monkeypatch)
    assert res['changed'] and state(tmp_path)['state'] == 'done'
    before = state(tmp_path)
    res = run_main(lk_rekey, rekey_args(fake, tmp_path, key=OTHER, run_id='run-2'), monkeypatch)
    assert res['failed'] and 'the data is under %s' % kcv_of_text(NEW) in res['msg'] and 'lookerops_run_id=run-1' in res['msg']
    assert state(tmp_path) == before and len(rekey_calls(fake)) == 1
    assert_no_key_text(res)


def test_refusals_before_the_task_runs(fake, tmp_path, monkeypatch):
    res = run_main(lk_rekey, rekey_args(fake, tmp_path, expected_source='kcv1:0000000000000000'), monkeypatch)
    assert res['failed'] and 'changed since preflight' in res['msg']
    res = run_main(lk_rekey, rekey_args(fake, tmp_path, key='not a key'), monkeypatch)
    assert res['failed'] and 'not a valid CMK' in res['msg']
    res = run_main(lk_rekey, rekey_args(fake, tmp_path, key=None), monkeypatch)
    assert res['failed'] and 'action plugin' in res['msg']
    assert rekey_calls(fake) == []


def test_the_new_key_already_in_force_runs_nothing(fake, tmp_path, monkeypatch):
    res = run_main(lk_rekey, rekey_args(fake, tmp_path, key=OLD + '\n', state_path=None), monkeypatch)
    # without a state file the key in force is the only evidence: it is the new key, nothing to do
    assert res['changed'] is False and res['already_rekeyed'] and rekey_calls(fake) == []


def test_local_to_kms_names_the_inferred_variables(fake, tmp_path, monkeypatch):
    res = run_main(lk_rekey, rekey_args(fake, tmp_path, key=None, new_key_source='aws_kms', aws_region='eu-west-1',
                                        aws_cmk='alias/looker'), monkeypatch)
    assert res['changed'] and res['destination'] == 'kms:eu-west-1/alias/looker/Looker_Encryption_Context'
    assert res['inferred_variables'] == ['AWS_REGION_DESTINATION', 'LKR_AWS_CMK_DESTINATION']
    (call,) = rekey_calls(fake)
    assert set(call['rekey_env']) == {'LKR_MASTER_KEY_ENV_SOURCE', 'AWS_REGION_DESTINATION', 'LKR_AWS_CMK_DESTINATION'}
    # which region name the release reads is not documented: the one region also goes as plain AWS_REGION
    assert call['aws_region'] == 'eu-west-1'
