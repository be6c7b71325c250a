# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the local Customer Master Key (CMK). Not a public API.

Node-safe: standard library only (nodes have no ``cryptography``). Validation, key check value
(KCV), reading and writing the key file, and the backend of the ``lk_cmk`` module.
Nothing here ever puts key text into a message, an exception, a return value or a diff.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import grp
import hashlib
import hmac
import os
import pwd
import stat
import typing as t

# kms_identity is defined with the other names of a cluster; the node helpers import it from here too.
from ansible_collections.lookerops.encryption.plugins.module_utils._cluster_names import kms_identity  # noqa: F401  pylint: disable=unused-import
from ansible_collections.lookerops.encryption.plugins.module_utils._files import atomic_write, remove_stale_temps

KEY_BYTES = 32
KCV_PREFIX = 'kcv1:'
KCV_MESSAGE = b'lookerops.encryption key check value v1'
KEY_FILE_MODE = 0o400
KEY_DIR_MODE = 0o700
DEFAULT_KEY_PATH = '/home/looker/.lookerops/cmk.key'
REMEDY = 'Generate a valid key with `openssl rand -base64 32` (base64, standard alphabet, of exactly 32 random bytes).'
_B64_ALPHABET = frozenset('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=')


class KeyMaterialError(Exception):
    """A key, a key file or a key policy problem; the message never contains key text."""


def validate_key_text(text):
    """Return the 32 raw bytes of a CMK given as text, or raise KeyMaterialError.

    Surrounding whitespace (such as the one trailing newline that ``openssl rand -base64 32 > f``
    writes) is stripped; everything else must be canonical, padded, standard-alphabet base64 of
    exactly 32 bytes.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode('ascii')
        except UnicodeDecodeError:
            raise KeyMaterialError('The CMK is not base64: it contains non-ASCII bytes. ' + REMEDY) from None
    if not isinstance(text, str):
        raise KeyMaterialError('The CMK must be a string, got %s. %s' % (type(text).__name__, REMEDY))
    stripped = text.strip()
    if not stripped:
        raise KeyMaterialError('The CMK is empty. ' + REMEDY)
    if any(char.isspace() for char in stripped):
        raise KeyMaterialError('The CMK has inner whitespace (a space or line break inside the key); it must be a single base64 word. ' + REMEDY)
    if '-' in stripped or '_' in stripped:
        raise KeyMaterialError("The CMK uses the url-safe base64 alphabet ('-' or '_'); Looker needs standard base64 ('+' and '/'). " + REMEDY)
    if not set(stripped) <= _B64_ALPHABET:
        raise KeyMaterialError('The CMK is not base64: it has characters outside A-Z, a-z, 0-9, +, / and =. ' + REMEDY)
    try:
        raw = base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError):
        raise KeyMaterialError('The CMK is not base64: its length (%d characters) or padding is wrong. %s' % (len(stripped), REMEDY)) from None
    if len(raw) != KEY_BYTES:
        raise KeyMaterialError('The CMK has decoded length %d bytes, must be %d. %s' % (len(raw), KEY_BYTES, REMEDY))
    if base64.b64encode(raw).decode('ascii') != stripped:
        raise KeyMaterialError('The CMK is not canonical base64 (non-zero padding bits: it does not re-encode to the same text). ' + REMEDY)
    return raw


def key_text_from_raw(raw):
    """Canonical key text (no newline) of 32 raw bytes."""
    if len(raw) != KEY_BYTES:
        raise KeyMaterialError('A CMK must be %d bytes, got %d.' % (KEY_BYTES, len(raw)))
    return base64.b64encode(raw).decode('ascii')


def generate_key_text():
    """A new CMK: base64 of 32 bytes from the OS random generator (what `openssl rand -base64 32` prints)."""
    return key_text_from_raw(os.urandom(KEY_BYTES))


def kcv(raw):
    """Key check value of the raw 32-byte key: reveals nothing about the key."""
    if isinstance(raw, str):
        raw = validate_key_text(raw)
    if len(raw) != KEY_BYTES:
        raise KeyMaterialError('A CMK must be %d bytes, got %d.' % (KEY_BYTES, len(raw)))
    return KCV_PREFIX + hmac.new(raw, KCV_MESSAGE, hashlib.sha256).hexdigest()[:16]


def kcv_of_text(text):
    """KCV of key text (validated)."""
    return kcv(validate_key_text(text))


def is_kcv(value):
    """True when ``value`` looks like a KCV this collection computes."""
    if not isinstance(value, str) or not value.startswith(KCV_PREFIX):
        return False
    digest = value[len(KCV_PREFIX):]
    return len(digest) == 16 and all(c in '0123456789abcdef' for c in digest)


def user_ids(owner, group=None):
    """(uid, gid, owner name, group name) for the Looker user; group defaults to its primary group."""
    try:
        pw_entry = pwd.getpwnam(owner)
    except KeyError:
        raise KeyMaterialError("The Looker user '%s' does not exist on this node; create it or set 'owner' to the user Looker runs as." % owner) from None
    if group:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            raise KeyMaterialError("The group '%s' does not exist on this node; set 'group' to an existing group or leave it unset." % group) from None
        group_name = group
    else:
        gid = pw_entry.pw_gid
        try:
            group_name = grp.getgrgid(gid).gr_name
        except KeyError:
            group_name = str(gid)
    return pw_entry.pw_uid, gid, owner, group_name


def _name_of_uid(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _name_of_gid(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def read_key_file(path):
    """Describe an existing key file without revealing it.

    Returns a dict: exists, mode ('0400'), uid, gid, owner, group, kcv (or None), invalid (reason or
    None). Raises KeyMaterialError when ``path`` is not a regular file (for example a symlink).
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return {'exists': False, 'mode': None, 'uid': None, 'gid': None, 'owner': None, 'group': None, 'kcv': None, 'invalid': None}
    if not stat.S_ISREG(st.st_mode):
        raise KeyMaterialError('%s exists but is not a regular file (a symlink, directory or device); move it away and run again.' % path)
    info = {
        'exists': True,
        'mode': '%04o' % stat.S_IMODE(st.st_mode),
        'uid': st.st_uid,
        'gid': st.st_gid,
        'owner': _name_of_uid(st.st_uid),
        'group': _name_of_gid(st.st_gid),
        'kcv': None,
        'invalid': None,
    }
    fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0))
    with os.fdopen(fd, 'rb') as handle:
        data = handle.read(4096)
    try:
        info['kcv'] = kcv(validate_key_text(data))
    except KeyMaterialError as exc:
        info['invalid'] = str(exc)
    return info


