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
  - lookerops.encryption.aws
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details:
      - Decides C(changed) from reads only; creates, tags, aliases nothing and leaves rotation as it is.
      - O(verify=true) still runs (it changes nothing in the account) when the key exists.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: partial
    details:
      - Metadata only (alias, key id, state, rotation).
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
notes:
  - Run it once per cluster on the controller, C(delegate_to=localhost) and C(run_once=true); the nodes need no AWS tools for this.
  - Each AWS call goes through botocore's retry (standard or adaptive mode, exponential backoff with full jitter).
requirements:
  - boto3 and botocore on the controller
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

import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lookerops.encryption.plugins.module_utils._aws import (
    AWS_REQUIRED_TOGETHER,
    TAG_ALIAS,
    TAG_CLUSTER,
    TAG_MANAGED,
    TAG_MANAGED_VALUE,
    AwsConnection,
    AwsError,
    aws_tags,
    compose_argument_spec,
    require_boto3,
    tags_dict,
    wall_time_iso,
)

ALIAS_RE = re.compile(r'^alias/[A-Za-z0-9/_-]{1,250}$')
UNUSABLE_FOR_ADOPTION = ('PendingDeletion', 'PendingReplicaDeletion')


def normalize_alias(alias):
    """'name' or 'alias/name' -> 'alias/name'; refuses reserved and malformed names."""
    alias = (alias or '').strip()
    if not alias.startswith('alias/'):
        alias = 'alias/' + alias
    if not ALIAS_RE.match(alias):
        raise AwsError("alias %r is not a valid KMS alias: it must be alias/<name> with letters, digits, '/', '_' and '-' only "
                       "(what Looker gets as LKR_AWS_CMK)." % alias)
    if alias.startswith('alias/aws/'):
        raise AwsError('alias %s is reserved for AWS managed keys, which cannot be used as the Looker CMK; choose another name.' % alias)
    return alias


def key_spec(meta):
    return meta.get('KeySpec') or meta.get('CustomerMasterKeySpec')


def key_usage(meta):
    # AWS always reports KeyUsage; a SYMMETRIC_DEFAULT key can only be ENCRYPT_DECRYPT, so a missing value (moto leaves it out
    # when CreateKey was called without KeyUsage) means ENCRYPT_DECRYPT.
    usage = meta.get('KeyUsage')
    if usage is None and key_spec(meta) == 'SYMMETRIC_DEFAULT':
        return 'ENCRYPT_DECRYPT'
    return usage


