# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of lk_rds_snapshot through main(), against moto's in-process RDS (mock_aws)."""

from __future__ import annotations

import boto3
import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils._aws import common as aws_common
from ansible_collections.lookerops.encryption.plugins.module_utils._aws import waiters as aws_waiters
from ansible_collections.lookerops.encryption.plugins.module_utils._aws import rds as aws_rds
from ansible_collections.lookerops.encryption.plugins.modules import lk_rds_snapshot
from ansible_collections.lookerops.encryption.tests.unit.plugins.modules.utils import run_main_json

INSTANCE = 'looker-backend'
RUN_ID = '20261128T022747Z'
SNAPSHOT = 'lookerops-20261128t022747z'

pytestmark = pytest.mark.usefixtures('aws_env')


@pytest.fixture
def rds():
    client = boto3.client('rds', region_name='us-east-1')
    client.create_db_instance(DBInstanceIdentifier=INSTANCE, DBInstanceClass='db.t3.micro', Engine='mysql', MasterUsername='looker',
                              MasterUserPassword='not-a-real-password-1', AllocatedStorage=20)
    return client


def run_module(capsys, **args):
    args.setdefault('run_id', RUN_ID)
    return run_main_json(lk_rds_snapshot, capsys, args)


def manual_snapshots(rds):
    return sorted(s['DBSnapshotIdentifier'] for s in rds.describe_db_snapshots(SnapshotType='manual')['DBSnapshots'])


@pytest.mark.parametrize('run_id, expected', [
    ('20261128T022747Z', 'lookerops-20261128t022747z'),
    ('my_run.1', 'lookerops-my-run-1'),
    ('a--b-', 'lookerops-a-b'),
])
def test_snapshot_id_for(run_id, expected):
    assert aws_rds.snapshot_id_for(run_id) == expected


def test_check_then_create_then_rerun_adopts(capsys, rds):
    check = run_module(capsys, db_instance_identifier=INSTANCE, _ansible_check_mode=True)
    assert check['changed'] is True and check['created'] is True and check['snapshot_arn'] is None and manual_snapshots(rds) == []
    first = run_module(capsys, db_instance_identifier=INSTANCE)
    assert first['changed'] is True and first['created'] is True and first['adopted'] is False
    assert first['snapshot_id'] == SNAPSHOT and first['status'] == 'available' and first['engine'] == 'mysql'
    snap = rds.describe_db_snapshots(DBSnapshotIdentifier=SNAPSHOT)['DBSnapshots'][0]
    tags = aws_common.tags_dict(rds.list_tags_for_resource(ResourceName=snap['DBSnapshotArn'])['TagList'])
    assert tags[aws_common.TAG_RUN_ID] == RUN_ID and first['snapshot_arn'] == snap['DBSnapshotArn']
    again = run_module(capsys, db_instance_identifier=INSTANCE)
    assert again['changed'] is False and again['adopted'] is True and again['created'] is False
    assert manual_snapshots(rds) == [SNAPSHOT]
    other_run = run_module(capsys, db_instance_identifier=INSTANCE, run_id='another-run')
    assert other_run['created'] is True and manual_snapshots(rds) == sorted(['lookerops-another-run', SNAPSHOT])


def test_rerun_finds_snapshot_by_tag(capsys, rds):
    rds.create_db_snapshot(DBSnapshotIdentifier='taken-by-hand', DBInstanceIdentifier=INSTANCE,
                           Tags=[{'Key': aws_common.TAG_RUN_ID, 'Value': RUN_ID}])
    result = run_module(capsys, db_instance_identifier=INSTANCE)
    assert result['changed'] is False and result['adopted'] is True and result['snapshot_id'] == 'taken-by-hand'
    assert manual_snapshots(rds) == ['taken-by-hand']


def test_snapshot_id_of_another_instance_refused(capsys, rds):
    rds.create_db_instance(DBInstanceIdentifier='other-db', DBInstanceClass='db.t3.micro', Engine='mysql', MasterUsername='x',
                           MasterUserPassword='not-a-real-password-2', AllocatedStorage=20)
    rds.create_db_snapshot(DBSnapshotIdentifier=SNAPSHOT, DBInstanceIdentifier='other-db')
    result = run_module(capsys, db_instance_identifier=INSTANCE)
    assert result['failed'] is True and 'snapshot of the instance other-db' in result['msg']


def test_derived_from_rds_host(capsys, rds):
    result = run_module(capsys, db_host='looker-backend.c9akciq32abc.us-east-1.rds.amazonaws.com')
    assert result['db_instance_identifier'] == INSTANCE and result['region'] == 'us-east-1' and result['created'] is True
    assert manual_snapshots(rds) == [SNAPSHOT]


@pytest.mark.parametrize('args, fragment', [
    ({'db_host': 'mysql.internal.example'}, 'is not an RDS instance endpoint'),
    ({'db_host': 'looker.cluster-c9akciq32abc.us-east-1.rds.amazonaws.com'}, 'Aurora cluster endpoint'),
    ({'db_host': 'looker-backend.c9akciq32abc.eu-west-1.rds.amazonaws.com', 'region': 'us-east-1'}, 'differs from the region'),
    ({'db_host': 'looker-backend.c9akciq32abc.us-east-1.rds.amazonaws.com', 'db_instance_identifier': 'x'}, 'does not match'),
    ({'db_instance_identifier': 'missing-db'}, 'No RDS DB instance missing-db in region us-east-1'),
    ({'db_instance_identifier': INSTANCE, 'snapshot_identifier': '9-starts-with-digit'}, 'not a valid RDS identifier'),
])
def test_bad_inputs(capsys, rds, args, fragment):
    result = run_module(capsys, **args)
    assert result['failed'] is True and fragment in result['msg'] and manual_snapshots(rds) == []


