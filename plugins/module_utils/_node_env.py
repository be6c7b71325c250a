# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the key settings block in lookerstart.cfg (and a systemd drop-in). Not a public API.

Node-safe: standard library only. The block looks like design.md fixes it::

    # BEGIN lookerops.encryption (managed; do not edit)
    export LKR_MASTER_KEY_FILE='/home/looker/.lookerops/cmk.key'
    # END lookerops.encryption

Every other line of the file is kept byte for byte. No key text ever leaves this module except into
the file itself and, with a systemd drop-in and mode key_env, the drop-in's environment file (both
0600). The drop-in itself never holds the key: systemd shows ``Environment=`` values to unprivileged
users over D-Bus, so the key goes into an ``EnvironmentFile=`` (root, 0600) that only PID 1 reads.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import stat

from ansible_collections.lookerops.encryption.plugins.module_utils._cluster_names import DEFAULT_KMS_CONTEXT
from ansible_collections.lookerops.encryption.plugins.module_utils._files import atomic_write, remove_stale_temps
from ansible_collections.lookerops.encryption.plugins.module_utils._key_material import (
    KEY_FILE_MODE,
    KeyMaterialError,
    is_kcv,
    kcv,
    kms_identity,
    read_key_file,
    user_ids,
    validate_key_text,
)

BEGIN = '# BEGIN lookerops.encryption (managed; do not edit)'
END = '# END lookerops.encryption'
CFG_NAME = 'lookerstart.cfg'
CFG_MODE = 0o600
DROPIN_MODE = 0o600
DROPIN_DIR_MODE = 0o755
DROPIN_ENV_FILE_MODE = 0o600
# Variables whose value is secret: never in an Environment= line of a drop-in.
SECRET_VARS = ('LKR_MASTER_KEY_ENV',)
DEFAULT_AWS_CMK_EC = DEFAULT_KMS_CONTEXT
CONFLICT_VARS = ('LKR_MASTER_KEY_FILE', 'LKR_MASTER_KEY_ENV', 'LKR_AWS_CMK', 'LKR_AWS_CMK_EC')
SETTING_MODES = ('key_file', 'key_env', 'aws_kms', 'absent')
_CONFLICT_RE = re.compile(r'(?<![A-Za-z0-9_])(%s)=' % '|'.join(CONFLICT_VARS))
_KEY_ENV_RE = re.compile(r"LKR_MASTER_KEY_ENV='([^']*)'")
_SYSTEMD_BAD = re.compile(r'["\\\x00-\x1f\x7f]')


class NodeEnvError(Exception):
    """A settings problem; the message never holds key text."""


def sh_quote(value):
    """Single-quote ``value`` for /bin/sh (a quote becomes '"'"')."""
    if not isinstance(value, str) or '\x00' in value or '\n' in value or '\r' in value:
        raise NodeEnvError('Setting values must be single-line strings without NUL bytes.')
    return "'" + value.replace("'", "'\"'\"'") + "'"


def systemd_value(name, value):
    """One ``Environment=`` line; values with quotes, backslashes or control characters are refused."""
    if _SYSTEMD_BAD.search(value):
        raise NodeEnvError('The value of %s cannot go into a systemd Environment= line (it has a quote, backslash or control character); '
                           'choose a simpler value or do not use systemd_dropin.' % name)
    return 'Environment="%s=%s"' % (name, value.replace('%', '%%'))


