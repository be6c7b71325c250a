# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the IAM backend of lk_iam_role (the role and policy the Looker nodes use the CMK with).

Not a public API. Connection and tags come from ``common.py``, errors from ``errors.py``.
"""

from __future__ import annotations

import json
import re

from urllib.parse import unquote

from ansible_collections.lookerops.encryption.plugins.module_utils._aws.common import (
    TAG_MANAGED,
    TAG_MANAGED_VALUE,
    aws_tags,
)
from ansible_collections.lookerops.encryption.plugins.module_utils._aws.errors import AwsError

# The IAM policy the Looker nodes need (docs/iam-policy.json is the same document with ${KEY_ARN}; a unit test keeps them equal).
KEY_ARN_PLACEHOLDER = '${KEY_ARN}'
LOOKER_KEY_ACTIONS = ('kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey')
KEY_ARN_RE = re.compile(r'^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$')
MAX_POLICY_VERSIONS = 5


def looker_kms_policy(key_arn):
    """The identity policy the Looker nodes need for the CMK (same document as docs/iam-policy.json)."""
    return {
        'Version': '2012-10-17',
        'Statement': [
            {
                'Sid': 'LookerGenerateRandom',
                'Effect': 'Allow',
                'Action': 'kms:GenerateRandom',
                'Resource': '*',
            },
            {
                'Sid': 'LookerUseCmk',
                'Effect': 'Allow',
                'Action': list(LOOKER_KEY_ACTIONS),
                'Resource': key_arn,
            },
        ],
    }


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def normalize_policy(document):
    """A canonical form of an IAM policy document for semantic comparison.

    Accepts a dict or JSON text (IAM may return URL-decoded JSON text). Single values and one-element lists are the same;
    order of statements, actions and resources does not matter; action names compare case-insensitively.
    """
    if isinstance(document, str):
        text = document.strip()
        if text.startswith('%'):
            text = unquote(text)
        document = json.loads(text)
    statements = []
    for stmt in _as_list(document.get('Statement')):
        norm = {}
        for key, value in stmt.items():
            if key in ('Action', 'NotAction'):
                norm[key] = sorted(set(a.lower() for a in _as_list(value)))
            elif key in ('Resource', 'NotResource'):
                norm[key] = sorted(set(_as_list(value)))
            elif key == 'Principal' and isinstance(value, dict):
                norm[key] = dict((k, sorted(set(_as_list(v)))) for k, v in value.items())
            else:
                norm[key] = value
        statements.append(norm)
    statements.sort(key=lambda s: json.dumps(s, sort_keys=True))
    return {'Version': document.get('Version', '2008-10-17'), 'Statement': statements}


def policies_equal(left, right):
    """True when two IAM policy documents mean the same."""
    return normalize_policy(left) == normalize_policy(right)


def trust_policy_for(services):
    return {
        'Version': '2012-10-17',
        'Statement': [{
            'Effect': 'Allow',
            'Principal': {'Service': sorted(services) if len(services) > 1 else services[0]},
            'Action': 'sts:AssumeRole',
        }],
    }


class IamRoleBackend:
    """Decisions of lk_iam_role: role, trust policy, inline or managed policy, instance profile."""

    def __init__(self, conn, params, check_mode):
        self.conn = conn
        self.params = params
        self.check_mode = check_mode
        if not KEY_ARN_RE.match(params['key_arn'] or ''):
            raise AwsError('key_arn %r is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY_ID); give the arn that lk_kms_key '
                           'returns, not the alias.' % params['key_arn'], code='InvalidKeyArn')
        if not params['trust_policy'] and not params['trusted_services']:
            raise AwsError('Give trusted_services (for example ec2.amazonaws.com) or trust_policy.', code='InvalidTrustPolicy')
        self.policy = looker_kms_policy(params['key_arn'])
        self.trust = params['trust_policy'] or trust_policy_for(params['trusted_services'])
        self.tags = dict((str(k), str(v)) for k, v in (params['tags'] or {}).items())
        self.tags[TAG_MANAGED] = TAG_MANAGED_VALUE
        self.changed = False
        self.before = {}
        self.after = {}

    def iam(self, operation, absent_codes=(), **kwargs):
        return self.conn.call('iam', operation, absent_codes=absent_codes, **kwargs)

    def _write(self, operation, **kwargs):
        self.changed = True
        if self.check_mode:
            return None
        return self.iam(operation, **kwargs)

    def ensure_role(self):
        name = self.params['name']
        answer = self.iam('GetRole', absent_codes=('NoSuchEntity',), RoleName=name)
        role = answer and answer['Role']
        self.before['role_exists'] = role is not None
        self.before['trust_policy'] = role and normalize_policy(role['AssumeRolePolicyDocument'])
        self.after['trust_policy'] = normalize_policy(self.trust)
        if role is None:
            created = self._write('CreateRole', RoleName=name, Path=self.params['path'], Description=self.params['description'],
                                  AssumeRolePolicyDocument=json.dumps(self.trust), Tags=aws_tags(self.tags))
            return (created and created['Role']), True
        if self.params['update_trust_policy'] and not policies_equal(role['AssumeRolePolicyDocument'], self.trust):
            self._write('UpdateAssumeRolePolicy', RoleName=name, PolicyDocument=json.dumps(self.trust))
        elif not self.params['update_trust_policy']:
            self.after['trust_policy'] = self.before['trust_policy']
        return role, False

    def ensure_inline(self, role_created):
        name, policy_name = self.params['name'], self.params['policy_name']
        current = None
        if not role_created:
            answer = self.iam('GetRolePolicy', absent_codes=('NoSuchEntity',), RoleName=name, PolicyName=policy_name)
            current = answer and answer['PolicyDocument']
        self.before['policy'] = current and normalize_policy(current)
        self.after['policy'] = normalize_policy(self.policy)
        if current is not None and policies_equal(current, self.policy):
            return False
        self._write('PutRolePolicy', RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(self.policy))
        return True

    def _account_id(self):
        # The managed policy lives in the account of the credentials (sts:GetCallerIdentity needs no permission).
        return self.conn.call('sts', 'GetCallerIdentity')['Account']

    def ensure_managed(self, role_created):
        name, policy_name, path = self.params['name'], self.params['policy_name'], self.params['path']
        partition = self.params['key_arn'].split(':')[1]
        policy_arn = 'arn:%s:iam::%s:policy%s%s' % (partition, self._account_id(), path, policy_name)
        answer = self.iam('GetPolicy', absent_codes=('NoSuchEntity',), PolicyArn=policy_arn)
        changed = False
        self.after['policy'] = normalize_policy(self.policy)
        if answer is None:
            self.before['policy'] = None
            created = self._write('CreatePolicy', PolicyName=policy_name, Path=path, PolicyDocument=json.dumps(self.policy),
                                  Description='Looker nodes (lookerops.encryption): use of the Looker CMK', Tags=aws_tags(self.tags))
            if created:
                policy_arn = created['Policy']['Arn']
            changed = True
        else:
            version = answer['Policy']['DefaultVersionId']
            document = self.iam('GetPolicyVersion', PolicyArn=policy_arn, VersionId=version)['PolicyVersion']['Document']
            self.before['policy'] = normalize_policy(document)
            if not policies_equal(document, self.policy):
                versions = self.iam('ListPolicyVersions', PolicyArn=policy_arn)['Versions']
                if len(versions) >= MAX_POLICY_VERSIONS:
                    oldest = sorted((v for v in versions if not v['IsDefaultVersion']), key=lambda v: v['CreateDate'])[0]
                    self._write('DeletePolicyVersion', PolicyArn=policy_arn, VersionId=oldest['VersionId'])
                self._write('CreatePolicyVersion', PolicyArn=policy_arn, PolicyDocument=json.dumps(self.policy), SetAsDefault=True)
                changed = True
        attached = []
        if not role_created:
            attached = [p['PolicyArn'] for p in self.conn.paginate('iam', 'ListAttachedRolePolicies', 'AttachedPolicies', RoleName=name)]
        if policy_arn not in attached:
            self._write('AttachRolePolicy', RoleName=name, PolicyArn=policy_arn)
            changed = True
        return changed, (policy_arn if answer is not None or not self.check_mode else None)

    def ensure_profile(self):
        name = self.params['name']
        answer = self.iam('GetInstanceProfile', absent_codes=('NoSuchEntity',), InstanceProfileName=name)
        profile = answer and answer['InstanceProfile']
        self.before['instance_profile_roles'] = profile and sorted(r['RoleName'] for r in profile['Roles'])
        self.after['instance_profile_roles'] = [name]
        if profile is None:
            created = self._write('CreateInstanceProfile', InstanceProfileName=name, Path=self.params['path'], Tags=aws_tags(self.tags))
            profile = created and created['InstanceProfile']
            roles = []
        else:
            roles = [r['RoleName'] for r in profile['Roles']]
        if roles and name not in roles:
            raise AwsError('The instance profile %s holds the role %s; a profile holds one role. Remove it from the profile, or choose '
                           'another name for the Looker role.' % (name, ', '.join(roles)), code='InstanceProfileInUse')
        if name not in roles:
            self._write('AddRoleToInstanceProfile', InstanceProfileName=name, RoleName=name)
        return profile and profile['Arn']

    def run(self):
        role, role_created = self.ensure_role()
        policy_arn = None
        if self.params['policy_type'] == 'inline':
            policy_changed = self.ensure_inline(role_created)
        else:
            policy_changed, policy_arn = self.ensure_managed(role_created)
        profile_arn = self.ensure_profile() if self.params['instance_profile'] else None
        return {
            'changed': self.changed,
            'role_name': self.params['name'],
            'role_arn': role and role['Arn'],
            'role_created': role_created,
            'policy_name': self.params['policy_name'],
            'policy_arn': policy_arn,
            'policy_changed': policy_changed,
            'policy': self.policy,
            'trust_policy': self.trust,
            'instance_profile_arn': profile_arn,
            'diff': {'before': self.before, 'after': self.after},
        }
