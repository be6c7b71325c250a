#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lk_kms_key
short_description: Find, create (optionally) and verify the AWS KMS key Looker uses as its Customer Master Key
version_added: 0.1.0
description:
  - Looks the key up by its alias O(alias) (C(alias/<name>)), the value Looker gets as C(LKR_AWS_CMK). The alias is the
    idempotency key.
  - With O(create=true), when the alias does not exist, creates a symmetric C(SYMMETRIC_DEFAULT) C(ENCRYPT_DECRYPT) key, tagged
    at creation with C(lookerops:cluster=<cluster>) and C(lookerops:alias=<alias>), then creates the alias. When the alias call
    fails (for example for lack of C(kms:CreateAlias)), the next run finds that key by its tags (C(kms:ListKeys) and
    C(kms:ListResourceTags)) and adopts it instead of creating a second key.
  - Always checks that the key is C(Enabled), C(SYMMETRIC_DEFAULT) and C(ENCRYPT_DECRYPT), and refuses it otherwise, saying why and
    what to do. A disabled key is never enabled by this module.
  - O(rotation) turns automatic key rotation on or off (KMS keeps old key material, so Looker keeps decrypting old data).
  - O(verify=true) proves that the credentials of the task can use the key the way Looker does. C(GenerateRandom) of 32 bytes
    (discarded) and an C(Encrypt)/C(Decrypt) round trip of 32 random bytes under the encryption context. No plaintext is ever
    returned or logged.
  - There is no O(state=absent). This collection never schedules the deletion of a CMK. Once Looker data is encrypted under it,
    deleting it loses the Looker instance (KMS cannot bring back a deleted key). Delete a key by hand, and only after Looker has
    been rekeyed away from it.
  - Runs on the controller (C(delegate_to=localhost), C(run_once=true)) with the standard boto3 credential chain.
author:
  - lookerops.encryption contributors (@lookerops)
