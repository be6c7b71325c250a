# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of lk_iam_role through main(), against moto's in-process IAM (mock_aws)."""

from __future__ import annotations

import json
import os

import boto3
import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils._aws import iam as aws_iam
from ansible_collections.lookerops.encryption.plugins.modules import lk_iam_role
from ansible_collections.lookerops.encryption.tests.unit.plugins.modules.utils import run_main_json

ROLE = 'looker-unit-nodes'

pytestmark = pytest.mark.usefixtures('aws_env')


@pytest.fixture
def iam():
    return boto3.client('iam', region_name='us-east-1')


@pytest.fixture
def key_arn():
    return boto3.client('kms', region_name='us-east-1').create_key()['KeyMetadata']['Arn']


def run_module(capsys, **args):
    args.setdefault('name', ROLE)
    return run_main_json(lk_iam_role, capsys, args)


def test_inline_create_idempotent_and_check(capsys, iam, key_arn):
    check = run_module(capsys, key_arn=key_arn, _ansible_check_mode=True)
    assert check['changed'] is True and check['role_created'] is True and check['role_arn'] is None
    assert [r['RoleName'] for r in iam.list_roles()['Roles']] == []
    first = run_module(capsys, key_arn=key_arn, _ansible_diff=True)
    assert first['changed'] is True and first['role_created'] is True and first['policy_changed'] is True
    assert first['diff']['before']['role_exists'] is False
    document = iam.get_role_policy(RoleName=ROLE, PolicyName='lookerops-looker-cmk')['PolicyDocument']
    assert aws_iam.policies_equal(document, aws_iam.looker_kms_policy(key_arn))
    statements = {s['Sid']: s for s in document['Statement']}
    assert statements['LookerGenerateRandom']['Resource'] == '*' and statements['LookerUseCmk']['Resource'] == key_arn
    assert sorted(statements['LookerUseCmk']['Action']) == ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey']
    trust = iam.get_role(RoleName=ROLE)['Role']['AssumeRolePolicyDocument']
    assert trust['Statement'][0]['Principal'] == {'Service': 'ec2.amazonaws.com'}
    assert run_module(capsys, key_arn=key_arn)['changed'] is False
    assert run_module(capsys, key_arn=key_arn, _ansible_check_mode=True)['changed'] is False


def test_semantically_equal_policy_is_unchanged(capsys, iam, key_arn):
    run_module(capsys, key_arn=key_arn)
    reordered = {'Version': '2012-10-17', 'Statement': [
        {'Sid': 'LookerUseCmk', 'Effect': 'Allow', 'Resource': [key_arn],
         'Action': ['KMS:GenerateDataKey', 'kms:DescribeKey', 'kms:Decrypt', 'kms:Encrypt']},
        {'Sid': 'LookerGenerateRandom', 'Effect': 'Allow', 'Action': ['kms:GenerateRandom'], 'Resource': '*'},
    ]}
    iam.put_role_policy(RoleName=ROLE, PolicyName='lookerops-looker-cmk', PolicyDocument=json.dumps(reordered))
    assert run_module(capsys, key_arn=key_arn)['changed'] is False


def test_drift_is_repaired(capsys, iam, key_arn):
    run_module(capsys, key_arn=key_arn)
    wide = aws_iam.looker_kms_policy('arn:aws:kms:*:*:key/*')
    iam.put_role_policy(RoleName=ROLE, PolicyName='lookerops-looker-cmk', PolicyDocument=json.dumps(wide))
    iam.update_assume_role_policy(RoleName=ROLE, PolicyDocument=json.dumps(aws_iam.trust_policy_for(['ecs-tasks.amazonaws.com'])))
    check = run_module(capsys, key_arn=key_arn, _ansible_check_mode=True)
    assert check['changed'] is True and check['policy_changed'] is True
    assert not aws_iam.policies_equal(iam.get_role_policy(RoleName=ROLE, PolicyName='lookerops-looker-cmk')['PolicyDocument'],
                                      aws_iam.looker_kms_policy(key_arn))
    fixed = run_module(capsys, key_arn=key_arn)
    assert fixed['changed'] is True
    assert aws_iam.policies_equal(iam.get_role_policy(RoleName=ROLE, PolicyName='lookerops-looker-cmk')['PolicyDocument'],
                                  aws_iam.looker_kms_policy(key_arn))
    assert iam.get_role(RoleName=ROLE)['Role']['AssumeRolePolicyDocument']['Statement'][0]['Principal']['Service'] == 'ec2.amazonaws.com'


def test_managed_policy_and_instance_profile(capsys, iam, key_arn):
    first = run_module(capsys, key_arn=key_arn, policy_type='managed', instance_profile=True)
    assert first['changed'] is True and first['policy_arn'].endswith(':policy/lookerops-looker-cmk')
    attached = [p['PolicyArn'] for p in iam.list_attached_role_policies(RoleName=ROLE)['AttachedPolicies']]
    assert attached == [first['policy_arn']]
    profile = iam.get_instance_profile(InstanceProfileName=ROLE)['InstanceProfile']
    assert [r['RoleName'] for r in profile['Roles']] == [ROLE] and first['instance_profile_arn'] == profile['Arn']
    again = run_module(capsys, key_arn=key_arn, policy_type='managed', instance_profile=True)
    assert again['changed'] is False and again['policy_arn'] == first['policy_arn']
    other_key = boto3.client('kms', region_name='us-east-1').create_key()['KeyMetadata']['Arn']
    for dummy in range(5):  # more versions than IAM keeps: the oldest non-default one goes
        key_arn, other_key = other_key, key_arn
        moved = run_module(capsys, key_arn=key_arn, policy_type='managed', instance_profile=True)
        assert moved['changed'] is True and moved['policy_changed'] is True
    versions = iam.list_policy_versions(PolicyArn=first['policy_arn'])['Versions']
    default = [v for v in versions if v['IsDefaultVersion']][0]
    document = iam.get_policy_version(PolicyArn=first['policy_arn'], VersionId=default['VersionId'])['PolicyVersion']['Document']
    assert len(versions) <= 5 and aws_iam.policies_equal(document, aws_iam.looker_kms_policy(key_arn))


def test_profile_holding_another_role_refused(capsys, iam, key_arn):
    iam.create_role(RoleName='someone-else', AssumeRolePolicyDocument=json.dumps(aws_iam.trust_policy_for(['ec2.amazonaws.com'])))
    iam.create_instance_profile(InstanceProfileName=ROLE)
    iam.add_role_to_instance_profile(InstanceProfileName=ROLE, RoleName='someone-else')
    result = run_module(capsys, key_arn=key_arn, instance_profile=True)
    assert result['failed'] is True and 'holds the role someone-else' in result['msg']


def test_alias_instead_of_arn_refused(capsys, iam):
    result = run_module(capsys, key_arn='alias/looker-cmk')
    assert result['failed'] is True and 'not a KMS key ARN' in result['msg'] and iam.list_roles()['Roles'] == []


def test_docs_policy_template_matches_the_code():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
    with open(os.path.join(root, 'docs', 'iam-policy.json'), encoding='utf-8') as handle:
        template = handle.read()
    arn = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'
    rendered = json.loads(template.replace(aws_iam.KEY_ARN_PLACEHOLDER, arn))
    assert rendered == aws_iam.looker_kms_policy(arn)
