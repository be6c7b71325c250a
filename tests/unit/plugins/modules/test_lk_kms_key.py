# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of lk_kms_key through main(), against moto's in-process KMS (mock_aws)."""

from __future__ import annotations

import json

import boto3
import pytest

from botocore.exceptions import ClientError

from ansible_collections.lookerops.encryption.plugins.module_utils._aws import common as aws_common
from ansible_collections.lookerops.encryption.plugins.module_utils._aws import errors as aws_errors
from ansible_collections.lookerops.encryption.plugins.modules import lk_kms_key
from ansible_collections.lookerops.encryption.tests.unit.plugins.modules.utils import run_main_json

ALIAS = 'alias/looker-unit-cmk'

pytestmark = pytest.mark.usefixtures('aws_env')


@pytest.fixture
def kms():
    return boto3.client('kms', region_name='us-east-1')


def run_module(capsys, **args):
    args.setdefault('alias', ALIAS)
    return run_main_json(lk_kms_key, capsys, args)


def customer_keys(kms):
    return [k['KeyId'] for k in kms.list_keys()['Keys'] if kms.describe_key(KeyId=k['KeyId'])['KeyMetadata']['KeyManager'] == 'CUSTOMER']


def test_missing_alias_without_create_fails(capsys, kms):
    result = run_module(capsys)
    assert result['failed'] is True and 'No KMS key has the alias %s in region us-east-1' % ALIAS in result['msg']
    assert result['aws_error_code'] == 'NotFoundException' and customer_keys(kms) == []


def test_create_then_unchanged_then_check(capsys, kms):
    first = run_module(capsys, create=True, cluster='prod', tags={'team': 'bi'}, _ansible_diff=True)
    assert first['changed'] is True and first['created'] is True and first['adopted'] is False
    assert first['state'] == 'Enabled' and first['key_spec'] == 'SYMMETRIC_DEFAULT' and first['key_usage'] == 'ENCRYPT_DECRYPT'
    assert first['alias'] == ALIAS and first['region'] == 'us-east-1' and first['rotation_enabled'] is False
    assert first['looker_env'] == {'AWS_REGION': 'us-east-1', 'LKR_AWS_CMK': ALIAS, 'LKR_AWS_CMK_EC': 'Looker_Encryption_Context'}
    assert first['diff']['before']['exists'] is False and first['diff']['after']['key_id'] == first['key_id']
    tags = aws_common.tags_dict(kms.list_resource_tags(KeyId=first['key_id'])['Tags'])
    assert tags == {'lookerops:cluster': 'prod', 'lookerops:alias': ALIAS, 'lookerops:managed-by': 'lookerops.encryption', 'team': 'bi'}
    assert kms.describe_key(KeyId=ALIAS)['KeyMetadata']['KeyId'] == first['key_id']
    second = run_module(capsys, create=True, alias='looker-unit-cmk')
    assert second['changed'] is False and second['key_id'] == first['key_id'] and second['created'] is False
    check = run_module(capsys, create=True, _ansible_check_mode=True)
    assert check['changed'] is False and check['key_id'] == first['key_id']
    assert customer_keys(kms) == [first['key_id']]


def test_check_mode_creates_nothing(capsys, kms):
    result = run_module(capsys, create=True, verify=True, rotation=True, _ansible_check_mode=True)
    assert result['changed'] is True and result['created'] is True and result['key_id'] is None and result['verified'] is False
    assert result['rotation_enabled'] is True
    assert any('verify skipped' in w for w in result['notes'])
    assert customer_keys(kms) == [] and ALIAS not in [a['AliasName'] for a in kms.list_aliases()['Aliases']]


def _fail_create_alias(monkeypatch):
    original = aws_common.AwsConnection.call

    def call(self, service, operation, remedy=None, absent_codes=(), **kwargs):
        if operation == 'CreateAlias':
            error = ClientError({'Error': {'Code': 'AccessDeniedException', 'Message': 'User: arn:aws:iam::123456789012:user/ops is not '
                                           'authorized to perform: kms:CreateAlias on resource: %s' % ALIAS}}, 'CreateAlias')
            raise aws_errors.map_aws_error(error, operation, service)
        return original(self, service, operation, remedy=remedy, absent_codes=absent_codes, **kwargs)
    monkeypatch.setattr(aws_common.AwsConnection, 'call', call)