options:
  alias:
    description:
      - The key alias, C(alias/<name>) or just C(<name>); returned as C(alias/<name>). This is C(LKR_AWS_CMK) on the nodes.
      - Names starting with C(alias/aws/) are reserved for AWS managed keys and are refused.
    type: str
    required: true
  state:
    description:
      - Only V(present). There is deliberately no V(absent), see the description.
    type: str
    choices: [present]
    default: present
  create:
    description:
      - Create the key and its alias when the alias does not exist (and no orphan tagged for the alias can be adopted).
      - With V(false) a missing alias fails the task.
    type: bool
    default: false
  cluster:
    description: Value of the C(lookerops:cluster) tag on a new key. Default the alias name without C(alias/).
    type: str
  description:
    description: Description of a new key. Default C(Looker CMK (lookerops.encryption) for <cluster>).
    type: str
  tags:
    description: More tags for a new key (only at creation; existing keys are not retagged).
    type: dict
    default: {}
  rotation:
    description:
      - V(true) enables, V(false) disables automatic rotation of the key material. Omitted, rotation is left as it is.
    type: bool
  verify:
    description:
      - Prove that the key works for these credentials, the way Looker uses it. Runs C(GenerateRandom) of 32 bytes (discarded) and
        an C(Encrypt)/C(Decrypt) round trip under the encryption context.
      - Needs C(kms:GenerateRandom), C(kms:Encrypt) and C(kms:Decrypt). A missing permission fails the task, naming the action.
    type: bool
    default: false
  encryption_context:
    description:
      - The string Looker gets as C(LKR_AWS_CMK_EC) (Looker's default is C(Looker_Encryption_Context)).
    type: str
    default: Looker_Encryption_Context
  encryption_context_key:
    description:
      - Looker takes the encryption context as one string. How Looker turns that string into the KMS C(EncryptionContext) map is
        not documented publicly (unknown).
      - This module uses the map with the one entry O(encryption_context_key) = O(encryption_context) for O(verify).
      - Only matters if the key policy or IAM policy has C(kms:EncryptionContext:...) conditions. Without such conditions any
        context works for Looker and for this check.
    type: str
    default: Looker_Encryption_Context
extends_documentation_fragment:
  - lookerops.encryption.attributes
  - ansible.builtin.action_common_attributes
  - lookerops.encryption.aws
attributes:
  check_mode:
    details:
      - Decides C(changed) from reads only; creates, tags, aliases nothing and leaves rotation as it is.
      - O(verify=true) still runs (it changes nothing in the account) when the key exists.
  diff_mode:
    support: partial
    details:
      - Metadata only (alias, key id, state, rotation).
notes:
  - Run it once per cluster on the controller, C(delegate_to=localhost) and C(run_once=true); the nodes need no AWS tools for this.
  - Each AWS call goes through botocore's retry (standard or adaptive mode, exponential backoff with full jitter).
seealso:
  - module: lookerops.encryption.lk_iam_role
  - module: lookerops.encryption.lk_node_env
"""

EXAMPLES = r"""
- name: Create (once) and verify the Looker CMK in KMS
  lookerops.encryption.lk_kms_key:
    alias: alias/looker-prod-cmk
    region: eu-west-1
    create: true
    rotation: true
    verify: true
  delegate_to: localhost
  run_once: true
  register: looker_cmk

- name: Point every node at the key
  lookerops.encryption.lk_node_env:
    mode: aws_kms
    aws_region: "{{ looker_cmk.region }}"
    aws_cmk: "{{ looker_cmk.alias }}"
    aws_cmk_ec: "{{ looker_cmk.encryption_context_string }}"
  become: true

- name: Only check an existing key (created by the security team), with a custom context
  lookerops.encryption.lk_kms_key:
    alias: looker-cmk
    profile: looker-admin
    verify: true
    encryption_context: MyCompany_Looker
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
key_id:
  description: KMS key id (null in check mode when the key would be created).
  returned: always
  type: str
  sample: 1234abcd-12ab-34cd-56ef-1234567890ab
arn:
  description: KMS key ARN (null in check mode when the key would be created).
  returned: always
  type: str
  sample: arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
alias:
  description: The alias, C(alias/<name>); the value for C(LKR_AWS_CMK).
  returned: always
  type: str
  sample: alias/looker-prod-cmk
region:
  description: The region of the key; the value for C(AWS_REGION).
  returned: always
  type: str
  sample: eu-west-1
state:
  description: KMS key state (C(Enabled) after success; null in check mode when the key would be created).
  returned: always
  type: str
  sample: Enabled
key_spec:
  description: Key spec.
  returned: always
  type: str
  sample: SYMMETRIC_DEFAULT
key_usage:
  description: Key usage.
  returned: always
  type: str
  sample: ENCRYPT_DECRYPT
key_created_at:
  description: When KMS created the key (ISO 8601); null in check mode when the key would be created.
  returned: always
  type: str
  sample: '2026-11-28T02:27:47.123000+00:00'
rotation_enabled:
  description: Automatic rotation after the task (in check mode, what it would be).
  returned: always
  type: bool
created:
  description: The key was created by this task (in check mode, would be created).
  returned: always
  type: bool
adopted:
  description: A key tagged for this alias but without the alias (left by a failed run) was adopted (in check mode, would be).
  returned: always
  type: bool
verified:
  description: O(verify=true) ran and the round trip succeeded.
  returned: always
  type: bool
encryption_context:
  description: The KMS encryption context map used by O(verify).
  returned: always
  type: dict
  sample: {"Looker_Encryption_Context": "Looker_Encryption_Context"}
encryption_context_string:
  description: The string for C(LKR_AWS_CMK_EC) (O(encryption_context)).
  returned: always
  type: str
  sample: Looker_Encryption_Context
notes:
  description: What the task noticed on the way (orphans not adopted, verification skipped); also given as warnings.
  returned: always
  type: list
  elements: str
looker_env:
  description:
    - The settings Looker needs on every node.
    - Feed them to M(lookerops.encryption.lk_node_env) with O(lookerops.encryption.lk_node_env#module:mode=aws_kms).
  returned: always
  type: dict
  sample: {"AWS_REGION": "eu-west-1", "LKR_AWS_CMK": "alias/looker-prod-cmk", "LKR_AWS_CMK_EC": "Looker_Encryption_Context"}
"""

from ansible_collections.lookerops.encryption.plugins.module_utils._aws.common import aws_module, run_backend
from ansible_collections.lookerops.encryption.plugins.module_utils._aws.kms import LOOKER_DEFAULT_EC, KmsKeyBackend


def argument_spec():
    return dict(
        alias=dict(type='str', required=True, no_log=False),
        state=dict(type='str', choices=['present'], default='present'),
        create=dict(type='bool', default=False),
        cluster=dict(type='str'),
        description=dict(type='str'),
        tags=dict(type='dict', default={}),
        rotation=dict(type='bool'),
        verify=dict(type='bool', default=False),
        encryption_context=dict(type='str', default=LOOKER_DEFAULT_EC),
        encryption_context_key=dict(type='str', default=LOOKER_DEFAULT_EC, no_log=False),
    )


def main():
    run_backend(aws_module(argument_spec()), KmsKeyBackend, 'alias')


if __name__ == '__main__':
    main()
