# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of module_utils/_aws/: option group, client factory, error mapper, bounded waiter, policy comparison."""

from __future__ import annotations

import json

from urllib.parse import quote

import pytest

from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from moto import mock_aws

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.lookerops.encryption.plugins.module_utils._aws import common as aws_common
from ansible_collections.lookerops.encryption.plugins.module_utils._aws import errors as aws_errors
from ansible_collections.lookerops.encryption.plugins.module_utils._aws import waiters as aws_waiters
from ansible_collections.lookerops.encryption.plugins.module_utils._aws import iam as aws_iam, rds as aws_rds


@pytest.fixture(autouse=True)
def aws_env(monkeypatch):
    for name, value in (('AWS_ACCESS_KEY_ID', 'testing'), ('AWS_SECRET_ACCESS_KEY', 'testing'), ('AWS_DEFAULT_REGION', 'us-east-1'),
                        ('AWS_EC2_METADATA_DISABLED', 'true')):
        monkeypatch.setenv(name, value)
    for name in ('AWS_ENDPOINT_URL', 'AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_REGION'):
        monkeypatch.delenv(name, raising=False)


def params(**overrides):
    validated = ArgumentSpecValidator(aws_common.aws_argument_spec()).validate(overrides)
    assert not validated.error_messages
    return validated.validated_parameters


def test_argument_spec_group():
    spec = aws_common.aws_argument_spec()
    assert set(spec) == {'region', 'endpoint_url', 'profile', 'access_key', 'secret_key', 'session_token', 'retries', 'retry_mode',
                         'wait_timeout'}
    assert all(spec[name]['no_log'] for name in ('access_key', 'secret_key', 'session_token'))
    assert params()['wait_timeout'] == aws_common.DEFAULT_WAIT_TIMEOUT and params()['retry_mode'] == 'standard'
    composed = aws_common.compose_argument_spec({'alias': {'type': 'str'}})
    assert 'alias' in composed and 'region' in composed
    with pytest.raises(ValueError, match='clash'):
        aws_common.compose_argument_spec({'region': {'type': 'str'}})


@pytest.mark.parametrize('mode', ['standard', 'adaptive'])
def test_client_factory_retry_config_and_endpoint(mode):
    conn = aws_common.AwsConnection(params(region='eu-west-1', endpoint_url='http://127.0.0.1:1', retries=4, retry_mode=mode))
    client = conn.client('kms')
    assert client.meta.region_name == 'eu-west-1' and client.meta.endpoint_url == 'http://127.0.0.1:1'
    assert client.meta.config.retries == {'total_max_attempts': 5, 'mode': mode}
    assert aws_common.USER_AGENT_EXTRA in client.meta.config.user_agent_extra
    assert conn.client('kms') is client


def test_region_from_environment_and_missing_region(monkeypatch):
    assert aws_common.AwsConnection(params()).client('kms').meta.region_name == 'us-east-1'
    monkeypatch.delenv('AWS_DEFAULT_REGION')
    monkeypatch.setenv('AWS_CONFIG_FILE', '/nonexistent/lookerops-aws-config')
    with pytest.raises(aws_errors.AwsError, match='No AWS region'):
        aws_common.AwsConnection(params()).client('kms')


def test_connection_error_is_mapped():
    conn = aws_common.AwsConnection(params(endpoint_url='http://127.0.0.1:9', retries=0))
    with pytest.raises(aws_errors.AwsError) as info:
        conn.call('kms', 'ListKeys')
    assert info.value.code == 'EndpointConnectionError' and 'check endpoint_url' in str(info.value) and 'ListKeys' in str(info.value)


def client_error(code, message, operation):
    return ClientError({'Error': {'Code': code, 'Message': message}}, operation)


def test_access_denied_names_the_action_from_the_message():
    exc = client_error('AccessDeniedException', 'User: arn:aws:iam::123456789012:user/looker is not authorized to perform: '
                       'kms:GenerateRandom because no identity-based policy allows the kms:GenerateRandom action', 'GenerateRandom')
    err = aws_errors.map_aws_error(exc, 'GenerateRandom', 'kms')
    assert err.code == 'AccessDeniedException' and err.iam_action == 'kms:GenerateRandom' and err.operation == 'GenerateRandom'
    assert 'lacks the IAM permission kms:GenerateRandom' in str(err) and 'docs/iam-policy.json' in str(err)