def settings_for(mode, key_file=None, key=None, aws_region=None, aws_cmk=None, aws_cmk_ec=DEFAULT_AWS_CMK_EC):
    """The (name, value) pairs of the block for a setting mode (empty for absent)."""
    if mode == 'key_file':
        if not key_file or not os.path.isabs(key_file):
            raise NodeEnvError('mode=key_file needs key_file, an absolute path of the key file on the node.')
        return [('LKR_MASTER_KEY_FILE', key_file)]
    if mode == 'key_env':
        if key is None:
            raise NodeEnvError('mode=key_env needs the key; the lk_node_env action plugin fills it from `key` or the escrow.')
        return [('LKR_MASTER_KEY_ENV', key)]
    if mode == 'aws_kms':
        if not aws_region:
            raise NodeEnvError('mode=aws_kms needs aws_region (for example us-east-1).')
        if not aws_cmk or not aws_cmk.startswith('alias/') or aws_cmk == 'alias/':
            raise NodeEnvError("aws_cmk must be the alias of the KMS key, 'alias/<name>' (Looker's LKR_AWS_CMK), got %r." % (aws_cmk,))
        # LKR_AWS_CMK_EC is always written, also when it is Looker's default: the block then states the
        # whole setting and its fingerprint changes with it.
        return [('AWS_REGION', aws_region), ('LKR_AWS_CMK', aws_cmk), ('LKR_AWS_CMK_EC', aws_cmk_ec or DEFAULT_AWS_CMK_EC)]
    if mode == 'absent':
        return []
    raise NodeEnvError('mode must be one of %s.' % ', '.join(SETTING_MODES))


def render_block(pairs):
    """Block lines (with newlines) for the pairs; [] when there are none."""
    if not pairs:
        return []
    return [BEGIN + '\n', 'export ' + ' '.join('%s=%s' % (name, sh_quote(value)) for name, value in pairs) + '\n', END + '\n']


def dropin_env_file(dropin):
    """The environment file that goes with a drop-in: ``<drop-in without .conf>.env`` beside it (systemd reads only
    ``*.conf`` in a drop-in directory, so the file is never taken for a drop-in)."""
    base = dropin[:-len('.conf')] if dropin.endswith('.conf') else dropin
    return base + '.env'


def split_secret(pairs):
    """(plain pairs, secret pairs)."""
    return [p for p in pairs if p[0] not in SECRET_VARS], [p for p in pairs if p[0] in SECRET_VARS]


def render_env_file(pairs):
    """Content of the drop-in's EnvironmentFile for the secret pairs ('' when there are none)."""
    lines = []
    for name, value in pairs:
        if _SYSTEMD_BAD.search(value) or ' ' in value or "'" in value:
            raise NodeEnvError('The value of %s cannot go into a systemd environment file (it has a quote, space, backslash or '
                               'control character); do not use systemd_dropin with it.' % name)
        lines.append('%s=%s\n' % (name, value))
    return ''.join(lines)


def render_dropin(pairs, env_file=None):
    """Drop-in text: Environment= lines for the settings that are not secret, EnvironmentFile= for the others
    (``env_file`` is needed when there are secret pairs). The text never holds a secret value."""
    plain, secret = split_secret(pairs)
    lines = ['# Managed by lookerops.encryption; do not edit. Same settings as the managed block of lookerstart.cfg.', '[Service]']
    lines.extend(systemd_value(name, value) for name, value in plain)
    if secret:
        if not env_file or not os.path.isabs(env_file) or _SYSTEMD_BAD.search(env_file) or ' ' in env_file:
            raise NodeEnvError('The systemd environment file path %r must be absolute without spaces, quotes, backslashes or '
                               'control characters; choose a simpler systemd_dropin path.' % (env_file,))
        lines.append('EnvironmentFile=%s' % env_file.replace('%', '%%'))
    return '\n'.join(lines) + '\n'


def _redact_key(match):
    try:
        return "LKR_MASTER_KEY_ENV='%s'" % kcv(validate_key_text(match.group(1)))
    except KeyMaterialError:
        return "LKR_MASTER_KEY_ENV='invalid'"


def fingerprint_block(block_lines):
    """sha256 hex of the block text with any key value replaced by its kcv (None without a block)."""
    if not block_lines:
        return None
    text = _KEY_ENV_RE.sub(_redact_key, ''.join(block_lines))
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def block_mode(block_lines):
    """Setting mode a block sets, from its variables."""
    text = ''.join(block_lines)
    if not block_lines:
        return 'absent'
    if 'LKR_MASTER_KEY_FILE=' in text:
        return 'key_file'
    if 'LKR_MASTER_KEY_ENV=' in text:
        return 'key_env'
    if 'LKR_AWS_CMK=' in text:
        return 'aws_kms'
    return 'unknown'


