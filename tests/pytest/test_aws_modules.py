# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWS modules run by real ``ansible localhost -m ...`` against a moto server on 127.0.0.1 (never a real AWS endpoint).

The collection is made importable through a temp ANSIBLE_COLLECTIONS_PATH holding a symlink to this checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import boto3
import pytest

from bed.moto import AWS_TEST_ENV, MotoServer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ALIAS = 'alias/looker-pytest-cmk'


def _ansible_bin():
    for candidate in (os.path.join(REPO, '.venv', 'bin'), os.path.dirname(sys.executable)):
        if os.access(os.path.join(candidate, 'ansible'), os.X_OK):
            return os.path.join(candidate, 'ansible')
    raise RuntimeError('ansible not found in the checkout\'s .venv/bin nor beside %s; run tests/scripts/setup.sh' % sys.executable)


@pytest.fixture(scope='module')
def collections_path(tmp_path_factory):
    root = tmp_path_factory.mktemp('aws-collections')
    link = root / 'ansible_collections' / 'lookerops' / 'encryption'
    link.parent.mkdir(parents=True)
    link.symlink_to(REPO)
    return str(root)


@pytest.fixture
def moto(tmp_path):
    """A moto server of our own on a free loopback port, stopped by pid even when the test fails."""
    server = MotoServer(log_file=str(tmp_path / 'moto.log'))
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _env(server, collections, tmp_path, credentials=None):
    env = {name: value for name, value in os.environ.items() if not name.startswith(('AWS_', 'ANSIBLE_'))}
    env.update(AWS_TEST_ENV)
    env.update(credentials or {})
    env.update({
        'AWS_ENDPOINT_URL': server.url,
        'LC_ALL': 'C.UTF-8',
        'ANSIBLE_COLLECTIONS_PATH': collections,
        'ANSIBLE_LOCAL_TEMP': str(tmp_path / 'ansible-local'),
        'ANSIBLE_HOME': str(tmp_path / 'ansible-home'),
        'ANSIBLE_STDOUT_CALLBACK': 'minimal',
        'ANSIBLE_LOAD_CALLBACK_PLUGINS': '1',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_DEPRECATION_WARNINGS': '0',
    })
    return env


def ansible(module, args, server, collections, tmp_path, check=False, credentials=None):
    """Run ``ansible localhost -m lookerops.encryption.<module> -a <json>``; returns (rc, result dict, raw output)."""
    argv = [_ansible_bin(), 'localhost', '-c', 'local', '-m', 'lookerops.encryption.%s' % module, '-a', json.dumps(args)]
    if check:
        argv.append('--check')
    proc = subprocess.run(argv, env=_env(server, collections, tmp_path, credentials), cwd=str(tmp_path), capture_output=True, text=True,
                          timeout=300, check=False)
    out = proc.stdout
    marker = out.find('localhost | ')
    start = out.find('{', marker if marker >= 0 else 0)
    assert start >= 0, 'no module result in the output of %s:\n%s\n%s' % (module, out, proc.stderr)
    return proc.returncode, json.JSONDecoder().raw_decode(out[start:])[0], out + proc.stderr


def client(server, service, credentials=None):
    creds = credentials or {}
    return boto3.client(service, region_name='us-east-1', endpoint_url=server.url,
                        aws_access_key_id=creds.get('AWS_ACCESS_KEY_ID', 'testing'),
                        aws_secret_access_key=creds.get('AWS_SECRET_ACCESS_KEY', 'testing'))


def customer_keys(kms):
    keys = [k['KeyId'] for k in kms.list_keys()['Keys']]
    return [k for k in keys if kms.describe_key(KeyId=k)['KeyMetadata']['KeyManager'] == 'CUSTOMER']


def test_kms_key_create_rerun_check(moto, collections_path, tmp_path):
    kms = client(moto, 'kms')
    check_rc, check, raw = ansible('lk_kms_key', {'alias': ALIAS, 'create': True}, moto, collections_path, tmp_path, check=True)
    assert check_rc == 0 and check['changed'] is True and check['created'] is True, raw
    assert customer_keys(kms) == []
    rc, first, raw = ansible('lk_kms_key', {'alias': ALIAS, 'create': True, 'rotation': True, 'verify': True}, moto, collections_path,
                             tmp_path)
    assert rc == 0 and first['changed'] is True and first['created'] is True and first['verified'] is True, raw
    assert first['state'] == 'Enabled' and first['rotation_enabled'] is True
    assert customer_keys(kms) == [first['key_id']]
    assert kms.describe_key(KeyId=ALIAS)['KeyMetadata']['Arn'] == first['arn']
    rc, second, raw = ansible('lk_kms_key', {'alias': ALIAS, 'create': True, 'rotation': True, 'verify': True}, moto, collections_path,
                              tmp_path)
    assert rc == 0 and second['changed'] is False and second['key_id'] == first['key_id'], raw
    rc, again, raw = ansible('lk_kms_key', {'alias': ALIAS, 'create': True, 'rotation': False}, moto, collections_path, tmp_path,
                             check=True)
    assert rc == 0 and again['changed'] is True and again['rotation_enabled'] is False, raw
    assert kms.get_key_rotation_status(KeyId=first['key_id'])['KeyRotationEnabled'] is True
    assert customer_keys(kms) == [first['key_id']]


