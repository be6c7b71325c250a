# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption (controller side): the CMK escrow in AWS Secrets Manager. Not a public API.

An escrow that outlives the controller (an AWX job's home is thrown away after the job): the key
text is the SecretString of one secret, created once and never overwritten. Client, retries and
error messages are those of module_utils/_aws/. The only key text that leaves this file is
the return value of :meth:`SecretsManagerEscrow.read` to its caller; messages name the secret and
key check values only.
"""

from __future__ import annotations

import json

from ansible_collections.lookerops.encryption.plugins.module_utils._aws import common as aws_common
from ansible_collections.lookerops.encryption.plugins.module_utils._aws import errors as aws_errors
from ansible_collections.lookerops.encryption.plugins.module_utils._key_material import KeyMaterialError, kcv, validate_key_text

SERVICE = 'secretsmanager'
TAG_KCV = 'lookerops:kcv'
ABSENT_CODES = ('ResourceNotFoundException',)
REMEDY_DELETED = ('the secret is scheduled for deletion; restore it (aws secretsmanager restore-secret --secret-id SECRET) if it holds '
                  'the key of a migrated instance, or choose another secret name')

# The secret's name when none is given: one per cluster identity (preflight's cluster_id), never shared by default.
SECRET_NAME_FORMAT = 'lookerops/%s/cmk'
# Attached to the secret when it is created: the escrow is never overwritten or deleted by accident. Removing the
# policy (DeleteResourcePolicy) is the deliberate first step of any change. Grants nothing: access stays with IAM.
RESOURCE_POLICY = {
    'Version': '2012-10-17',
    'Statement': [{
        'Sid': 'LookeropsEscrowIsNeverOverwritten',
        'Effect': 'Deny',
        'Principal': '*',
        'Action': ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecret', 'secretsmanager:DeleteSecret',
                   'secretsmanager:RotateSecret', 'secretsmanager:UpdateSecretVersionStage'],
        'Resource': '*',
    }],
}

# Options of escrow=aws_secretsmanager (the escrow_aws dictionary of lk_cmk / lk_node_env).
ESCROW_AWS_OPTIONS = dict(
    secret_id=dict(type='str'),
    cluster=dict(type='str'),
    node_kcvs=dict(type='list', elements='str', default=[]),
    region=dict(type='str'),
    kms_key_id=dict(type='str'),
    endpoint_url=dict(type='str'),
    profile=dict(type='str'),
    retries=dict(type='int', default=aws_common.DEFAULT_RETRIES),
)


class EscrowError(Exception):
    """The Secrets Manager escrow cannot be used; the message says what to do and holds no key text."""


def secret_name(secret_id, cluster):
    """The secret that keeps a cluster's key: the one named, else lookerops/<cluster identity>/cmk."""
    if secret_id:
        return secret_id
    if cluster:
        return SECRET_NAME_FORMAT % cluster
    raise EscrowError('escrow=aws_secretsmanager needs escrow_aws.secret_id (lookerops_cmk_escrow_aws_secret) or escrow_aws.cluster '
                      '(the cluster identity, which names the secret lookerops/<cluster>/cmk).')


def adoption_problem(location, tags, cluster, escrow_kcv, node_kcvs):
    """Why this cluster must not adopt the key an existing secret holds, or None.

    A cluster adopts an existing secret only when the secret was escrowed for this cluster (its lookerops:cluster tag
    is this cluster's identity) or when a node of this cluster proves the key (its Looker uses a key with that check value).
    Without a cluster identity (the module used on its own) there is nothing to compare.
    """
    if not cluster:
        return None
    owner = (tags or {}).get(aws_common.TAG_CLUSTER)
    if owner == cluster or escrow_kcv in set(node_kcvs or ()):
        return None
    return ('The CMK escrow %s already holds a key (%s) that was escrowed for %s, and no node of this cluster (%s) uses it: '
            'this cluster would adopt another cluster\'s key. Give this cluster its own secret (lookerops_cmk_escrow_aws_secret, '
            'or leave it empty for lookerops/%s/cmk), or, if that key really is this cluster\'s, tag the secret %s=%s. '
            'Nothing was sent to any node.'
            % (location, escrow_kcv, ('cluster %s' % owner) if owner else 'no named cluster', cluster, cluster, aws_common.TAG_CLUSTER, cluster))


class SecretsManagerEscrow:
    """Read and write one Secrets Manager secret that holds the CMK as text."""

    def __init__(self, options):
        options = dict(options or {})
        self.cluster = options.get('cluster') or None
        self.node_kcvs = [k for k in options.get('node_kcvs') or [] if k]
        self.secret_id = secret_name(options.get('secret_id'), self.cluster)
        if not aws_common.HAS_BOTO3:
            raise EscrowError('escrow=aws_secretsmanager needs boto3 and botocore on the controller (in AWX: in the execution '
                              'environment, see meta/execution-environment.yml).')
        self.kms_key_id = options.get('kms_key_id') or None
        self.connection = aws_common.AwsConnection({
            'region': options.get('region') or None,
            'endpoint_url': options.get('endpoint_url') or None,
            'profile': options.get('profile') or None,
            'retries': options.get('retries', aws_common.DEFAULT_RETRIES),
        })

    @property
    def location(self):
        """Where the escrow is, for messages and results (no key material)."""
        try:
            region = self.connection.region
        except aws_errors.AwsError:
            region = None
        return 'aws-secretsmanager:%s:%s' % (region or '(no region)', self.secret_id)

    def _call(self, operation, **kwargs):
        try:
            return self.connection.call(SERVICE, operation, absent_codes=ABSENT_CODES, **kwargs)
        except aws_errors.AwsError as exc:
            if exc.code == 'InvalidRequestException' and 'delet' in str(exc).lower():
                raise EscrowError('The CMK escrow %s cannot be used: %s; nothing was sent to any node.'
                                  % (self.location, REMEDY_DELETED)) from None
            raise EscrowError('The CMK escrow %s cannot be used: %s Nothing was sent to any node.' % (self.location, exc)) from None

    def read(self):
        """Raw 32 key bytes of the escrow, or None when the secret does not exist."""
        answer = self._call('GetSecretValue', SecretId=self.secret_id)
        if answer is None:
            return None
        text = answer.get('SecretString')
        if text is None:
            raise EscrowError('The CMK escrow %s holds binary data, not key text. It is never overwritten: inspect it.' % self.location)
        try:
            raw = validate_key_text(text)
        except KeyMaterialError as exc:
            raise EscrowError('The CMK escrow %s exists but does not hold a valid key: %s It is never overwritten: inspect it.'
                              % (self.location, exc)) from None
        if self.cluster:
            described = self._call('DescribeSecret', SecretId=self.secret_id) or {}
            problem = adoption_problem(self.location, aws_common.tags_dict(described.get('Tags') or []), self.cluster, kcv(raw), self.node_kcvs)
            if problem:
                raise EscrowError(problem)
        return raw

    def write(self, key_text):
        """Create the secret with the key text. An existing secret is left as it is (the caller reads back and compares)."""
        raw = validate_key_text(key_text)
        kwargs = {
            'Name': self.secret_id,
            'SecretString': key_text,
            'Description': 'Looker Customer Master Key escrowed by lookerops.encryption (%s). Losing it loses the instance.' % kcv(raw),
            'Tags': aws_common.aws_tags(dict({aws_common.TAG_MANAGED: aws_common.TAG_MANAGED_VALUE, TAG_KCV: kcv(raw)},
                                             **({aws_common.TAG_CLUSTER: self.cluster} if self.cluster else {}))),
        }
        if self.kms_key_id:
            kwargs['KmsKeyId'] = self.kms_key_id
        try:
            self.connection.call(SERVICE, 'CreateSecret', **kwargs)
        except aws_errors.AwsError as exc:
            if exc.code != 'ResourceExistsException':
                raise EscrowError('The CMK escrow %s could not be written: %s Nothing was sent to any node.' % (self.location, exc)) from None
            return
        try:
            self.connection.call(SERVICE, 'PutResourcePolicy', SecretId=self.secret_id, ResourcePolicy=json.dumps(RESOURCE_POLICY),
                                 BlockPublicPolicy=True)
        except aws_errors.AwsError as exc:
            raise EscrowError('The CMK escrow %s was created, but its resource policy (which keeps it from being overwritten or deleted) '
                              'could not be attached: %s Allow secretsmanager:PutResourcePolicy on the secret and run again (the '
                              'escrow is kept and read back). Nothing was sent to any node.' % (self.location, exc)) from None