def test_orphan_from_failed_alias_call_is_adopted(capsys, kms, monkeypatch):
    with monkeypatch.context() as patch:
        _fail_create_alias(patch)
        failed = run_module(capsys, create=True)
    assert failed['failed'] is True and 'kms:CreateAlias' in failed['msg'] and 'the next run adopts it' in failed['msg']
    assert failed['aws_error_code'] == 'AccessDeniedException' and failed['aws_iam_action'] == 'kms:CreateAlias'
    orphans = customer_keys(kms)
    assert len(orphans) == 1 and ALIAS not in [a['AliasName'] for a in kms.list_aliases()['Aliases']]
    check = run_module(capsys, create=True, _ansible_check_mode=True)
    assert check['changed'] is True and check['adopted'] is True and check['key_id'] == orphans[0]
    assert ALIAS not in [a['AliasName'] for a in kms.list_aliases()['Aliases']]
    adopted = run_module(capsys, create=True)
    assert adopted['changed'] is True and adopted['adopted'] is True and adopted['created'] is False and adopted['key_id'] == orphans[0]
    assert customer_keys(kms) == orphans and kms.describe_key(KeyId=ALIAS)['KeyMetadata']['KeyId'] == orphans[0]
    assert run_module(capsys, create=True)['changed'] is False


def test_orphan_with_other_alias_or_other_tag_not_adopted(capsys, kms):
    other = kms.create_key(Tags=[{'TagKey': 'lookerops:alias', 'TagValue': 'alias/someone-else'}])['KeyMetadata']['KeyId']
    aliased = kms.create_key(Tags=[{'TagKey': 'lookerops:alias', 'TagValue': ALIAS}])['KeyMetadata']['KeyId']
    kms.create_alias(AliasName='alias/renamed', TargetKeyId=aliased)
    result = run_module(capsys, create=True)
    assert result['created'] is True and result['key_id'] not in (other, aliased)
    assert any(aliased in w and 'alias/renamed' in w for w in result['notes'])


def test_disabled_orphan_gets_no_alias(capsys, kms):
    key_id = kms.create_key(Tags=[{'TagKey': 'lookerops:alias', 'TagValue': ALIAS}])['KeyMetadata']['KeyId']
    kms.disable_key(KeyId=key_id)
    result = run_module(capsys, create=True)
    assert result['failed'] is True and 'is Disabled' in result['msg'] and customer_keys(kms) == [key_id]
    assert ALIAS not in [a['AliasName'] for a in kms.list_aliases()['Aliases']]


def test_two_orphans_refused(capsys, kms):
    for dummy in range(2):
        kms.create_key(Tags=[{'TagKey': 'lookerops:alias', 'TagValue': ALIAS}])
    result = run_module(capsys, create=True)
    assert result['failed'] is True and result['aws_error_code'] == 'AmbiguousOrphans' and '2 keys are tagged' in result['msg']
    assert len(customer_keys(kms)) == 2


def test_rotation_enable_disable(capsys, kms):
    run_module(capsys, create=True)
    enabled = run_module(capsys, rotation=True)
    key_id = enabled['key_id']
    assert enabled['changed'] is True and enabled['rotation_enabled'] is True
    assert kms.get_key_rotation_status(KeyId=key_id)['KeyRotationEnabled'] is True
    assert run_module(capsys, rotation=True)['changed'] is False
    check = run_module(capsys, rotation=False, _ansible_check_mode=True)
    assert check['changed'] is True and check['rotation_enabled'] is False
    assert kms.get_key_rotation_status(KeyId=key_id)['KeyRotationEnabled'] is True
    disabled = run_module(capsys, rotation=False)
    assert disabled['changed'] is True and kms.get_key_rotation_status(KeyId=key_id)['KeyRotationEnabled'] is False


def test_disabled_key_refused(capsys, kms):
    key_id = kms.create_key()['KeyMetadata']['KeyId']
    kms.create_alias(AliasName=ALIAS, TargetKeyId=key_id)
    kms.disable_key(KeyId=key_id)
    result = run_module(capsys, verify=True)
    assert result['failed'] is True and 'is Disabled' in result['msg'] and 'aws kms enable-key --key-id %s' % key_id in result['msg']
    assert result['aws_error_code'] == 'DisabledException'
    assert kms.describe_key(KeyId=key_id)['KeyMetadata']['KeyState'] == 'Disabled'


