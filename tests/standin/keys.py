# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key settings (LKR_MASTER_KEY_ENV / LKR_MASTER_KEY_FILE / AWS KMS) and the two encryption schemes.

Legacy: AES-128-CBC, fixed built-in key, random IV, PKCS7, no MAC (value prefix ``cbc0:``).
GCM: per record data key wrapped by the KEK; the KEK is wrapped by the CMK (local) or is a KMS data
key (AWS); versioned envelope, AES-256-GCM with associated data binding record id and version
(value prefix ``gcm1:``).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import stat

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

LEGACY_KEY = bytes.fromhex('4c6f6f6b65724c6567616379214b6579')  # built into the stand-in, like Looker's legacy key
LEGACY_PREFIX = 'cbc0:'
GCM_PREFIX = 'gcm1:'
ENVELOPE_VERSION = 1
KEK_AD = b'looker-standin|kek|v1'
DEFAULT_EC = 'Looker_Encryption_Context'
SCHEME_LEGACY = 'AES-128-CBC Legacy'
SCHEME_GCM = 'AES-GCM-256'


class StartError(Exception):
    """Looker refuses to start (or run a task): str() is the full Looker message."""

    def __init__(self, reason):
        super().__init__('Looker can not start because: ' + reason)
        self.reason = reason


def b64e(data):
    """bytes -> ascii base64."""
    return base64.b64encode(data).decode('ascii')


def b64d(text):
    """ascii base64 -> bytes."""
    return base64.b64decode(text.encode('ascii'))


# ---------------------------------------------------------------- legacy scheme


def legacy_encrypt(plaintext):
    """AES-128-CBC under the built-in legacy key (random IV, PKCS7)."""
    ivec = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    data = padder.update(plaintext) + padder.finalize()
    enc = Cipher(algorithms.AES(LEGACY_KEY), modes.CBC(ivec)).encryptor()
    return LEGACY_PREFIX + b64e(ivec + enc.update(data) + enc.finalize())


def legacy_decrypt(value):
    """Inverse of legacy_encrypt."""
    raw = b64d(value[len(LEGACY_PREFIX):])
    dec = Cipher(algorithms.AES(LEGACY_KEY), modes.CBC(raw[:16])).decryptor()
    data = dec.update(raw[16:]) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(data) + unpadder.finalize()


# ---------------------------------------------------------------- GCM scheme


def _ad(label, record_id):
    return ('looker-standin|%s|%s|v%d' % (label, record_id, ENVELOPE_VERSION)).encode('utf-8')


def gcm_encrypt(kek, record_id, plaintext):
    """Envelope with a fresh data key for this record."""
    dkey = os.urandom(32)
    n_dk = os.urandom(12)
    n_ct = os.urandom(12)
    env = {
        'v': ENVELOPE_VERSION,
        'alg': SCHEME_GCM,
        'wdk': b64e(n_dk + AESGCM(kek).encrypt(n_dk, dkey, _ad('dk', record_id))),
        'ct': b64e(n_ct + AESGCM(dkey).encrypt(n_ct, plaintext, _ad('data', record_id))),
    }
    return GCM_PREFIX + b64e(json.dumps(env, sort_keys=True).encode('ascii'))


def gcm_decrypt(kek, record_id, value):
    """Inverse of gcm_encrypt; raises InvalidTag if anything (key, id, version, bytes) does not match."""
    env = json.loads(b64d(value[len(GCM_PREFIX):]))
    if env.get('v') != ENVELOPE_VERSION:
        raise ValueError('unsupported envelope version %r' % env.get('v'))
    wdk = b64d(env['wdk'])
    dkey = AESGCM(kek).decrypt(wdk[:12], wdk[12:], _ad('dk', record_id))
    ct = b64d(env['ct'])
    return AESGCM(dkey).decrypt(ct[:12], ct[12:], _ad('data', record_id))


def decrypt_any(kek, record_id, value):
    """Plaintext of a record in either scheme (kek needed for GCM)."""
    if value.startswith(LEGACY_PREFIX):
        return legacy_decrypt(value)
    if kek is None:
        raise StartError('Missing backing keystore')
    return gcm_decrypt(kek, record_id, value)


# ---------------------------------------------------------------- key settings


