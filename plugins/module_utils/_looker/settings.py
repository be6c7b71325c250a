# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: a Looker node's settings (lookerstart.cfg, LOOKERARGS, key settings, backend).

This is not a public API; it may change without notice. Standard library only: it runs on the node.
"""

from __future__ import annotations

import os
import re
import shlex
import stat

from ansible_collections.lookerops.encryption.plugins.module_utils import _node_env
from ansible_collections.lookerops.encryption.plugins.module_utils._files import atomic_write, is_atomic_temp_name, path_is_under
from ansible_collections.lookerops.encryption.plugins.module_utils._key_material import KeyMaterialError, kcv_of_text, kms_identity
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.home import LookerNodeError
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.proc import user_name
from ansible_collections.lookerops.encryption.plugins.module_utils._mysql.config import backend_summary

DEFAULT_PORT = 9999
KEY_VARS = ('LKR_MASTER_KEY_FILE', 'LKR_MASTER_KEY_ENV', 'AWS_REGION', 'LKR_AWS_CMK', 'LKR_AWS_CMK_EC')
# Variables whose value may be reported (LKR_MASTER_KEY_ENV and LOOKER_DB hold secrets: presence only).
VALUE_VARS = ('LOOKERARGS', 'LOOKERPORT', 'JAVAARGS', 'LKR_MASTER_KEY_FILE', 'AWS_REGION', 'LKR_AWS_CMK', 'LKR_AWS_CMK_EC')
PRESENCE_VARS = VALUE_VARS + ('LKR_MASTER_KEY_ENV', 'LOOKER_DB')

# Sourced in a subshell as the Looker user with cwd = Looker home. Prints NUL-separated records.
# Whether a variable is exported is checked by a child shell (which only sees exported variables),
# so that no value of a secret variable is ever printed.
_SETTINGS_SCRIPT = r'''
if [ -r ./lookerstart.cfg ]; then
  __lkops_cfg=1
  . ./lookerstart.cfg >/dev/null 2>&1 </dev/null
else
  __lkops_cfg=0
fi
__lkops_exported=$(/bin/sh -c 'for v in %(presence)s; do eval "[ -n \"\${$v+x}\" ]" && printf "%%s " "$v"; done')
printf '%%s\000' "__lookerops_settings__" "cfg=$__lkops_cfg" "exported=$__lkops_exported"
%(values)s
%(presence_checks)s
printf '%%s\000' "__lookerops_end__"
''' % {
    'presence': ' '.join(PRESENCE_VARS),
    'values': '\n'.join('printf "%%s\\000" "value.%s=${%s-}"' % (v, v) for v in VALUE_VARS),
    'presence_checks': '\n'.join('printf "%%s\\000" "set.%s=${%s+1}"' % (v, v) for v in PRESENCE_VARS),
}

# Prints the CMK text Looker would get from LKR_MASTER_KEY_ENV (printf is a shell builtin: the value is never
# in any argv). Read through a pipe into this process only, to compute its key check value or, for the
# escrow recovery of lk_cmk, to hand it to the controller; never written anywhere.
_KEY_ENV_SCRIPT = r"""
if [ -r ./lookerstart.cfg ]; then . ./lookerstart.cfg >/dev/null 2>&1 </dev/null; fi
printf '%s' "${LKR_MASTER_KEY_ENV-}"
"""


def parse_lookerargs(text):
    """The startup options the collection cares about, from a LOOKERARGS string (shlex-split)."""
    result = {'clustered': False, 'host_id': None, 'creds_file': None, 'shared_storage_dir': None, 'no_ssl': False,
              'port': None, 'parse_error': None}
    try:
        tokens = shlex.split(text or '')
    except ValueError as exc:
        result['parse_error'] = 'LOOKERARGS cannot be split like a shell would: %s' % exc
        return result
    with_value = {'-H': 'host_id', '--hostname': 'host_id', '-d': 'creds_file', '--internal-db-creds': 'creds_file',
                  '--shared-storage-dir': 'shared_storage_dir', '--port': 'port'}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == '--clustered':
            result['clustered'] = True
        elif tok == '--no-ssl':
            result['no_ssl'] = True
        elif tok in with_value:
            if i + 1 < len(tokens):
                result[with_value[tok]] = tokens[i + 1]
                i += 1
        elif tok.startswith('--') and '=' in tok and tok.split('=', 1)[0] in with_value:
            name, val = tok.split('=', 1)
            result[with_value[name]] = val
        i += 1
    if result['port'] is not None:
        try:
            result['port'] = int(result['port'])
        except ValueError:
            result['parse_error'] = 'LOOKERARGS has a --port that is not a number: %r' % result['port']
            result['port'] = None
    return result


class NodeSettings:
    """What lookerstart.cfg and LOOKERARGS give Looker on a node, read as the Looker user ``runner`` (a LookerUser).

    Values of secret variables (LKR_MASTER_KEY_ENV, LOOKER_DB, the key file's content) are read only on request,
    through a pipe into this process, and never kept.
    """

    def __init__(self, runner, port_override=None):
        self.runner = runner
        self.home = runner.home
        self.user = runner.user
        self.port_override = port_override
        self._settings = None

    def p(self, *parts):
        return os.path.join(self.home, *parts)

    def settings(self, refresh=False):
        """Effective settings from sourcing lookerstart.cfg in /bin/sh as the Looker user (never a key value)."""
        if self._settings is not None and not refresh:
            return self._settings
        if not os.path.isdir(self.home):
            raise LookerNodeError('the Looker home %s does not exist: set looker_home' % self.home)
        res = self.runner.run(['/bin/sh', '-c', _SETTINGS_SCRIPT], timeout=60, source_cfg=False)
        records = res['stdout'].split('\0')
        if res['timed_out'] or '__lookerops_end__' not in records or '__lookerops_settings__' not in records:
            raise LookerNodeError('sourcing %s in /bin/sh as %s did not finish (rc %s%s): check that file for an `exit`, '
                                  'a syntax error or a command that waits; stderr: %s'
                                  % (self.p('lookerstart.cfg'), self.user, res['rc'], ', timed out' if res['timed_out'] else '',
                                     res['stderr'][-500:].strip()))
        values = {}
        present = {}
        cfg_present = False
        exported = []
        for rec in records[records.index('__lookerops_settings__') + 1:]:
            if rec == '__lookerops_end__':
                break
            name, _sep, val = rec.partition('=')
            if name == 'cfg':
                cfg_present = val == '1'
            elif name == 'exported':
                exported = val.split()
            elif name.startswith('value.'):
                values[name[6:]] = val
            elif name.startswith('set.'):
                present[name[4:]] = val == '1'
        args = parse_lookerargs(values.get('LOOKERARGS', ''))
        port = None
        port_source = 'default'
        if args['port']:
            port, port_source = args['port'], 'LOOKERARGS --port'
        elif values.get('LOOKERPORT'):
            try:
                port, port_source = int(values['LOOKERPORT']), 'LOOKERPORT'
            except ValueError:
                port = None
        creds = args['creds_file']
        if creds and not os.path.isabs(creds):
            creds = os.path.normpath(os.path.join(self.home, creds))
        self._settings = {
            'lookerstart_cfg': cfg_present,
            'lookerargs': values.get('LOOKERARGS', ''),
            'lookerport': values.get('LOOKERPORT', ''),
            'javaargs': values.get('JAVAARGS', ''),
            'clustered': args['clustered'],
            'host_id': args['host_id'],
            'creds_file': creds,
            'shared_storage_dir': args['shared_storage_dir'],
            'no_ssl': args['no_ssl'],
            'port': port or DEFAULT_PORT,
            'port_source': port_source,
            'lookerargs_error': args['parse_error'],
            'looker_db_set': bool(present.get('LOOKER_DB')),
            'key_vars': dict((v, {'set': bool(present.get(v)), 'exported': v in exported}) for v in KEY_VARS),
            'key_values': {
                'LKR_MASTER_KEY_FILE': values.get('LKR_MASTER_KEY_FILE') if present.get('LKR_MASTER_KEY_FILE') else None,
                'AWS_REGION': values.get('AWS_REGION') if present.get('AWS_REGION') else None,
                'LKR_AWS_CMK': values.get('LKR_AWS_CMK') if present.get('LKR_AWS_CMK') else None,
                'LKR_AWS_CMK_EC': values.get('LKR_AWS_CMK_EC') if present.get('LKR_AWS_CMK_EC') else None,
            },
        }
        return self._settings

    def port(self):
        if self.port_override:
            return int(self.port_override)
        return self.settings()['port']

    def scheme(self):
        return 'http' if self.settings()['no_ssl'] else 'https'

    def key_summary(self):
        """Which key settings lookerstart.cfg gives the JVM: mode file|env|aws|none, and for a file its state."""
        st = self.settings()
        kv = st['key_vars']
        modes = []
        if kv['LKR_MASTER_KEY_FILE']['set']:
            modes.append('file')
        if kv['LKR_MASTER_KEY_ENV']['set']:
            modes.append('env')
        if kv['LKR_AWS_CMK']['set']:
            modes.append('aws')
        summary = {'mode': modes[0] if len(modes) == 1 else ('none' if not modes else 'multiple'), 'modes': modes,
                   'not_exported': sorted(v for v in KEY_VARS if kv[v]['set'] and not kv[v]['exported']),
                   'aws_region': st['key_values']['AWS_REGION'], 'aws_cmk': st['key_values']['LKR_AWS_CMK'],
                   'aws_cmk_ec': st['key_values']['LKR_AWS_CMK_EC'], 'key_file': None}
        path = st['key_values']['LKR_MASTER_KEY_FILE']
        if path:
            full = path if os.path.isabs(path) else os.path.join(self.home, path)
            info = {'path': path, 'exists': False, 'mode': None, 'owner': None, 'size': None}
            try:
                fst = os.stat(full)
                info.update({'exists': True, 'mode': '%04o' % stat.S_IMODE(fst.st_mode), 'owner': user_name(fst.st_uid),
                             'size': fst.st_size})
            except OSError:
                pass
            summary['key_file'] = info
        return summary

    def _key_env_text(self):
        """The LKR_MASTER_KEY_ENV value lookerstart.cfg gives the JVM (in memory only), or None when unset."""
        if not self.settings()['key_vars']['LKR_MASTER_KEY_ENV']['set']:
            return None
        # Through a pipe only: the key text is never in a file, not even a temporary one (read_secret).
        return self.runner.read_secret(_KEY_ENV_SCRIPT, 'LKR_MASTER_KEY_ENV', timeout=60, check_rc=True)

    def key_text_in_force(self):
        """(kind, text) of the local CMK Looker gets on this node: kind 'env' or 'file'; (None, None) without one.

        The text is never logged or returned by any module except to lk_cmk's action plugin, which re-escrows it.
        """
        text = self._key_env_text()
        if text is not None:
            return 'env', text
        path = self.settings()['key_values']['LKR_MASTER_KEY_FILE']
        if path:
            full = path if os.path.isabs(path) else os.path.join(self.home, path)
            fd = os.open(full, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0))
            with os.fdopen(fd, 'rb') as handle:
                return 'file', handle.read(4096).decode('ascii', 'replace')
        return None, None

    def key_identity(self):
        """Which key Looker gets on this node, without revealing it.

        ``identity`` is the key check value (``kcv1:...``) of a local CMK, ``kms:<region>/<alias>/<context>``
        for AWS KMS settings, or None without key settings; ``error`` says why a local key cannot be read.
        """
        summary = self.key_summary()
        out = {'identity': None, 'kind': None, 'error': None}
        if summary['mode'] == 'aws':
            out.update(kind='aws_kms', identity=kms_identity(summary['aws_region'], summary['aws_cmk'], summary['aws_cmk_ec']))
            return out
        if summary['mode'] not in ('file', 'env'):
            return out
        try:
            kind, text = self.key_text_in_force()
        except OSError as exc:
            out.update(kind=summary['mode'], error='cannot read the key file: %s' % exc.strerror)
            return out
        out['kind'] = kind
        try:
            out['identity'] = kcv_of_text(text)
        except KeyMaterialError as exc:
            out['error'] = 'not a valid CMK: %s' % exc
        return out

    def looker_db(self, timeout=60):
        """The LOOKER_DB value lookerstart.cfg gives Looker, or None. A secret: read through a pipe, never returned."""
        if not self.settings()['looker_db_set']:
            return None
        script = ('. ./lookerstart.cfg >/dev/null 2>&1 </dev/null; '
                  '[ -n "${LOOKER_DB+x}" ] && printf "%s" "$LOOKER_DB"')
        return self.runner.read_secret(script, 'LOOKER_DB', timeout) or None

    def backend(self):
        """Which backend database the settings name (mode, host, port, database, user, source; never the password)."""
        st = self.settings()
        looker_db = None if st['creds_file'] else self.looker_db()
        return backend_summary(creds_file=st['creds_file'], looker_db=looker_db)


# -- the key settings of a kept copy of a home -----------------------------------------------------

_KEY_FILE_SETTING = re.compile(r"LKR_MASTER_KEY_FILE='([^']*)'")
_KEY_ENV_LINE = re.compile(r'(?<![A-Za-z0-9_])LKR_MASTER_KEY_ENV=')
KEY_ENV_REMOVED = '# LKR_MASTER_KEY_ENV removed by lookerops.encryption (lk_restore): the escrow holds the key\n'


def _strip_cfg(cfg_path, check_mode):
    """Remove the managed key settings block (and any other line setting LKR_MASTER_KEY_ENV) from a lookerstart.cfg.
    Returns (what was removed or None, key file path the block named or None)."""
    try:
        st = os.lstat(cfg_path)
    except FileNotFoundError:
        return None, None
    if not stat.S_ISREG(st.st_mode):
        return None, None
    with open(cfg_path, 'rb') as handle:
        lines = handle.read().decode('utf-8', 'surrogateescape').splitlines(True)
    key_file = None
    removed = []
    try:
        start, end = _node_env.split_cfg(lines, cfg_path)
    except _node_env.NodeEnvError:
        start = end = None  # damaged markers: the key lines below still go
    if start is not None:
        match = _KEY_FILE_SETTING.search(''.join(lines[start:end]))
        key_file = match.group(1) if match else None
        lines = lines[:start] + lines[end:]
        removed.append('managed key settings block')
    kept = []
    for line in lines:
        if _KEY_ENV_LINE.search(line) and not line.lstrip().startswith('#'):
            kept.append(KEY_ENV_REMOVED)
            if 'other LKR_MASTER_KEY_ENV lines' not in removed:
                removed.append('other LKR_MASTER_KEY_ENV lines')
        else:
            kept.append(line)
    if not removed:
        return None, key_file
    if not check_mode:
        atomic_write(cfg_path, ''.join(kept).encode('utf-8', 'surrogateescape'), mode=stat.S_IMODE(st.st_mode),
                     uid=st.st_uid, gid=st.st_gid)
    return '%s (%s)' % (os.path.basename(cfg_path), ', '.join(removed)), key_file


def strip_key_material(copy, original_home, check_mode=False):
    """A kept copy of a Looker home (``<home>.pre-restore-*``) loses its key settings: the managed block of its
    lookerstart.cfg, the key file that block names when it lies inside the home, and the temp files interrupted
    writes of either left. The escrow holds the key. Returns what was (in check mode: would be) removed,
    relative to ``copy``; never reads a key."""
    removed = []
    cfg_path = os.path.join(copy, _node_env.CFG_NAME)
    what, key_file = _strip_cfg(cfg_path, check_mode)
    if what:
        removed.append(what)
    leftovers = [(copy, _node_env.CFG_NAME)]
    if key_file and os.path.isabs(key_file) and path_is_under(os.path.normpath(key_file), [original_home]):
        in_copy = os.path.join(copy, os.path.relpath(os.path.normpath(key_file), original_home))
        try:
            if stat.S_ISREG(os.lstat(in_copy).st_mode):
                if not check_mode:
                    os.unlink(in_copy)
                removed.append(os.path.relpath(in_copy, copy))
        except FileNotFoundError:
            pass
        leftovers.append((os.path.dirname(in_copy), os.path.basename(in_copy)))
    for directory, dest_name in leftovers:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            path = os.path.join(directory, name)
            if is_atomic_temp_name(name, dest_name) and stat.S_ISREG(os.lstat(path).st_mode):
                if not check_mode:
                    os.unlink(path)
                removed.append(os.path.relpath(path, copy))
    return removed