def ensure_key_dir(directory, uid, gid):
    """Create the key directory 0700 owned by the Looker user if it is missing. Returns True if created."""
    if os.path.isdir(directory):
        return False
    parent = os.path.dirname(os.path.abspath(directory))
    if not os.path.isdir(parent):
        raise KeyMaterialError('Cannot create the key directory %s: its parent %s does not exist (is the Looker user home right?).' % (directory, parent))
    os.mkdir(directory, KEY_DIR_MODE)
    os.chown(directory, uid, gid)
    os.chmod(directory, KEY_DIR_MODE)
    return True


def write_key_file(path, key_text, uid, gid):
    """Write the key file atomically: 0400, owned by uid:gid from the first byte, content key + newline."""
    validate_key_text(key_text)
    ensure_key_dir(os.path.dirname(os.path.abspath(path)), uid, gid)
    atomic_write(path, (key_text.strip() + '\n').encode('ascii'), mode=KEY_FILE_MODE, uid=uid, gid=gid)


DIFFERENT_KEY_MSG = (
    'A different CMK already exists at {path} ({found}); the key given has {wanted}. Refusing to replace it '
    '(on_different_key=fail; it is replaced only with on_different_key=replace and replace_kcv naming it). '
    'If this instance has already been migrated to AES-256-GCM with the existing key, '
    'replacing it makes the internal database unreadable and the instance is lost. To change the CMK of a migrated '
    "instance use Looker's offline `rekey` task (old key in LKR_MASTER_KEY_ENV_SOURCE, new key in "
    'LKR_MASTER_KEY_ENV_DESTINATION, whole cluster stopped and backed up). If the existing file is known to be unused, '
    'pass the key it holds, or set on_different_key=replace with replace_kcv={found} naming the key to replace (the old '
    'file is kept next to it as a backup).'
)


