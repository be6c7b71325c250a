# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the AWS Secrets Manager escrow (moto) and of the key file an AWX credential injects."""

from __future__ import annotations

import base64

import boto3
import pytest

from moto import mock_aws

from ansible_collections.lookerops.encryption.plugins.module_utils._key_material import kcv_of_text
from ansible_collections.lookerops.encryption.plugins.plugin_utils import _cmk_source as src
from ansible_collections.lookerops.encryption.plugins.plugin_utils import _escrow_aws

KEY = base64.b64encode(bytes(range(32))).decode()
OTHER = base64.b64encode(bytes(32)).decode()
SECRET = 'lookerops/unit/cmk'
OPTIONS = {'secret_id': SECRET, 'region': 'eu-west-1'}


@pytest.fixture(autouse=True)
def aws_env(monkeypatch):
    for name, value in (('AWS_ACCESS_KEY_ID', 'testing'), ('AWS_SECRET_ACCESS_KEY', 'testing'), ('AWS_DEFAULT_REGION', 'us-east-1'),
                        ('AWS_EC2_METADATA_DISABLED', 'true')):
        monkeypatch.setenv(name, value)
    for name in ('AWS_ENDPOINT_URL', 'AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_REGION'):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def aws():
    with mock_aws():
        yield boto3.client('secretsmanager', region_name='eu-west-1')


def test_generated_key_is_escrowed_read_back_and_reused(aws):
    first = src.resolve_cmk(escrow='aws_secretsmanager', escrow_aws=OPTIONS)
    assert first.generated and first.escrow_written and first.escrow_verified
    assert first.escrow_path == 'aws-secretsmanager:eu-west-1:' + SECRET
    stored = aws.get_secret_value(SecretId=SECRET)['SecretString']
    assert stored == first.key_text and kcv_of_text(stored) == first.kcv
    tags = {t['Key']: t['Value'] for t in aws.describe_secret(SecretId=SECRET)['Tags']}
    assert tags == {'lookerops:kcv': first.kcv, 'lookerops:managed-by': 'lookerops.encryption'}
    assert first.key_text not in aws.describe_secret(SecretId=SECRET)['Description']
    second = src.resolve_cmk(escrow='aws_secretsmanager', escrow_aws=OPTIONS, generate=False)
    assert (second.key_text, second.generated, second.escrow_written, second.escrow_verified) == (first.key_text, False, False, True)
    assert len(aws.list_secret_version_ids(SecretId=SECRET)['Versions']) == 1


def test_provided_key_must_match_the_escrow_which_is_never_overwritten(aws):
    src.resolve_cmk(key=KEY, escrow='aws_secretsmanager', escrow_aws=OPTIONS)
    with pytest.raises(src.CmkSourceError) as excinfo:
        src.resolve_cmk(key=OTHER, escrow='aws_secretsmanager', escrow_aws=OPTIONS)
    message = str(excinfo.value)
    assert kcv_of_text(KEY) in message and kcv_of_text(OTHER) in message and SECRET in message
    assert KEY not in message and OTHER not in message
    assert aws.get_secret_value(SecretId=SECRET)['SecretString'] == KEY


def test_check_mode_reads_but_writes_nothing(aws):
    result = src.resolve_cmk(key=KEY, escrow='aws_secretsmanager', escrow_aws=OPTIONS, check_mode=True)
    assert result.escrow_written and not result.escrow_verified  # what a real run would do
    assert aws.list_secrets()['SecretList'] == []


def test_kms_key_for_the_secret(aws):
    key_id = boto3.client('kms', region_name='eu-west-1').create_key()['KeyMetadata']['KeyId']
    src.resolve_cmk(key=KEY, escrow='aws_secretsmanager', escrow_aws=dict(OPTIONS, kms_key_id=key_id))
    assert aws.describe_secret(SecretId=SECRET)['KmsKeyId'] == key_id