def block_pairs(block_lines):
    """{name: value} of a managed block's export line(s) (the block is written by render_block)."""
    pairs = {}
    for line in block_lines:
        line = line.strip()
        if not line.startswith('export '):
            continue
        try:
            words = shlex.split(line[len('export '):])
        except ValueError:
            continue
        for word in words:
            name, sep, value = word.partition('=')
            if sep:
                pairs[name] = value
    return pairs


def key_identity(pairs):
    """Which key a set of settings gives Looker: a key check value (local CMK), ``kms:<region>/<alias>/<context>``,
    ``invalid`` (a local key Looker could not use), or None (no key settings). Never key text."""
    if 'LKR_MASTER_KEY_ENV' in pairs:
        try:
            return kcv(validate_key_text(pairs['LKR_MASTER_KEY_ENV']))
        except KeyMaterialError:
            return 'invalid'
    if 'LKR_MASTER_KEY_FILE' in pairs:
        try:
            info = read_key_file(pairs['LKR_MASTER_KEY_FILE'])
        except KeyMaterialError:
            return 'invalid'
        if not info['exists']:
            return None
        return info['kcv'] or 'invalid'
    if 'LKR_AWS_CMK' in pairs:
        return kms_identity(pairs.get('AWS_REGION', ''), pairs['LKR_AWS_CMK'], pairs.get('LKR_AWS_CMK_EC') or DEFAULT_AWS_CMK_EC)
    return None


REPLACE_MSG = (
    '{path} already gives Looker a different key ({old}); this task would set {new}. A key Looker is using is never '
    'replaced: after the migration the instance can only be read with the key it was migrated with. If the nodes '
    'use the right key, give that key (or its escrow) instead. To change the key of a migrated instance use the '
    "rekey procedure. Only if you know that no instance uses {old} (for example a key left by a run that never "
    'migrated), name it to be replaced: replace={old}.'
)


def split_cfg(lines, path='lookerstart.cfg'):
    """(start, end) indexes of the managed block (end exclusive) or (None, None). Raises on a damaged block."""
    begins = [i for i, line in enumerate(lines) if line.rstrip('\r\n') == BEGIN]
    ends = [i for i, line in enumerate(lines) if line.rstrip('\r\n') == END]
    if not begins and not ends:
        return None, None
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise NodeEnvError('The managed block in %s is damaged (BEGIN markers on lines %s, END markers on lines %s). Fix the file by hand so it '
                           'holds at most one block from "%s" to "%s", then run again.'
                           % (path, [i + 1 for i in begins] or 'none', [i + 1 for i in ends] or 'none', BEGIN, END))
    return begins[0], ends[0] + 1


def find_conflicts(lines, start, end):
    """[(line number, variable)] of key settings outside the managed block."""
    conflicts = []
    for index, line in enumerate(lines):
        if start is not None and start <= index < end:
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith('#'):
            continue
        for match in _CONFLICT_RE.finditer(stripped):
            conflicts.append((index + 1, match.group(1)))
    return conflicts


def _file_meta(path):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        raise NodeEnvError('%s is not a regular file (symlink or other); replace it by a regular file and run again.' % path)
    return st


