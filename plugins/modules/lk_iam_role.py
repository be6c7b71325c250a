#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lk_iam_role
short_description: Ensure the IAM role (and optional instance profile) that lets the Looker nodes use the KMS CMK
version_added: 0.1.0
description:
  - Ensures an IAM role for the Looker nodes with the minimal policy Looker needs for its CMK. The policy is the document of
    C(docs/iam-policy.json) rendered with the key ARN O(key_arn).
  - C(kms:GenerateRandom) on C(*) (it is not a key resource), and C(kms:Encrypt), C(kms:Decrypt), C(kms:GenerateDataKey) and
    C(kms:DescribeKey) on the key ARN only.
  - The policy is an inline policy of the role (O(policy_type=inline)) or a customer managed policy attached to it
    (O(policy_type=managed)). Documents are compared by meaning (order, single values against one-element lists, case of action
    names), so a run that would change nothing reports no change.
  - With O(instance_profile=true), an instance profile of the same name holding the role, for EC2 nodes.
  - Creates and updates only; it never deletes a role, a policy or a profile.
  - Runs on the controller (C(delegate_to=localhost), C(run_once=true)) with the standard boto3 credential chain.
author:
  - lookerops.encryption contributors (@lookerops)
options:
  name:
    description: Name of the IAM role (and of the instance profile).
    type: str
    required: true
  key_arn:
    description:
      - ARN of the KMS key (RV(lookerops.encryption.lk_kms_key#module:arn)), for example
        C(arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab).
    type: str
    required: true
  state:
    description: Only V(present); this module never deletes IAM entities.
    type: str
    choices: [present]
    default: present
  path:
    description: IAM path of a new role, managed policy and instance profile.
    type: str
    default: /
  description:
    description: Description of a new role.
    type: str
    default: Looker nodes (lookerops.encryption) - use of the Looker CMK in KMS
  trusted_services:
    description:
      - Services that may assume the role (the trust policy), for example C(ec2.amazonaws.com) or C(ecs-tasks.amazonaws.com).
      - Ignored when O(trust_policy) is given.
    type: list
    elements: str
    default: [ec2.amazonaws.com]
  trust_policy:
    description: A complete trust (assume role) policy document, instead of the one built from O(trusted_services).
    type: dict
  update_trust_policy:
    description: Replace the trust policy of an existing role when it differs. With V(false) an existing trust policy is left alone.
    type: bool
    default: true
  policy_name:
    description: Name of the inline policy, or of the customer managed policy.
    type: str
    default: lookerops-looker-cmk
  policy_type:
    description:
      - V(inline) puts the policy into the role. V(managed) creates or updates a customer managed policy (a new default version;
        when five versions exist, the oldest non-default version is deleted first) and attaches it.
    type: str
    choices: [inline, managed]
    default: inline
  instance_profile:
    description: Also ensure an instance profile named O(name) holding the role (for EC2 nodes).
    type: bool
    default: false
  tags:
    description: Tags of a new role (and managed policy and instance profile); C(lookerops:managed-by) is always added.
    type: dict
    default: {}
extends_documentation_fragment:
  - lookerops.encryption.aws
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details:
      - Decides C(changed) from reads only; creates and updates nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details:
      - The policy documents before and after (they hold no secret).
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
notes:
  - The identity running the task needs C(iam:GetRole), C(iam:CreateRole), C(iam:TagRole), C(iam:UpdateAssumeRolePolicy),
    C(iam:GetRolePolicy), C(iam:PutRolePolicy) (inline) or C(iam:GetPolicy), C(iam:GetPolicyVersion), C(iam:CreatePolicy),
    C(iam:CreatePolicyVersion), C(iam:ListPolicyVersions), C(iam:DeletePolicyVersion), C(iam:ListAttachedRolePolicies),
    C(iam:AttachRolePolicy) (managed), and for profiles C(iam:GetInstanceProfile), C(iam:CreateInstanceProfile),
    C(iam:AddRoleToInstanceProfile).
  - Attach the instance profile to the EC2 instances of the Looker nodes yourself (or with amazon.aws.ec2_instance).
requirements:
  - boto3 and botocore on the controller
seealso:
  - module: lookerops.encryption.lk_kms_key
"""

EXAMPLES = r"""
- name: Role and instance profile for the Looker EC2 nodes
  lookerops.encryption.lk_iam_role:
    name: looker-prod-nodes
    key_arn: "{{ looker_cmk.arn }}"
    instance_profile: true
  delegate_to: localhost
  run_once: true

- name: Managed policy instead of an inline one, role assumed by ECS tasks
  lookerops.encryption.lk_iam_role:
    name: looker-prod-tasks
    key_arn: "{{ looker_cmk.arn }}"
    policy_type: managed
    trusted_services: [ecs-tasks.amazonaws.com]
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
role_name:
  description: Name of the role.
  returned: always
  type: str
  sample: looker-prod-nodes
role_arn:
  description: ARN of the role (null in check mode when it would be created).
  returned: always
  type: str
  sample: arn:aws:iam::111122223333:role/looker-prod-nodes
role_created:
  description: The role was created (in check mode, would be).
  returned: always
  type: bool
policy_name:
  description: Name of the inline or managed policy.
  returned: always
  type: str
policy_arn:
  description: ARN of the managed policy (O(policy_type=managed); null otherwise and in check mode when it would be created).
  returned: always
  type: str
policy_changed:
  description: The policy was created or updated (in check mode, would be).
  returned: always
  type: bool
policy:
  description: The policy document the role gets.
  returned: always
  type: dict
trust_policy:
  description: The trust policy document the role gets.
  returned: always
  type: dict
instance_profile_arn:
  description: ARN of the instance profile (O(instance_profile=true); null otherwise and in check mode when it would be created).
  returned: always
  type: str
"""

import json
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lookerops.encryption.plugins.module_utils._aws import (
    AWS_REQUIRED_TOGETHER,
    TAG_MANAGED,
    TAG_MANAGED_VALUE,
    AwsConnection,
    AwsError,
    aws_tags,
    compose_argument_spec,
    looker_kms_policy,
    normalize_policy,
    policies_equal,
    require_boto3,
)

KEY_ARN_RE = re.compile(r'^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$')
MAX_POLICY_VERSIONS = 5


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


def argument_spec():
    return compose_argument_spec(dict(
        name=dict(type='str', required=True),
        key_arn=dict(type='str', required=True, no_log=False),
        state=dict(type='str', choices=['present'], default='present'),
        path=dict(type='str', default='/'),
        description=dict(type='str', default='Looker nodes (lookerops.encryption) - use of the Looker CMK in KMS'),
        trusted_services=dict(type='list', elements='str', default=['ec2.amazonaws.com']),
        trust_policy=dict(type='dict'),
        update_trust_policy=dict(type='bool', default=True),
        policy_name=dict(type='str', default='lookerops-looker-cmk'),
        policy_type=dict(type='str', choices=['inline', 'managed'], default='inline'),
        instance_profile=dict(type='bool', default=False),
        tags=dict(type='dict', default={}),
    ))


def main():
    module = AnsibleModule(argument_spec=argument_spec(), required_together=AWS_REQUIRED_TOGETHER, supports_check_mode=True)
    require_boto3(module)
    try:
        result = IamRoleBackend(AwsConnection(module.params), module.params, module.check_mode).run()
    except AwsError as exc:
        module.fail_json(msg=str(exc), role_name=module.params['name'], **exc.to_result())
    if not module._diff:
        result.pop('diff', None)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
