# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests: the Secrets Manager escrow belongs to one cluster (its name, its tag, its resource policy), and a cluster
never adopts a secret whose key its nodes do not prove (moto; moto stores resource policies but does not enforce them)."""

from __future__ import annotations

import base64
import json

import boto3
import pytest

from moto import mock_aws

from ansible_collections.lookerops.encryption.plugins.module_utils._key_material import kcv_of_text
from ansible_collections.lookerops.encryption.plugins.plugin_utils import _cmk_source as src
from ansible_collections.lookerops.encryption.plugins.plugin_utils import _escrow_aws as ea

KEY = base64.b64encode(bytes(range(32))).decode()
KEY_KCV = kcv_of_text(KEY)


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
        yield boto3.client('secretsmanager', region_name='us-east-1')


@pytest.mark.parametrize('secret_id, cluster, name', [
    ('given/name', 'db1-3306-looker', 'given/name'),
    (None, 'db1-3306-looker', 'lookerops/db1-3306-looker/cmk'),
    ('', 'looker1', 'lookerops/looker1/cmk'),
])
def test_secret_name_derives_from_the_cluster_identity(secret_id, cluster, name):
    assert ea.secret_name(secret_id, cluster) == name


def test_secret_name_needs_a_name_or_a_cluster():
    with pytest.raises(ea.EscrowError, match='escrow_aws.cluster'):
        ea.secret_name('', None)


@pytest.mark.parametrize('tags, node_kcvs, refused', [
    ({'lookerops:cluster': 'a'}, [], False),             # escrowed for this cluster (a resumed run whose nodes do not hold it yet)
    ({'lookerops:cluster': 'b'}, [], True),              # another cluster's key
    ({}, [], True),                                      # no owner, no node proves it
    ({}, ['kcv1:0000000000000000', 'K'], False),          # a node uses that key
    ({'lookerops:cluster': 'b'}, ['K'], False),           # the nodes prove it, whoever tagged it
])
def test_adoption_decision(tags, node_kcvs, refused):
    problem = ea.adoption_problem('aws-secretsmanager:r:s', tags, 'a', 'K', node_kcvs)
    assert (problem is not None) == refused
    if refused:
        assert 'would adopt another cluster' in problem and 'lookerops:cluster=a' in problem and 'Nothing was sent' in problem


def test_no_cluster_identity_means_no_adoption_check():
    assert ea.adoption_problem('x', {}, None, 'K', []) is None


def test_created_secret_is_tagged_with_its_cluster_and_gets_the_resource_policy(aws):
    options = {'cluster': 'db1-3306-looker', 'region': 'us-east-1'}
    first = src.resolve_cmk(key=KEY, escrow='aws_secretsmanager', escrow_aws=options)
    name = 'lookerops/db1-3306-looker/cmk'
    assert first.escrow_written and first.escrow_path == 'aws-secretsmanager:us-east-1:' + name
    tags = {t['Key']: t['Value'] for t in aws.describe_secret(SecretId=name)['Tags']}
    assert tags['lookerops:cluster'] == 'db1-3306-looker' and tags['lookerops:kcv'] == KEY_KCV
    policy = json.loads(aws.get_resource_policy(SecretId=name)['ResourcePolicy'])
    assert policy == ea.RESOURCE_POLICY
    assert {'secretsmanager:PutSecretValue', 'secretsmanager:DeleteSecret'} <= set(policy['Statement'][0]['Action'])
    assert policy['Statement'][0]['Effect'] == 'Deny'
    # The same cluster reads it back (a resume: its nodes do not hold the key yet).
    again = src.resolve_cmk(escrow='aws_secretsmanager', escrow_aws=options, generate=False)
    assert again.kcv == KEY_KCV and not again.escrow_written


def test_a_second_cluster_never_adopts_the_first_ones_secret(aws):
    src.resolve_cmk(key=KEY, escrow='aws_secretsmanager', escrow_aws={'cluster': 'one', 'region': 'us-east-1'})
    shared = {'secret_id': 'lookerops/one/cmk', 'cluster': 'two', 'region': 'us-east-1'}
    with pytest.raises(src.CmkSourceError) as excinfo:
        src.resolve_cmk(escrow='aws_secretsmanager', escrow_aws=shared, check_mode=True)
    assert 'escrowed for cluster one' in str(excinfo.value) and KEY not in str(excinfo.value)
    # Its nodes prove the key (for example the same cluster renamed): adopted.
    proven = src.resolve_cmk(escrow='aws_secretsmanager', escrow_aws=dict(shared, node_kcvs=[KEY_KCV]), check_mode=True)
    assert proven.kcv == KEY_KCV


def test_an_untagged_secret_is_adopted_only_when_the_nodes_prove_it(aws):
    aws.create_secret(Name='lookerops/old/cmk', SecretString=KEY)
    options = {'secret_id': 'lookerops/old/cmk', 'cluster': 'old', 'region': 'us-east-1'}
    with pytest.raises(src.CmkSourceError, match='escrowed for no named cluster'):
        src.resolve_cmk(escrow='aws_secretsmanager', escrow_aws=options, check_mode=True)
    assert src.resolve_cmk(escrow='aws_secretsmanager', escrow_aws=dict(options, node_kcvs=[KEY_KCV]), check_mode=True).kcv == KEY_KCV