def _decode_cmk(text):
    """Base64 text of a CMK -> 32 raw bytes. Surrounding whitespace (a trailing newline) is accepted."""
    text = text.strip()
    try:
        raw = base64.b64decode(text.encode('ascii'), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise StartError('Master Key is not valid base64') from None
    if len(raw) != 32:
        raise StartError('Size of the Master Key is invalid it must be 32 bytes however is %d' % len(raw))
    return raw


def read_key_file(path):
    """Checks of LKR_MASTER_KEY_FILE, in Looker's order: exists, mode 0400 exactly, size."""
    try:
        st = os.stat(path)
    except OSError:
        raise StartError('Missing backing keystore') from None
    if not stat.S_ISREG(st.st_mode):
        raise StartError('Missing backing keystore')
    mode = stat.S_IMODE(st.st_mode)
    if mode != 0o400:
        raise StartError('Permission for backing key file must be 0400, but is %03o' % mode)
    try:
        with open(path, 'rb') as handle:
            text = handle.read().decode('ascii')
    except (OSError, UnicodeDecodeError):
        raise StartError('Missing backing keystore') from None
    return _decode_cmk(text)


class LocalCMK:
    """A CMK from LKR_MASTER_KEY_ENV or LKR_MASTER_KEY_FILE."""

    provider = 'local'

    def __init__(self, raw, source):
        self._raw = raw
        self.source = source

    def new_kek(self):
        """(kek bytes, wrapped form to store)."""
        kek = os.urandom(32)
        return kek, self.wrap_kek(kek)

    def wrap_kek(self, kek):
        """Wrapped form of ``kek`` under this CMK."""
        nonce = os.urandom(12)
        return {'provider': self.provider, 'blob': b64e(nonce + AESGCM(self._raw).encrypt(nonce, kek, KEK_AD))}

    def unwrap_kek(self, wrapped):
        """KEK bytes; StartError if this CMK did not wrap it."""
        if wrapped.get('provider') != self.provider:
            raise StartError('the key encryption key of this database was made with %s, but a local Master Key is set'
                             % wrapped.get('provider'))
        blob = b64d(wrapped['blob'])
        try:
            return AESGCM(self._raw).decrypt(blob[:12], blob[12:], KEK_AD)
        except InvalidTag:
            raise StartError('the Master Key does not decrypt the key encryption key (KEK) of this database; '
                             'it is not the key this database was encrypted with') from None


class AwsCMK:
    """A CMK in AWS KMS (LKR_AWS_CMK alias, AWS_REGION, LKR_AWS_CMK_EC)."""

    provider = 'aws'

    def __init__(self, region, alias, context, source='LKR_AWS_CMK'):
        self.region = region
        self.alias = alias
        self.context = {'Looker_Encryption_Context': context}
        self.source = source
        self._client = None

    def _kms(self):
        if self._client is None:
            import boto3  # pylint: disable=import-outside-toplevel
            self._client = boto3.client('kms', region_name=self.region)
        return self._client

    def _call(self, name, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError  # pylint: disable=import-outside-toplevel
        try:
            return getattr(self._kms(), name)(**kwargs)
        except ClientError as exc:
            err = exc.response.get('Error', {})
            raise StartError('AWS KMS %s failed for %s: %s: %s' % (name, self.alias, err.get('Code'), err.get('Message'))) from None
        except BotoCoreError as exc:
            raise StartError('AWS KMS %s failed for %s: %s' % (name, self.alias, exc)) from None

    def new_kek(self):
        """(kek bytes, wrapped form to store) from KMS GenerateDataKey."""
        res = self._call('generate_data_key', KeyId=self.alias, KeySpec='AES_256', EncryptionContext=self.context)
        return res['Plaintext'], {'provider': self.provider, 'blob': b64e(res['CiphertextBlob']), 'alias': self.alias}

    def wrap_kek(self, kek):
        """Wrapped form of an existing ``kek`` (rekey): KMS Encrypt with the encryption context.

        Same stored form as new_kek, so unwrap_kek (Decrypt) reads both."""
        res = self._call('encrypt', KeyId=self.alias, Plaintext=kek, EncryptionContext=self.context)
        return {'provider': self.provider, 'blob': b64e(res['CiphertextBlob']), 'alias': self.alias}

    def unwrap_kek(self, wrapped):
        """KEK bytes via KMS Decrypt with the encryption context."""
        if wrapped.get('provider') != self.provider:
            raise StartError('the key encryption key of this database was made with a local Master Key, but %s is set'
                             % self.source)
        res = self._call('decrypt', CiphertextBlob=b64d(wrapped['blob']), EncryptionContext=self.context, KeyId=self.alias)
        return res['Plaintext']


def key_setting_names(suffix=''):
    """Variable names of the key settings, each with ``suffix`` appended (rekey: '_SOURCE' / '_DESTINATION')."""
    return {
        'aws_cmk': 'LKR_AWS_CMK' + suffix,
        'aws_region': 'AWS_REGION' + suffix,
        'aws_ec': 'LKR_AWS_CMK_EC' + suffix,
        'env': 'LKR_MASTER_KEY_ENV' + suffix,
        'file': 'LKR_MASTER_KEY_FILE' + suffix,
    }


def key_settings_for(env, suffix):
    """The CMK named by the key settings with ``suffix`` appended, or None when none of them is set.

    Precedence: LKR_AWS_CMK<suffix>, then LKR_MASTER_KEY_ENV<suffix>, then LKR_MASTER_KEY_FILE<suffix>.
    Empty values count as unset. The region is AWS_REGION<suffix>, else AWS_REGION, else AWS_DEFAULT_REGION;
    the encryption context LKR_AWS_CMK_EC<suffix>, else the default context. Raises StartError on a bad setting.
    """
    env = os.environ if env is None else env
    names = key_setting_names(suffix)
    if env.get(names['aws_cmk']):
        region = env.get(names['aws_region']) or env.get('AWS_REGION') or env.get('AWS_DEFAULT_REGION')
        if not region:
            raise StartError('%s is set but %s is not' % (names['aws_cmk'], names['aws_region']))
        return AwsCMK(region, env[names['aws_cmk']], env.get(names['aws_ec']) or DEFAULT_EC, source=names['aws_cmk'])
    if env.get(names['env']):
        return LocalCMK(_decode_cmk(env[names['env']]), names['env'])
    if env.get(names['file']):
        return LocalCMK(read_key_file(env[names['file']]), names['file'])
    return None


def key_settings(env=None):
    """The configured CMK, or None when no key setting is present. Raises StartError on a bad setting.

    Precedence: LKR_AWS_CMK, then LKR_MASTER_KEY_ENV, then LKR_MASTER_KEY_FILE. Empty values count as unset.
    """
    return key_settings_for(env, '')