def test_restore_to_new_instance(capsys, rds):
    missing = run_module(capsys, db_instance_identifier=INSTANCE, state='restored', restore_instance_identifier='looker-restored')
    assert missing['failed'] is True and 'nothing to restore' in missing['msg']
    run_module(capsys, db_instance_identifier=INSTANCE)
    same = run_module(capsys, db_instance_identifier=INSTANCE, state='restored', restore_instance_identifier=INSTANCE)
    assert same['failed'] is True and 'never overwrites' in same['msg']
    check = run_module(capsys, db_instance_identifier=INSTANCE, state='restored', restore_instance_identifier='looker-restored',
                       _ansible_check_mode=True)
    assert check['changed'] is True and check['restored']['created'] is True
    assert [i['DBInstanceIdentifier'] for i in rds.describe_db_instances()['DBInstances']] == [INSTANCE]
    restored = run_module(capsys, db_instance_identifier=INSTANCE, state='restored', restore_instance_identifier='looker-restored',
                          restore_instance_class='db.t3.small')
    assert restored['changed'] is True and restored['restored']['created'] is True and restored['restored']['status'] == 'available'
    assert restored['adopted'] is True and restored['created'] is False
    inst = rds.describe_db_instances(DBInstanceIdentifier='looker-restored')['DBInstances'][0]
    assert inst['DBInstanceClass'] == 'db.t3.small' and restored['restored']['arn'] == inst['DBInstanceArn']
    assert aws_common.tags_dict(rds.list_tags_for_resource(ResourceName=inst['DBInstanceArn'])['TagList'])[aws_common.TAG_RESTORED_FROM] == SNAPSHOT
    again = run_module(capsys, db_instance_identifier=INSTANCE, state='restored', restore_instance_identifier='looker-restored')
    assert again['changed'] is False and again['restored']['adopted'] is True
    assert rds.describe_db_instances(DBInstanceIdentifier=INSTANCE)['DBInstances'][0]['DBInstanceStatus'] == 'available'
    assert manual_snapshots(rds) == [SNAPSHOT]


def test_restore_refuses_foreign_existing_instance(capsys, rds):
    run_module(capsys, db_instance_identifier=INSTANCE)
    rds.create_db_instance(DBInstanceIdentifier='looker-restored', DBInstanceClass='db.t3.micro', Engine='mysql', MasterUsername='x',
                           MasterUserPassword='not-a-real-password-3', AllocatedStorage=20)
    result = run_module(capsys, db_instance_identifier=INSTANCE, state='restored', restore_instance_identifier='looker-restored')
    assert result['failed'] is True and 'is never overwritten' in result['msg']


def test_failed_snapshot_stops_the_wait(capsys, rds, monkeypatch):
    """moto makes snapshots available at once: pretend RDS says 'creating', then 'failed'."""
    statuses = ['creating', 'failed']
    original = aws_rds.RdsSnapshotBackend.rds

    def rds_call(self, operation, absent_codes=(), **kwargs):
        answer = original(self, operation, absent_codes=absent_codes, **kwargs)
        if operation == 'CreateDBSnapshot':
            answer['DBSnapshot']['Status'] = statuses.pop(0)
        elif operation == 'DescribeDBSnapshots' and answer and not statuses:
            answer['DBSnapshots'][0]['Status'] = 'failed'
        elif operation == 'DescribeDBSnapshots' and answer and kwargs.get('DBSnapshotIdentifier') and len(statuses) == 1:
            answer['DBSnapshots'][0]['Status'] = statuses.pop(0)
        return answer
    sleeps = []
    monkeypatch.setattr(aws_rds.RdsSnapshotBackend, 'rds', rds_call)
    monkeypatch.setattr(aws_waiters.time, 'sleep', sleeps.append)
    result = run_module(capsys, db_instance_identifier=INSTANCE)
    assert result['failed'] is True and result['aws_error_code'] == 'SnapshotFailed' and 'as failed' in result['msg']
    assert sleeps == []


def test_creating_snapshot_is_waited_for(capsys, rds, monkeypatch):
    polls = []
    original = aws_rds.RdsSnapshotBackend.rds

    def rds_call(self, operation, absent_codes=(), **kwargs):
        answer = original(self, operation, absent_codes=absent_codes, **kwargs)
        if operation == 'CreateDBSnapshot':
            answer['DBSnapshot']['Status'] = 'creating'
        elif operation == 'DescribeDBSnapshots' and kwargs.get('DBSnapshotIdentifier') and answer and answer['DBSnapshots']:
            polls.append(1)
            if len(polls) < 3:  # two polls say 'creating', the third 'available'
                answer['DBSnapshots'][0]['Status'] = 'creating'
        return answer
    sleeps = []
    monkeypatch.setattr(aws_rds.RdsSnapshotBackend, 'rds', rds_call)
    monkeypatch.setattr(aws_waiters.time, 'sleep', sleeps.append)
    result = run_module(capsys, db_instance_identifier=INSTANCE, wait_timeout=600)
    assert result['status'] == 'available' and result['created'] is True and len(sleeps) == 2 and all(0 < s <= 600 for s in sleeps)
