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
  - lookerops.encryption.attributes
  - ansible.builtin.action_common_attributes
  - lookerops.encryption.aws
attributes:
  check_mode:
    details:
      - Decides C(changed) from reads only; creates and updates nothing.
  diff_mode:
    support: full
    details:
      - The policy documents before and after (they hold no secret).
notes:
  - The identity running the task needs C(iam:GetRole), C(iam:CreateRole), C(iam:TagRole), C(iam:UpdateAssumeRolePolicy),
    C(iam:GetRolePolicy), C(iam:PutRolePolicy) (inline) or C(iam:GetPolicy), C(iam:GetPolicyVersion), C(iam:CreatePolicy),
    C(iam:CreatePolicyVersion), C(iam:ListPolicyVersions), C(iam:DeletePolicyVersion), C(iam:ListAttachedRolePolicies),
    C(iam:AttachRolePolicy) (managed), and for profiles C(iam:GetInstanceProfile), C(iam:CreateInstanceProfile),
    C(iam:AddRoleToInstanceProfile).
  - Attach the instance profile to the EC2 instances of the Looker nodes yourself (or with amazon.aws.ec2_instance).
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

from ansible_collections.lookerops.encryption.plugins.module_utils._aws.common import aws_module, run_backend
from ansible_collections.lookerops.encryption.plugins.module_utils._aws.iam import IamRoleBackend


def argument_spec():
    return dict(
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
    )


def main():
    run_backend(aws_module(argument_spec()), IamRoleBackend, 'name')


if __name__ == '__main__':
    main()