def test_pending_deletion_refused(capsys, kms):
    key_id = kms.create_key()['KeyMetadata']['KeyId']
    kms.create_alias(AliasName=ALIAS, TargetKeyId=key_id)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    result = run_module(capsys)
    assert result['failed'] is True and 'cancel-key-deletion' in result['msg']


def test_asymmetric_key_refused(capsys, kms):
    key_id = kms.create_key(KeySpec='RSA_2048', KeyUsage='SIGN_VERIFY')['KeyMetadata']['KeyId']
    kms.create_alias(AliasName=ALIAS, TargetKeyId=key_id)
    result = run_module(capsys)
    assert result['failed'] is True and 'RSA_2048/SIGN_VERIFY' in result['msg'] and 'SYMMETRIC_DEFAULT' in result['msg']


def test_verify_round_trip(capsys, kms, monkeypatch):
    seen = []
    original = aws_common.AwsConnection.call

    def call(self, service, operation, remedy=None, absent_codes=(), **kwargs):
        seen.append((operation, kwargs.get('EncryptionContext'), kwargs.get('NumberOfBytes')))
        answer = original(self, service, operation, remedy=remedy, absent_codes=absent_codes, **kwargs)
        if operation == 'Encrypt':
            seen.append(('plaintext', kwargs['Plaintext'], None))
        return answer
    monkeypatch.setattr(aws_common.AwsConnection, 'call', call)
    result = run_module(capsys, create=True, verify=True, encryption_context='Acme_Looker')
    assert result['verified'] is True and result['encryption_context'] == {'Looker_Encryption_Context': 'Acme_Looker'}
    assert result['looker_env']['LKR_AWS_CMK_EC'] == 'Acme_Looker'
    assert ('GenerateRandom', None, 32) in seen
    assert ('Encrypt', {'Looker_Encryption_Context': 'Acme_Looker'}, None) in seen
    assert ('Decrypt', {'Looker_Encryption_Context': 'Acme_Looker'}, None) in seen
    plaintext = [v for op, v, dummy in seen if op == 'plaintext'][0]
    assert len(plaintext) == 32 and plaintext.hex() not in json.dumps(result)


def test_verify_wrong_context_on_decrypt_is_mapped(capsys, kms, monkeypatch):
    original = aws_common.AwsConnection.call

    def call(self, service, operation, remedy=None, absent_codes=(), **kwargs):
        if operation == 'Decrypt':
            kwargs['EncryptionContext'] = {'Looker_Encryption_Context': 'not-the-one'}
        return original(self, service, operation, remedy=remedy, absent_codes=absent_codes, **kwargs)
    run_module(capsys, create=True)
    monkeypatch.setattr(aws_common.AwsConnection, 'call', call)
    result = run_module(capsys, verify=True)
    assert result['failed'] is True and result['aws_error_code'] == 'InvalidCiphertextException'
    assert result['aws_operation'] == 'Decrypt' and 'LKR_AWS_CMK_EC' in result['msg']


@pytest.mark.parametrize('alias, fragment', [
    ('alias/aws/rds', 'reserved for AWS managed keys'),
    ('bad alias!', 'not a valid KMS alias'),
])
def test_bad_alias_refused(capsys, kms, alias, fragment):
    result = run_module(capsys, alias=alias, create=True)
    assert result['failed'] is True and fragment in result['msg'] and customer_keys(kms) == []


def test_no_region_fails_clearly(capsys, monkeypatch):
    monkeypatch.delenv('AWS_DEFAULT_REGION')
    monkeypatch.setenv('AWS_CONFIG_FILE', '/nonexistent/lookerops-aws-config')
    result = run_module(capsys)
    assert result['failed'] is True and 'No AWS region' in result['msg']


def test_secrets_are_no_log(capsys, kms):
    result = run_module(capsys, create=True, access_key='testing', secret_key='testing-secret-xyz', _ansible_inject_invocation=True)
    args = result['invocation']['module_args']
    assert args['secret_key'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER' and 'testing-secret-xyz' not in json.dumps(result)


def test_missing_boto3_fails_with_missing_required_lib(capsys, kms, monkeypatch):
    monkeypatch.setattr(aws_common, 'HAS_BOTO3', False)
    monkeypatch.setattr(aws_common, 'BOTO3_IMPORT_ERROR', 'Traceback: ImportError: No module named boto3')
    result = run_module(capsys, create=True)
    assert result['failed'] is True and 'Failed to import the required Python library (boto3 and botocore' in result['msg']
    assert customer_keys(kms) == []