@dataclasses.dataclass(eq=False)
class CmkFileBackend:
    """Decisions of the lk_cmk module: what is on the node, what should be, and how to get there.

    ``key`` is an init-only argument: the backend keeps its stripped text as ``key_text``, never in its fields or repr.
    ``owner`` and ``group`` become the names that ``user_ids`` resolved, ``uid`` and ``gid`` their ids.
    """

    path: str
    owner: str
    group: t.Optional[str] = None
    key: dataclasses.InitVar[t.Optional[str]] = None
    expected_kcv: t.Optional[str] = None
    state: str = 'present'
    on_different_key: str = 'fail'
    check_mode: bool = False
    replace_kcv: t.Optional[str] = None

    def __post_init__(self, key):
        self.uid, self.gid, self.owner, self.group = user_ids(self.owner, self.group)
        self.key_text = None
        self.key_kcv = None
        if key is not None:
            self.key_kcv = kcv(validate_key_text(key))
            self.key_text = key.strip()
        expected_kcv = self.expected_kcv
        if expected_kcv is not None and not is_kcv(expected_kcv):
            raise KeyMaterialError("expected_kcv must look like 'kcv1:' followed by 16 hex digits (as returned by lk_cmk).")
        if self.state == 'present' and self.key_text is None:
            raise KeyMaterialError('state=present needs the key; it is filled in by the lk_cmk action plugin (from `key` or the escrow).')
        if self.state == 'validated' and expected_kcv is None and self.key_kcv is None:
            raise KeyMaterialError('state=validated needs expected_kcv (or key) to compare the key file with.')
        if self.key_kcv and expected_kcv and self.key_kcv != expected_kcv:
            raise KeyMaterialError('The key given has %s but expected_kcv is %s: the key was corrupted or the wrong one was sent.'
                                   % (self.key_kcv, expected_kcv))
        self.wanted_kcv = self.key_kcv or expected_kcv
        self.before = read_key_file(self.path)

    def _meta(self, info):
        return {'path': self.path, 'exists': info['exists'], 'mode': info['mode'], 'owner': info['owner'], 'group': info['group'], 'kcv': info['kcv']}

    def _metadata_ok(self, info):
        return info['mode'] == '%04o' % KEY_FILE_MODE and info['uid'] == self.uid and info['gid'] == self.gid

    def _result(self, changed, after, extra=None):
        result = {
            'changed': changed,
            'path': self.path,
            'kcv': after['kcv'],
            'mode': after['mode'],
            'owner': after['owner'],
            'group': after['group'],
            'diff': {'before': self._meta(self.before), 'after': self._meta(after)},
        }
        if extra:
            result.update(extra)
        return result

    def _wanted_after(self):
        return {'exists': True, 'mode': '%04o' % KEY_FILE_MODE, 'uid': self.uid, 'gid': self.gid, 'owner': self.owner, 'group': self.group,
                'kcv': self.wanted_kcv, 'invalid': None}

    def validate(self):
        """state=validated: compare only, never write."""
        before = self.before
        if not before['exists']:
            raise KeyMaterialError('No key file at %s. Run lk_cmk with state=present first.' % self.path)
        if before['invalid']:
            raise KeyMaterialError('The key file %s is not a valid CMK: %s' % (self.path, before['invalid']))
        if before['kcv'] != self.wanted_kcv:
            raise KeyMaterialError('The key file %s holds %s, expected %s: this node has a different CMK than the escrow/inventory says. '
                                   'Find out which key the instance was migrated with before changing anything.' % (self.path, before['kcv'], self.wanted_kcv))
        if not self._metadata_ok(before):
            raise KeyMaterialError('The key file %s has the right key but mode %s owner %s:%s; Looker requires 0400 owned by %s:%s. '
                                   'Run lk_cmk with state=present to fix it.'
                                   % (self.path, before['mode'], before['owner'], before['group'], self.owner, self.group))
        return self._result(False, before)

    def needs_write(self):
        """'write' (missing), 'replace' (different or invalid), 'fix' (metadata only) or None."""
        before = self.before
        if not before['exists']:
            return 'write'
        if before['invalid'] or before['kcv'] != self.wanted_kcv:
            return 'replace'
        if not self._metadata_ok(before):
            return 'fix'
        return None

    def ensure(self):
        """state=present."""
        action = self.needs_write()
        before = self.before
        if action is None:
            return self._result(False, before)
        extra = {}
        if action == 'replace':
            found = 'not a valid CMK: %s' % before['invalid'] if before['invalid'] else before['kcv']
            # A key Looker could use is replaced only when named by its key check value; an invalid file is no usable key.
            named = bool(before['invalid']) or (self.replace_kcv is not None and self.replace_kcv == before['kcv'])
            if self.on_different_key != 'replace' or not named:
                raise KeyMaterialError(DIFFERENT_KEY_MSG.format(path=self.path, found=found, wanted=self.wanted_kcv))
            backup = '%s.replaced-%s' % (self.path, (before['kcv'] or 'invalid').replace(KCV_PREFIX, ''))
            extra['backup_path'] = backup
            if not self.check_mode:
                if os.path.lexists(backup):
                    os.unlink(backup)
                # Hard link: the old key keeps its inode, mode 0400 and owner; no copy of it is ever written.
                os.link(self.path, backup)
        if self.check_mode:
            return self._result(True, self._wanted_after(), extra)
        if action in ('write', 'replace'):
            write_key_file(self.path, self.key_text, self.uid, self.gid)
        else:
            self._fix_metadata()
        after = read_key_file(self.path)
        if after['kcv'] != self.wanted_kcv:
            raise KeyMaterialError('Wrote %s but reading it back gives %s instead of %s.' % (self.path, after['kcv'], self.wanted_kcv))
        if not self._metadata_ok(after):
            raise KeyMaterialError('Could not set %s to mode 0400 owned by %s:%s (it is %s %s:%s); Looker refuses a key file that is not 0400. '
                                   'Check the file system (read-only, ACLs, immutable attribute).'
                                   % (self.path, self.owner, self.group, after['mode'], after['owner'], after['group']))
        return self._result(True, after, extra)

    def _fix_metadata(self):
        try:
            os.chown(self.path, self.uid, self.gid, follow_symlinks=False)
            os.chmod(self.path, KEY_FILE_MODE)
        except OSError as exc:
            raise KeyMaterialError('Could not set %s to mode 0400 owned by %s:%s: %s. Looker refuses a key file that is not 0400; fix it by hand.'
                                   % (self.path, self.owner, self.group, exc.strerror)) from None

    def remove_stale_temps(self):
        """state=present: temp files an interrupted write of the key file left next to it (they may hold a key) go.
        Returns their paths (in check mode: the paths that would go)."""
        if self.state != 'present':
            return []
        return remove_stale_temps(self.path, check_mode=self.check_mode)

    def run(self):
        if self.state == 'validated':
            return self.validate()
        return self.ensure()