class NodeEnvBackend:
    """Decisions of the lk_node_env module."""

    def __init__(self, looker_home, owner, mode, key_file=None, key=None, aws_region=None, aws_cmk=None,
                 aws_cmk_ec=DEFAULT_AWS_CMK_EC, systemd_dropin=None, expected_kcv=None, replace=None, check_mode=False):
        if not os.path.isdir(looker_home):
            raise NodeEnvError('The Looker home %s does not exist on this node; set looker_home to the directory holding looker.jar.' % looker_home)
        self.uid, self.gid, self.owner, self.group = user_ids(owner)
        self.path = os.path.join(looker_home, CFG_NAME)
        self.mode = mode
        self.key_file = key_file
        self.systemd_dropin = systemd_dropin
        self.check_mode = check_mode
        self.kcv = None
        if expected_kcv is not None and not is_kcv(expected_kcv):
            raise NodeEnvError("expected_kcv must look like 'kcv1:' followed by 16 hex digits (as returned by lk_cmk).")
        if mode == 'key_env':
            if key is None:
                raise NodeEnvError('mode=key_env needs the key; the lk_node_env action plugin fills it from `key` or the escrow.')
            self.kcv = kcv(validate_key_text(key))
            key = key.strip()
        elif mode == 'key_file':
            self.kcv = self._key_file_kcv(key_file)
        if expected_kcv is not None and self.kcv is not None and self.kcv != expected_kcv:
            raise NodeEnvError('The key for %s has %s but expected_kcv is %s: this node would get a different CMK than intended.'
                               % (mode, self.kcv, expected_kcv))
        self.pairs = settings_for(mode, key_file=key_file, key=key, aws_region=aws_region, aws_cmk=aws_cmk, aws_cmk_ec=aws_cmk_ec)
        self.block = render_block(self.pairs)
        self.replace = replace
        if mode == 'aws_kms':
            self.identity = key_identity(dict(self.pairs))
        else:
            self.identity = self.kcv

    def check_replacement(self, old_block):
        """Refuse to give Looker a different key than the one the block in force gives it, unless named in ``replace``."""
        if self.mode == 'absent':
            return None
        old = key_identity(block_pairs(old_block))
        if old is None or old == 'invalid' or self.identity is None or old == self.identity:
            return old
        if self.replace == old:
            return old
        raise NodeEnvError(REPLACE_MSG.format(path=self.path, old=old, new=self.identity))

    def _key_file_kcv(self, key_file):
        if not key_file or not os.path.isabs(key_file):
            raise NodeEnvError('mode=key_file needs key_file, an absolute path of the key file on the node.')
        info = read_key_file(key_file)
        if self.check_mode and (not info['exists'] or info['invalid'] is None):
            # In check mode lk_cmk has not written (or fixed) the key file yet: judge the block only.
            return info['kcv'] if info['exists'] else None
        if not info['exists']:
            raise NodeEnvError('The key file %s does not exist; put the CMK there first with lookerops.encryption.lk_cmk.' % key_file)
        if info['invalid']:
            raise NodeEnvError('The key file %s is not a valid CMK: %s' % (key_file, info['invalid']))
        if info['mode'] != '%04o' % KEY_FILE_MODE or info['uid'] != self.uid:
            raise NodeEnvError('The key file %s is mode %s owned by %s; Looker requires 0400 owned by %s. Fix it with lookerops.encryption.lk_cmk.'
                               % (key_file, info['mode'], info['owner'], self.owner))
        return info['kcv']

    def _read_cfg(self):
        st = _file_meta(self.path)
        if st is None:
            return None, []
        with open(self.path, 'rb') as handle:
            data = handle.read()
        try:
            text = data.decode('utf-8')
        except UnicodeDecodeError:
            raise NodeEnvError('%s is not UTF-8 text; fix it by hand.' % self.path) from None
        return st, text.splitlines(True)

    def _meta(self, st, block):
        return {
            'path': self.path,
            'exists': st is not None,
            'mode': '%04o' % stat.S_IMODE(st.st_mode) if st is not None else None,
            'uid': st.st_uid if st is not None else None,
            'setting_mode': block_mode(block),
            'settings_fingerprint': fingerprint_block(block),
        }

    def run(self):
        st, lines = self._read_cfg()
        start, end = split_cfg(lines, self.path)
        old_block = lines[start:end] if start is not None else []
        old_identity = self.check_replacement(old_block)
        if self.mode != 'absent':
            conflicts = find_conflicts(lines, start, end)
            if conflicts:
                raise NodeEnvError('%s sets the CMK outside the managed block (conflicting settings): %s. Remove those lines (or move their '
                                   'value into this task\'s options) and run again.'
                                   % (self.path, ', '.join('line %d sets %s' % item for item in conflicts)))
        if start is not None:
            new_lines = lines[:start] + self.block + lines[end:]
        elif self.block:
            new_lines = list(lines)
            if new_lines and not new_lines[-1].endswith('\n'):
                new_lines[-1] += '\n'
            new_lines += self.block
        else:
            new_lines = lines

        cfg_changed = False
        if self.block:
            metadata_ok = st is not None and stat.S_IMODE(st.st_mode) == CFG_MODE and st.st_uid == self.uid and st.st_gid == self.gid
            if new_lines != lines or not metadata_ok:
                cfg_changed = True
                if not self.check_mode:
                    atomic_write(self.path, ''.join(new_lines).encode('utf-8'), mode=CFG_MODE, uid=self.uid, gid=self.gid)
        elif new_lines != lines:
            cfg_changed = True
            if not self.check_mode:
                # Removing the block: keep the file's own mode and owner (never looser than before).
                atomic_write(self.path, ''.join(new_lines).encode('utf-8'), mode=stat.S_IMODE(st.st_mode), uid=st.st_uid, gid=st.st_gid)

        dropin_changed = self._ensure_dropin() if self.systemd_dropin else False

        after_st = st
        if cfg_changed:
            after_st = os.lstat(self.path) if not self.check_mode else None
        after_meta = self._meta(after_st, self.block)
        if self.check_mode and cfg_changed:
            after_meta.update(exists=True, mode='%04o' % (CFG_MODE if self.block else stat.S_IMODE(st.st_mode)),
                              uid=self.uid if self.block else st.st_uid)
        result = {
            'changed': cfg_changed or dropin_changed,
            'path': self.path,
            'mode': self.mode,
            # AnsibleModule.exit_json() overwrites `mode` with the file mode of `path`; the action plugin
            # puts the setting mode back from this key.
            'setting_mode': self.mode,
            'settings_fingerprint': fingerprint_block(self.block),
            'dropin_path': self.systemd_dropin,
            'dropin_changed': dropin_changed,
            'daemon_reload_needed': dropin_changed,
            'key_identity_before': old_identity,
            'key_identity': self.identity,
            'diff': {'before': self._meta(st, old_block), 'after': after_meta},
        }
        if self.kcv is not None:
            result['kcv'] = self.kcv
        return result

    def remove_stale_temps(self):
        """Temp files that an interrupted write of lookerstart.cfg (or of the drop-in's environment file) left behind; they
        may hold the key. Removed (in check mode: listed); returns their paths."""
        removed = remove_stale_temps(self.path, check_mode=self.check_mode)
        if self.systemd_dropin:
            removed += remove_stale_temps(dropin_env_file(self.systemd_dropin), check_mode=self.check_mode)
        return removed

    def _ensure_file(self, path, content, mode):
        """Write ``content`` to ``path`` (root's, ``mode``) unless it is there already; None content removes it. True on a change."""
        st = _file_meta(path)
        if content is None:
            if st is None:
                return False
            if not self.check_mode:
                os.unlink(path)
            return True
        if st is not None and stat.S_IMODE(st.st_mode) == mode and st.st_uid == os.geteuid():
            with open(path, 'rb') as handle:
                if handle.read() == content:
                    return False
        if not self.check_mode:
            directory = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(directory):
                os.makedirs(directory, DROPIN_DIR_MODE)
            atomic_write(path, content, mode=mode)
        return True

    def _ensure_dropin(self):
        """The drop-in (never a secret in it) and, for secret settings, its environment file (0600). The environment file
        is written before the drop-in that names it, and removed after it."""
        path = self.systemd_dropin
        env_file = dropin_env_file(path)
        _plain, secret = split_secret(self.pairs)
        env_content = render_env_file(secret).encode('utf-8') if secret else None
        dropin_content = render_dropin(self.pairs, env_file).encode('utf-8') if self.pairs else None
        changed = False
        if env_content is not None:
            changed = self._ensure_file(env_file, env_content, DROPIN_ENV_FILE_MODE) or changed
        changed = self._ensure_file(path, dropin_content, DROPIN_MODE) or changed
        if env_content is None:
            changed = self._ensure_file(env_file, None, DROPIN_ENV_FILE_MODE) or changed
        return changed
