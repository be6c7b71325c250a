# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the KMS backend of lk_kms_key (the Looker CMK in AWS KMS).

Not a public API. Connection and tags come from ``common.py``, errors from ``errors.py``.
"""

from __future__ import annotations

import os
import re

from ansible_collections.lookerops.encryption.plugins.module_utils._aws.common import (
    TAG_ALIAS,
    TAG_CLUSTER,
    TAG_MANAGED,
    TAG_MANAGED_VALUE,
    aws_tags,
    tags_dict,
    wall_time_iso,
)
from ansible_collections.lookerops.encryption.plugins.module_utils._aws.errors import AwsError
from ansible_collections.lookerops.encryption.plugins.module_utils._cluster_names import DEFAULT_KMS_CONTEXT

LOOKER_DEFAULT_EC = DEFAULT_KMS_CONTEXT
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