def test_iam_role_and_rds_snapshot(moto, collections_path, tmp_path):
    key_arn = client(moto, 'kms').create_key()['KeyMetadata']['Arn']
    args = {'name': 'looker-pytest-nodes', 'key_arn': key_arn, 'instance_profile': True}
    assert ansible('lk_iam_role', args, moto, collections_path, tmp_path, check=True)[1]['changed'] is True
    assert client(moto, 'iam').list_roles()['Roles'] == []
    rc, role, raw = ansible('lk_iam_role', args, moto, collections_path, tmp_path)
    assert rc == 0 and role['changed'] is True and role['instance_profile_arn'], raw
    assert ansible('lk_iam_role', args, moto, collections_path, tmp_path)[1]['changed'] is False

    rds = client(moto, 'rds')
    rds.create_db_instance(DBInstanceIdentifier='looker-backend', DBInstanceClass='db.t3.micro', Engine='mysql', MasterUsername='looker',
                           MasterUserPassword='not-a-real-password-1', AllocatedStorage=20)
    snap_args = {'run_id': '20261128T010203Z', 'db_host': 'looker-backend.abcdef123456.us-east-1.rds.amazonaws.com', 'wait_timeout': 120}
    rc, first, raw = ansible('lk_rds_snapshot', snap_args, moto, collections_path, tmp_path)
    assert rc == 0 and first['created'] is True and first['status'] == 'available', raw
    rc, second, raw = ansible('lk_rds_snapshot', snap_args, moto, collections_path, tmp_path)
    assert rc == 0 and second['changed'] is False and second['adopted'] is True, raw
    snaps = rds.describe_db_snapshots(DBInstanceIdentifier='looker-backend', SnapshotType='manual')['DBSnapshots']
    assert [s['DBSnapshotIdentifier'] for s in snaps] == ['lookerops-20261128t010203z']


IAM_SETUP_CALLS = 8
LIMITED_ACTIONS = ['kms:DescribeKey', 'kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:GetKeyRotationStatus']


def test_verify_names_the_missing_permission(tmp_path, collections_path, monkeypatch):
    """moto enforces IAM after INITIAL_NO_AUTH_ACTION_COUNT requests: a user without kms:GenerateRandom fails verify."""
    monkeypatch.setenv('INITIAL_NO_AUTH_ACTION_COUNT', str(IAM_SETUP_CALLS))
    server = MotoServer(log_file=str(tmp_path / 'moto-iam.log'))
    try:
        server.start()
        monkeypatch.delenv('INITIAL_NO_AUTH_ACTION_COUNT')
        iam, kms = client(server, 'iam'), client(server, 'kms')
        creds = {}
        # Exactly IAM_SETUP_CALLS requests while moto does not check permissions yet.
        for user, actions in (('looker-limited', LIMITED_ACTIONS), ('looker-full', LIMITED_ACTIONS + ['kms:GenerateRandom'])):
            iam.create_user(UserName=user)
            iam.put_user_policy(UserName=user, PolicyName='kms', PolicyDocument=json.dumps(
                {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': actions, 'Resource': '*'}]}))
            key = iam.create_access_key(UserName=user)['AccessKey']
            creds[user] = {'AWS_ACCESS_KEY_ID': key['AccessKeyId'], 'AWS_SECRET_ACCESS_KEY': key['SecretAccessKey']}
        key_id = kms.create_key()['KeyMetadata']['KeyId']
        kms.create_alias(AliasName=ALIAS, TargetKeyId=key_id)

        rc, denied, raw = ansible('lk_kms_key', {'alias': ALIAS, 'verify': True}, server, collections_path, tmp_path,
                                  credentials=creds['looker-limited'])
        assert rc != 0 and 'key_id' not in denied and denied['aws_error_code'] in ('AccessDenied', 'AccessDeniedException'), raw
        assert 'kms:GenerateRandom' in denied['msg'] and denied['aws_iam_action'] == 'kms:GenerateRandom', raw
        assert denied['aws_operation'] == 'GenerateRandom' and 'docs/iam-policy.json' in denied['msg']

        rc, allowed, raw = ansible('lk_kms_key', {'alias': ALIAS, 'verify': True}, server, collections_path, tmp_path,
                                   credentials=creds['looker-full'])
        assert rc == 0 and allowed['verified'] is True and allowed['key_id'] == key_id, raw
    finally:
        server.stop()