def test_unparsed_xml_error_body_is_understood():
    body = ('<?xml version="1.0" encoding="utf-8"?>\n<ErrorResponse><Errors><Error><Code>AccessDenied</Code><Message>User: '
            'arn:aws:iam::123456789012:user/x is not authorized to perform: kms:GenerateRandom</Message></Error></Errors></ErrorResponse>')
    err = aws_errors.map_aws_error(client_error('403', body, 'GenerateRandom'), 'GenerateRandom', 'kms')
    assert err.code == 'AccessDenied' and err.iam_action == 'kms:GenerateRandom' and '<' not in str(err)
    err = aws_errors.map_aws_error(client_error('403', 'Forbidden', 'Encrypt'), 'Encrypt', 'kms')
    assert err.code == 'AccessDenied' and err.iam_action == 'kms:Encrypt'
    assert aws_errors.map_aws_error(client_error('502', 'Bad Gateway', 'Encrypt'), 'Encrypt', 'kms').code == 'HTTP502'


def test_access_denied_without_action_in_message_uses_service_and_operation():
    err = aws_errors.map_aws_error(client_error('AccessDenied', 'Access Denied', 'CreateDBSnapshot'), 'CreateDBSnapshot', 'rds')
    assert err.iam_action == 'rds:CreateDBSnapshot' and 'rds:CreateDBSnapshot' in str(err)


@pytest.mark.parametrize('code, fragment', [
    ('DisabledException', 'enable-key'),
    ('InvalidCiphertextException', 'LKR_AWS_CMK_EC'),
    ('UnrecognizedClientException', 'invalid or expired'),
    ('DBInstanceNotFound', 'db_instance_identifier'),
    ('ThrottlingException', 'retry_mode=adaptive'),
    ('SomethingNew', 'see the AWS message'),
])
def test_client_error_codes_get_a_remedy(code, fragment):
    err = aws_errors.map_aws_error(client_error(code, 'the aws message', 'Op'), 'Op', 'kms')
    assert err.code == code and '(%s)' % code in str(err) and fragment.lower() in str(err).lower() and 'the aws message' in str(err)


def test_botocore_errors_get_a_remedy():
    err = aws_errors.map_aws_error(NoCredentialsError(), 'ListKeys', 'kms')
    assert err.code == 'NoCredentialsError' and 'AWX' in str(err)
    err = aws_errors.map_aws_error(EndpointConnectionError(endpoint_url='https://kms.x'), 'ListKeys', 'kms')
    assert err.code == 'EndpointConnectionError'


def test_wrong_context_on_decrypt_is_mapped():
    with mock_aws():
        conn = aws_common.AwsConnection(params())
        key_id = conn.call('kms', 'CreateKey')['KeyMetadata']['KeyId']
        blob = conn.call('kms', 'Encrypt', KeyId=key_id, Plaintext=b'x' * 32,
                         EncryptionContext={'Looker_Encryption_Context': 'a'})['CiphertextBlob']
        assert conn.call('kms', 'Decrypt', CiphertextBlob=blob, EncryptionContext={'Looker_Encryption_Context': 'a'})['Plaintext'] == b'x' * 32
        with pytest.raises(aws_errors.AwsError) as info:
            conn.call('kms', 'Decrypt', CiphertextBlob=blob, EncryptionContext={'Looker_Encryption_Context': 'b'})
    assert info.value.code == 'InvalidCiphertextException' and info.value.operation == 'Decrypt'
    assert 'encryption context' in str(info.value)