def test_a_secret_that_is_not_a_key_is_refused_and_kept(aws):
    aws.create_secret(Name=SECRET, SecretString='{"password": "something else"}')
    with pytest.raises(src.CmkSourceError) as excinfo:
        src.resolve_cmk(key=KEY, escrow='aws_secretsmanager', escrow_aws=OPTIONS)
    assert 'does not hold a valid key' in str(excinfo.value) and 'never overwritten' in str(excinfo.value)
    assert aws.get_secret_value(SecretId=SECRET)['SecretString'] == '{"password": "something else"}'


def test_a_secret_scheduled_for_deletion_says_how_to_restore_it(aws):
    aws.create_secret(Name=SECRET, SecretString=KEY)
    aws.delete_secret(SecretId=SECRET, RecoveryWindowInDays=7)
    with pytest.raises(src.CmkSourceError) as excinfo:
        src.resolve_cmk(escrow='aws_secretsmanager', escrow_aws=OPTIONS)
    assert 'restore-secret' in str(excinfo.value) and KEY not in str(excinfo.value)


def test_options_are_checked_before_any_call():
    with pytest.raises(src.CmkSourceError) as excinfo:
        src.resolve_cmk(key=KEY, escrow='aws_secretsmanager', escrow_aws={'region': 'eu-west-1'})
    assert 'secret_id' in str(excinfo.value) and 'lookerops_cmk_escrow_aws_secret' in str(excinfo.value)


def test_aws_errors_name_the_operation_and_the_remedy(monkeypatch):
    monkeypatch.setenv('AWS_ENDPOINT_URL', 'http://127.0.0.1:9')
    with pytest.raises(src.CmkSourceError) as excinfo:
        src.resolve_cmk(key=KEY, escrow='aws_secretsmanager', escrow_aws=dict(OPTIONS, retries=0))
    message = str(excinfo.value)
    assert 'GetSecretValue' in message and 'EndpointConnectionError' in message and 'Nothing was sent to any node' in message


def test_the_escrow_interface_returns_raw_bytes_only_to_its_caller(aws):
    store = _escrow_aws.SecretsManagerEscrow(OPTIONS)
    assert store.read() is None
    store.write(KEY + '\n')
    assert store.read() == base64.b64decode(KEY)
    store.write(OTHER)  # an existing secret is left alone; the caller's read-back finds the difference
    assert store.read() == base64.b64decode(KEY)


# --- the key file an AWX credential injects (LOOKEROPS_CMK_KEY_FILE) --------------------------------

def test_key_file_is_read_like_the_key(tmp_path):
    key_file = tmp_path / 'credential-file'
    key_file.write_text(KEY + '\n', encoding='ascii')
    result = src.resolve_cmk(key_file=str(key_file), escrow='none', escrow_waiver=src.ESCROW_WAIVER_TEXT)
    assert result.key_text == KEY and result.kcv == kcv_of_text(KEY)


def test_key_file_with_an_invalid_key_is_refused_without_echoing_it(tmp_path):
    key_file = tmp_path / 'credential-file'
    short = base64.b64encode(b'x' * 16).decode()
    key_file.write_text(short, encoding='ascii')
    with pytest.raises(src.CmkSourceError) as excinfo:
        src.resolve_cmk(key_file=str(key_file), escrow='none', escrow_waiver=src.ESCROW_WAIVER_TEXT)
    assert 'decoded length 16 bytes, must be 32' in str(excinfo.value) and short not in str(excinfo.value)


def test_key_file_missing_or_given_twice(tmp_path):
    with pytest.raises(src.CmkSourceError) as excinfo:
        src.resolve_cmk(key_file=str(tmp_path / 'absent'), escrow='none', escrow_waiver=src.ESCROW_WAIVER_TEXT)
    assert 'LOOKEROPS_CMK_KEY_FILE' in str(excinfo.value) and 'No such file' in str(excinfo.value)
    key_file = tmp_path / 'credential-file'
    key_file.write_text(KEY, encoding='ascii')
    with pytest.raises(src.CmkSourceError) as excinfo:
        src.resolve_cmk(key=KEY, key_file=str(key_file), escrow='none', escrow_waiver=src.ESCROW_WAIVER_TEXT)
    assert 'given twice' in str(excinfo.value) and KEY not in str(excinfo.value)