class KmsKeyBackend:
    """Decisions of lk_kms_key: find by alias, adopt an orphan by tag, create, check, rotate, verify."""

    def __init__(self, conn, params, check_mode):
        self.conn = conn
        self.params = params
        self.check_mode = check_mode
        self.alias = normalize_alias(params['alias'])
        self.cluster = params.get('cluster') or self.alias[len('alias/'):]
        self.context = {params['encryption_context_key']: params['encryption_context']}
        self.changed = False
        self.created = False
        self.adopted = False
        self.warnings = []

    def kms(self, operation, remedy=None, **kwargs):
        return self.conn.call('kms', operation, remedy=remedy, **kwargs)

    def describe_by_alias(self):
        """KeyMetadata of the key behind the alias, or None when the alias does not exist."""
        answer = self.kms('DescribeKey', absent_codes=('NotFoundException',), KeyId=self.alias)
        return answer and answer['KeyMetadata']

    def find_orphans(self):
        """Keys tagged lookerops:alias=<alias> (created by an earlier run whose alias call failed) that have no alias of their own."""
        found = []
        remedy = ('without kms:ListResourceTags an orphan key from a failed run cannot be found and a second key could be created; '
                  'grant kms:ListResourceTags (and kms:ListKeys) to the identity running the task')
        for entry in self.conn.paginate('kms', 'ListKeys', 'Keys', remedy=remedy):
            key_id = entry['KeyId']
            answer = self.kms('ListResourceTags', remedy=remedy, absent_codes=('NotFoundException',), KeyId=key_id)
            if answer is None or tags_dict(answer.get('Tags')).get(TAG_ALIAS) != self.alias:
                continue  # deleted meanwhile, or not ours
            meta = self.kms('DescribeKey', KeyId=key_id)['KeyMetadata']
            if meta.get('KeyState') in UNUSABLE_FOR_ADOPTION:
                self.warnings.append('Key %s is tagged for %s but is %s; it was not adopted.' % (key_id, self.alias, meta['KeyState']))
                continue
            aliases = [a['AliasName'] for a in self.conn.paginate('kms', 'ListAliases', 'Aliases', KeyId=key_id)]
            if aliases:
                self.warnings.append('Key %s is tagged for %s but has the alias(es) %s; it was not adopted.'
                                     % (key_id, self.alias, ', '.join(sorted(aliases))))
                continue
            found.append(meta)
        return found

    def create_tags(self):
        tags = dict((str(k), str(v)) for k, v in (self.params.get('tags') or {}).items())
        tags.update({TAG_CLUSTER: self.cluster, TAG_ALIAS: self.alias, TAG_MANAGED: TAG_MANAGED_VALUE})
        return tags

    def create_key(self):
        description = self.params.get('description') or 'Looker CMK (lookerops.encryption) for %s' % self.cluster
        meta = self.kms('CreateKey', Description=description, KeyUsage='ENCRYPT_DECRYPT', KeySpec='SYMMETRIC_DEFAULT',
                        Tags=aws_tags(self.create_tags(), style='TagKey'))['KeyMetadata']
        self.created = True
        self.changed = True
        return meta

    def create_alias(self, meta):
        try:
            self.kms('CreateAlias', AliasName=self.alias, TargetKeyId=meta['KeyId'])
        except AwsError as exc:
            raise AwsError('%s The key %s exists, tagged %s=%s: the next run adopts it instead of creating another one.'
                           % (exc, meta['KeyId'], TAG_ALIAS, self.alias), code=exc.code, operation=exc.operation,
                           iam_action=exc.iam_action) from exc
        self.changed = True

    def check_usable(self, meta):
        """Refuse a key Looker could not use as its CMK."""
        key_id = meta['KeyId']
        state = meta.get('KeyState')
        if state == 'Disabled':
            raise AwsError('The KMS key %s behind %s is Disabled, so Looker could neither encrypt nor decrypt with it. If it is the right '
                           'key, enable it (aws kms enable-key --key-id %s --region %s) and run again; this module never enables a key '
                           'itself.' % (key_id, self.alias, key_id, self.conn.region), code='DisabledException')
        if state in ('PendingDeletion', 'PendingReplicaDeletion'):
            raise AwsError('The KMS key %s behind %s is scheduled for deletion (%s). If Looker data is encrypted under it, cancel the '
                           'deletion now (aws kms cancel-key-deletion --key-id %s), then enable it.'
                           % (key_id, self.alias, state, key_id), code='KMSInvalidStateException')
        if state != 'Enabled':
            raise AwsError('The KMS key %s behind %s is %s, not Enabled; Looker needs an enabled key (an imported key needs its key '
                           'material).' % (key_id, self.alias, state), code='KMSInvalidStateException')
        spec = key_spec(meta)
        if spec != 'SYMMETRIC_DEFAULT' or key_usage(meta) != 'ENCRYPT_DECRYPT':
            raise AwsError('The KMS key %s behind %s is %s/%s; Looker needs a symmetric encryption key (SYMMETRIC_DEFAULT, '
                           'ENCRYPT_DECRYPT). Point the alias at such a key.' % (key_id, self.alias, spec, key_usage(meta)),
                           code='UnsupportedKey')

    def ensure_rotation(self, meta):
        wanted = self.params.get('rotation')
        if meta is None:
            return bool(wanted)
        current = bool(self.kms('GetKeyRotationStatus', KeyId=meta['KeyId']).get('KeyRotationEnabled'))
        if wanted is None or wanted == current:
            return current
        self.changed = True
        if not self.check_mode:
            self.kms('EnableKeyRotation' if wanted else 'DisableKeyRotation', KeyId=meta['KeyId'])
        return wanted

    def verify(self, meta):
        """GenerateRandom + Encrypt/Decrypt round trip under the context; no plaintext leaves this function."""
        self.kms('GenerateRandom', NumberOfBytes=32)
        sample = os.urandom(32)
        blob = self.kms('Encrypt', KeyId=self.alias, Plaintext=sample, EncryptionContext=self.context)['CiphertextBlob']
        answer = self.kms('Decrypt', KeyId=meta['Arn'], CiphertextBlob=blob, EncryptionContext=self.context)
        if answer.get('Plaintext') != sample or answer.get('KeyId') not in (meta['Arn'], meta['KeyId']):
            raise AwsError('KMS Decrypt of the round trip under %s did not give back the bytes encrypted a moment before; the key '
                           'is not usable as the Looker CMK.' % self.alias, code='VerifyMismatch')
        return True

    def run(self):
        meta = self.describe_by_alias()
        before = {'alias': self.alias, 'exists': meta is not None, 'key_id': meta and meta['KeyId']}
        if meta is None:
            if not self.params['create']:
                raise AwsError('No KMS key has the alias %s in region %s. Create the key (or set create=true), or check the alias and '
                               'the region.' % (self.alias, self.conn.region), code='NotFoundException')
            orphans = self.find_orphans()
            if len(orphans) > 1:
                raise AwsError('%d keys are tagged %s=%s without an alias (%s); several runs failed before creating the alias. Keep '
                               'one (aws kms create-alias --alias-name %s --target-key-id KEY) and run again; nothing was created.'
                               % (len(orphans), TAG_ALIAS, self.alias, ', '.join(o['KeyId'] for o in orphans), self.alias),
                               code='AmbiguousOrphans')
            if orphans:
                meta = orphans[0]
                self.adopted = True
                self.changed = True
                self.warnings.append('Adopted key %s (tagged for %s, left without its alias by an earlier run).' % (meta['KeyId'], self.alias))
            elif self.check_mode:
                self.created = True
                self.changed = True
            else:
                meta = self.create_key()
            if meta is not None:
                self.check_usable(meta)  # an orphan that cannot serve as the CMK gets no alias
            if meta is not None and not self.check_mode:
                self.create_alias(meta)
                meta = self.kms('DescribeKey', KeyId=meta['KeyId'])['KeyMetadata']
        if meta is not None:
            self.check_usable(meta)
        rotation = self.ensure_rotation(meta)
        verified = False
        if self.params['verify']:
            if meta is None:
                self.warnings.append('verify skipped in check mode: the key does not exist yet.')
            else:
                verified = self.verify(meta)
        after = {'alias': self.alias, 'exists': True, 'key_id': meta and meta['KeyId'], 'rotation_enabled': rotation}
        region = self.conn.region
        return {
            'changed': self.changed,
            'key_id': meta and meta['KeyId'],
            'arn': meta and meta['Arn'],
            'alias': self.alias,
            'region': region,
            'state': meta and meta.get('KeyState'),
            'key_spec': key_spec(meta) if meta else 'SYMMETRIC_DEFAULT',
            'key_usage': key_usage(meta) if meta else 'ENCRYPT_DECRYPT',
            'key_created_at': wall_time_iso(meta.get('CreationDate')) if meta else None,
            'rotation_enabled': rotation,
            'created': self.created,
            'adopted': self.adopted,
            'verified': verified,
            'encryption_context': dict(self.context),
            'encryption_context_string': self.params['encryption_context'],
            'looker_env': {'AWS_REGION': region, 'LKR_AWS_CMK': self.alias, 'LKR_AWS_CMK_EC': self.params['encryption_context']},
            'notes': list(self.warnings),
            'diff': {'before': before, 'after': after},
        }


def argument_spec():
    return compose_argument_spec(dict(
        alias=dict(type='str', required=True, no_log=False),
        state=dict(type='str', choices=['present'], default='present'),
        create=dict(type='bool', default=False),
        cluster=dict(type='str'),
        description=dict(type='str'),
        tags=dict(type='dict', default={}),
        rotation=dict(type='bool'),
        verify=dict(type='bool', default=False),
        encryption_context=dict(type='str', default='Looker_Encryption_Context'),
        encryption_context_key=dict(type='str', default='Looker_Encryption_Context', no_log=False),
    ))


def main():
    module = AnsibleModule(argument_spec=argument_spec(), required_together=AWS_REQUIRED_TOGETHER, supports_check_mode=True)
    require_boto3(module)
    try:
        backend = KmsKeyBackend(AwsConnection(module.params), module.params, module.check_mode)
        result = backend.run()
    except AwsError as exc:
        module.fail_json(msg=str(exc), alias=module.params['alias'], **exc.to_result())
    for warning in backend.warnings:
        module.warn(warning)
    if not module._diff:
        result.pop('diff', None)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