def test_absent_codes_return_none():
    with mock_aws():
        conn = aws_common.AwsConnection(params())
        assert conn.call('kms', 'DescribeKey', absent_codes=('NotFoundException',), KeyId='alias/nope') is None
        with pytest.raises(aws_errors.AwsError, match='NotFoundException'):
            conn.call('kms', 'DescribeKey', KeyId='alias/nope')


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_for_is_bounded_by_the_timeout():
    fake = FakeClock()
    states = iter(['creating'] * 1000)
    with pytest.raises(aws_errors.AwsError) as info:
        aws_waiters.wait_for(lambda: (False, next(states)), 'snapshot x', 60, clock=fake.clock, sleep=fake.sleep)
    assert info.value.code == 'WaitTimeout' and 'Timed out after 60s' in str(info.value) and 'last state: creating' in str(info.value)
    assert fake.now <= 1060.0 + 1e-9 and max(fake.sleeps) <= 30 * 1.25 and len(set(fake.sleeps)) > 1


def test_wait_for_returns_state_and_stops_on_failure():
    fake = FakeClock()
    answers = iter([(False, 'creating'), (False, 'creating'), (True, 'available')])
    assert aws_waiters.wait_for(lambda: next(answers), 'x', 600, clock=fake.clock, sleep=fake.sleep) == 'available'
    assert len(fake.sleeps) == 2

    def failing():
        raise aws_errors.AwsError('failed state', code='SnapshotFailed')
    with pytest.raises(aws_errors.AwsError, match='failed state'):
        aws_waiters.wait_for(failing, 'x', 600, clock=fake.clock, sleep=fake.sleep)
    with pytest.raises(aws_errors.AwsError, match='positive'):
        aws_waiters.wait_for(lambda: (True, None), 'x', 0)


def test_policy_comparison_is_semantic():
    arn = 'arn:aws:kms:us-east-1:123456789012:key/abc'
    policy = aws_iam.looker_kms_policy(arn)
    same = {'Version': '2012-10-17', 'Statement': [
        {'Sid': 'LookerUseCmk', 'Effect': 'Allow', 'Resource': [arn],
         'Action': ['kms:encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey']},
        {'Sid': 'LookerGenerateRandom', 'Effect': 'Allow', 'Action': ['kms:GenerateRandom'], 'Resource': ['*']}]}
    assert aws_iam.policies_equal(policy, same)
    assert aws_iam.policies_equal(quote(json.dumps(same)), policy)
    wider = aws_iam.looker_kms_policy('arn:aws:kms:*:*:key/*')
    assert not aws_iam.policies_equal(policy, wider)
    fewer = aws_iam.looker_kms_policy(arn)
    fewer['Statement'][1]['Action'].remove('kms:Encrypt')
    assert not aws_iam.policies_equal(policy, fewer)


@pytest.mark.parametrize('host, expected', [
    ('looker-db.c9akciq32abc.eu-west-1.rds.amazonaws.com', ('looker-db', 'eu-west-1')),
    ('LOOKER-DB.c9akciq32abc.us-gov-west-1.rds.amazonaws.com', ('looker-db', 'us-gov-west-1')),
    ('db.c9akciq32abc.cn-north-1.rds.amazonaws.com.cn', ('db', 'cn-north-1')),
    ('mysql.internal', None),
    ('10.0.0.5', None),
    (None, None),
])
def test_parse_rds_host(host, expected):
    assert aws_rds.parse_rds_host(host) == expected


def test_parse_rds_host_refuses_aurora():
    with pytest.raises(aws_errors.AwsError, match='Aurora'):
        aws_rds.parse_rds_host('looker.cluster-c9akciq32abc.eu-west-1.rds.amazonaws.com')


def test_tags_round_trip():
    mapping = {'b': '2', 'a': 1}
    assert aws_common.aws_tags(mapping) == [{'Key': 'a', 'Value': '1'}, {'Key': 'b', 'Value': '2'}]
    assert aws_common.tags_dict(aws_common.aws_tags(mapping, style='TagKey')) == {'a': '1', 'b': '2'}


def test_method_name_and_unknown_operation():
    client = aws_common.AwsConnection(params()).client('rds')
    assert aws_common.method_name(client, 'DescribeDBInstances') == 'describe_db_instances'
    with pytest.raises(aws_errors.AwsError, match='no operation'):
        aws_common.method_name(client, 'NoSuchThing')
