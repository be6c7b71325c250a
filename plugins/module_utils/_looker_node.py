# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: one customer-hosted Looker node (layout, settings, pid, /alive, tasks, log).

This is not a public API; it may change without notice. Standard library only: it runs on the node.
"""

from __future__ import annotations

import base64
import datetime
import errno
import gzip
import hashlib
import http.client
import json
import os
import pwd
import re
import shlex
import shutil
import ssl
import stat
import subprocess
import tempfile
import time
import zipfile

from ansible_collections.lookerops.encryption.plugins.module_utils._key_material import KeyMaterialError, kcv_of_text
from ansible_collections.lookerops.encryption.plugins.module_utils._mysql import backend_summary

DEFAULT_PORT = 9999
DEFAULT_API_PORT = 19999
DEFAULT_VERSION_KEYS = ('Implementation-Version', 'Looker-Version', 'Bundle-Version')
DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin'
FENCE_PREFIX = 'lookerops.encryption run '
MARKER_NAME = '.lookerops-encryption.json'
KEY_VARS = ('LKR_MASTER_KEY_FILE', 'LKR_MASTER_KEY_ENV', 'AWS_REGION', 'LKR_AWS_CMK', 'LKR_AWS_CMK_EC')
# Variables whose value may be reported (LKR_MASTER_KEY_ENV and LOOKER_DB hold secrets: presence only).
VALUE_VARS = ('LOOKERARGS', 'LOOKERPORT', 'JAVAARGS', 'LKR_MASTER_KEY_FILE', 'AWS_REGION', 'LKR_AWS_CMK', 'LKR_AWS_CMK_EC')
PRESENCE_VARS = VALUE_VARS + ('LKR_MASTER_KEY_ENV', 'LOOKER_DB')

LIVE_NODES_MSG = 'There are other live nodes connected to this backend Looker database'
CANNOT_START_MSG = 'Looker can not start because:'
MIGRATION_STARTED_RE = re.compile(r'Starting migration from AES-128-CBC Legacy to AES-GCM-256')

LOG_TS_RE = re.compile(r'^(\d{4}-\d{2}-\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))? ([+-])(\d{2})(\d{2})(?=\s|$)')
HEAD_BYTES = 4096
ROTATED_RE = re.compile(r'^looker\.log\.(\d{8})(\.gz)?$')

SUPERVISOR_PATHS = {
    'systemd': ('etc/systemd/system/looker.service', 'lib/systemd/system/looker.service', 'usr/lib/systemd/system/looker.service'),
    'sysv': ('etc/init.d/looker',),
    'monit': ('etc/monit/monitrc', 'etc/monitrc', 'etc/monit/conf.d', 'etc/monit.d'),
}

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

_SOURCE_CFG_WRAPPER = 'if [ -r ./lookerstart.cfg ]; then . ./lookerstart.cfg >/dev/null 2>&1 </dev/null; fi; exec "$@"'


class LookerNodeError(Exception):
    """A problem with the node; ``str()`` names what is wrong and what to do (never a secret)."""


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def parse_since(value):
    """Parse 'YYYY-MM-DD HH:MM:SS[.fff]' (UTC) or ISO 8601 (with Z or an offset) into an aware UTC datetime."""
    if isinstance(value, datetime.datetime):
        dt = value
    else:
        text = str(value).strip()
        if text.endswith('Z') or text.endswith('z'):
            text = text[:-1] + '+00:00'
        try:
            dt = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise LookerNodeError("cannot read the time %r: give UTC as 'YYYY-MM-DD HH:MM:SS' or ISO 8601 "
                                  "(for example 2026-11-28T01:50:00Z)" % value) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return dt.astimezone(datetime.timezone.utc)


def log_line_time(line):
    """The UTC datetime at the start of a Looker text log line, or None for a continuation line."""
    match = LOG_TS_RE.match(line)
    if not match:
        return None
    day, hh, mm, ss, frac, sign, oh, om = match.groups()
    try:
        base = datetime.datetime.strptime('%s %s:%s:%s' % (day, hh, mm, ss), '%Y-%m-%d %H:%M:%S')
    except ValueError:
        return None
    micro = int((frac or '0').ljust(6, '0'))
    offset = datetime.timedelta(hours=int(oh), minutes=int(om))
    if sign == '-':
        offset = -offset
    return (base.replace(microsecond=micro) - offset).replace(tzinfo=datetime.timezone.utc)


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


def read_manifest_version(jar_path, keys=DEFAULT_VERSION_KEYS):
    """Release of a looker.jar from META-INF/MANIFEST.MF (first of ``keys`` present), or None when unreadable."""
    try:
        with zipfile.ZipFile(jar_path) as jar:
            raw = jar.read('META-INF/MANIFEST.MF')
    except (OSError, KeyError, zipfile.BadZipFile, RuntimeError):
        return None
    attrs = {}
    last = None
    for line in raw.decode('utf-8', 'replace').splitlines():
        if line.startswith(' ') and last is not None:
            attrs[last] += line[1:]
            continue
        if ':' in line:
            name, val = line.split(':', 1)
            last = name.strip()
            attrs[last] = val.strip()
        else:
            last = None
    for key in keys:
        if attrs.get(key):
            return attrs[key]
    return None


def _read_cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            raw = handle.read()
    except OSError:
        return None
    return [part.decode('utf-8', 'replace') for part in raw.split(b'\0') if part]


def pid_is_alive(pid):
    """True when ``pid`` is a live process whose command line mentions looker.jar (stale pid files happen)."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    except OSError:
        return False
    argv = _read_cmdline(pid)
    if not argv:
        return False
    try:
        with open('/proc/%d/stat' % pid, 'rb') as handle:
            if handle.read().rsplit(b')', 1)[-1].split()[0] == b'Z':
                return False
    except (OSError, IndexError):
        pass
    return any('looker.jar' in part for part in argv)


def looker_task_of(argv):
    """(jar, task) when argv runs ``-jar .../looker.jar TASK``; task None when there is no task word."""
    for i, part in enumerate(argv[:-1]):
        if part == '-jar' and os.path.basename(argv[i + 1]) == 'looker.jar':
            rest = argv[i + 2:]
            task = rest[0] if rest and not rest[0].startswith('-') else None
            return argv[i + 1], task
    return None


def _user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _task_jar_id(pid, jar):
    """(st_dev, st_ino) of the jar a process runs, resolved in that process's own mount namespace and cwd."""
    base = '/proc/%d/root' % pid if os.path.isabs(jar) else '/proc/%d/cwd' % pid
    try:
        st = os.stat(base + ('' if os.path.isabs(jar) else '/') + jar)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def running_looker_tasks(exclude_tasks=('start',)):
    """Processes running ``java ... -jar looker.jar TASK`` with a task word other than start: [{pid, task, user, jar}]."""
    found = []
    own = os.getpid()
    try:
        entries = os.listdir('/proc')
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit() or int(entry) == own:
            continue
        pid = int(entry)
        argv = _read_cmdline(pid)
        if not argv:
            continue
        hit = looker_task_of(argv)
        if not hit or hit[1] is None or hit[1] in exclude_tasks:
            continue
        try:
            uid = os.stat('/proc/%d' % pid).st_uid
        except OSError:
            continue
        found.append({'pid': pid, 'task': hit[1], 'user': _user_name(uid), 'jar': hit[0], 'jar_id': _task_jar_id(pid, hit[0])})
    return sorted(found, key=lambda item: item['pid'])


class LookerNode:
    """One Looker node: ``home`` is the Looker directory (holding looker.jar), ``user`` the Looker user."""

    def __init__(self, home, user, java='java', port=None, version_keys=None, path=None, supervisor_root='/'):
        self.home = os.path.abspath(home)
        self.user = user
        self.java = java or 'java'
        self.port_override = port
        self.version_keys = tuple(version_keys or DEFAULT_VERSION_KEYS)
        self.path_override = path
        self.supervisor_root = supervisor_root
        self._settings = None
        self._login_path = None

    # -- layout -------------------------------------------------------------------------------

    def p(self, *parts):
        return os.path.join(self.home, *parts)

    @property
    def jar(self):
        return self.p('looker.jar')

    @property
    def pid_file(self):
        return self.p('.tmp', 'looker.pid')

    @property
    def token_file(self):
        return self.p('.status_server_token')

    @property
    def fence_file(self):
        return self.p('.deploying')

    @property
    def log_dir(self):
        return self.p('log')

    @property
    def log_file(self):
        return self.p('log', 'looker.log')

    @property
    def marker_file(self):
        return self.p(MARKER_NAME)

    def layout(self):
        return {
            'home_exists': os.path.isdir(self.home),
            'jar_present': os.path.isfile(self.jar),
            'dependencies_jar_present': os.path.isfile(self.p('looker-dependencies.jar')),
            'startup_script_present': os.path.isfile(self.p('looker')),
            'lookerstart_cfg_present': os.path.isfile(self.p('lookerstart.cfg')),
            # Looker's internal (HyperSQL) database: present once the instance has run with it, so it holds data.
            'internal_db_present': os.path.isfile(self.p('.db', 'looker.script')),
        }

    def require_home(self):
        if not os.path.isdir(self.home):
            raise LookerNodeError('the Looker home %s does not exist: set looker_home to the directory holding looker.jar'
                                  % self.home)
        if not os.path.isfile(self.jar):
            raise LookerNodeError('%s has no looker.jar: set looker_home to the directory holding looker.jar' % self.home)

    def release(self):
        return read_manifest_version(self.jar, self.version_keys)

    # -- the Looker user ----------------------------------------------------------------------

    def user_info(self):
        try:
            return pwd.getpwnam(self.user)
        except KeyError:
            raise LookerNodeError("the Looker user '%s' does not exist on this node: set looker_user to the user "
                                  "that runs Looker" % self.user) from None

    def login_path(self):
        """PATH for Looker commands: the override, else the user's login PATH, else /usr/local/bin:/usr/bin:/bin."""
        if self.path_override:
            path = self.path_override
        else:
            if self._login_path is None:
                self._login_path = self._probe_login_path() or DEFAULT_PATH
            path = self._login_path
        if os.path.isabs(self.java):
            # The startup script calls plain `java`: put the directory of the configured java first so both agree.
            jdir = os.path.dirname(self.java)
            path = jdir + ':' + ':'.join(p for p in path.split(':') if p != jdir)
        return path

    def _probe_login_path(self):
        marker = '__lookerops_path__'
        try:
            res = self._run(['/bin/sh', '-l', '-c', 'printf "\\n%s%%s" "$PATH"' % marker], timeout=15, source_cfg=False,
                            path=DEFAULT_PATH, cwd=self.user_info().pw_dir if os.path.isdir(self.user_info().pw_dir) else '/')
        except (LookerNodeError, OSError):
            return None
        if res['rc'] != 0 or marker not in res['stdout']:
            return None
        return res['stdout'].rsplit(marker, 1)[1].strip() or None

    def _child_env(self, env_extra=None, path=None):
        info = self.user_info()
        env = {'HOME': info.pw_dir, 'USER': info.pw_name, 'LOGNAME': info.pw_name,
               'SHELL': info.pw_shell or '/bin/sh', 'PATH': path or self.login_path()}
        if env_extra:
            env.update(env_extra)
        return env

    def _preexec(self):
        info = self.user_info()
        if os.geteuid() != 0:
            if os.geteuid() != info.pw_uid:
                raise LookerNodeError("this module must run as root (become: true) to run Looker commands as '%s'"
                                      % self.user)
            return None

        def drop():
            os.initgroups(info.pw_name, info.pw_gid)
            os.setgid(info.pw_gid)
            os.setuid(info.pw_uid)
        return drop

    def _argv(self, argv, source_cfg):
        if source_cfg:
            return ['/bin/sh', '-c', _SOURCE_CFG_WRAPPER, 'sh'] + list(argv)
        return list(argv)

    def spawn(self, argv, out_dir, env_extra=None, source_cfg=True, new_session=False, path=None, cwd=None):
        """Start a command as the Looker user with stdout/stderr to files in ``out_dir``; returns the Popen."""
        preexec = self._preexec()
        env = self._child_env(env_extra, path=path)
        with open(os.path.join(out_dir, 'stdout'), 'wb') as out, open(os.path.join(out_dir, 'stderr'), 'wb') as err:
            # Files, not pipes: a daemonizing child (looker start) keeps its inherited descriptors open. Popen rather than
            # AnsibleModule.run_command: this runs as another user, may outlive the module (a Looker task is never killed),
            # and the module_utils are also used without an AnsibleModule.
            argv = self._argv(argv, source_cfg)
            # pylint: disable-next=ansible-bad-function
            return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd or self.home, env=env,
                                    preexec_fn=preexec, start_new_session=new_session, close_fds=True)

    @staticmethod
    def read_output(out_dir, limit=None):
        result = {}
        for name in ('stdout', 'stderr'):
            try:
                with open(os.path.join(out_dir, name), 'rb') as handle:
                    data = handle.read()
            except OSError:
                data = b''
            if limit is not None and len(data) > limit:
                data = data[-limit:]
            result[name] = data.decode('utf-8', 'replace')
        return result

    def _run(self, argv, timeout=None, source_cfg=True, env_extra=None, path=None, cwd=None):
        out_dir = tempfile.mkdtemp(prefix='lookerops-run-')
        try:
            proc = self.spawn(argv, out_dir, env_extra=env_extra, source_cfg=source_cfg, path=path, cwd=cwd)
            timed_out = False
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                # Never killed: it may be a Looker task, and stopping one midway can corrupt the database.
                rc = None
                timed_out = True
            result = self.read_output(out_dir)
            result.update({'rc': rc, 'timed_out': timed_out, 'pid': proc.pid})
            return result
        finally:
            shutil.rmtree(out_dir, ignore_errors=True)

    def run_as_user(self, argv, env_extra=None, timeout=None, source_cfg=True):
        """Run a Looker command as the Looker user in the Looker home; {rc, stdout, stderr, timed_out, pid}.

        With ``source_cfg`` the command runs through ``/bin/sh`` after sourcing ./lookerstart.cfg, so the JVM gets
        exactly the environment Looker's startup script would give it. On a timeout the command is left running.
        """
        return self._run(argv, timeout=timeout, source_cfg=source_cfg, env_extra=env_extra)

    # -- settings -----------------------------------------------------------------------------

    def settings(self, refresh=False):
        """Effective settings from sourcing lookerstart.cfg in /bin/sh as the Looker user (never a key value)."""
        if self._settings is not None and not refresh:
            return self._settings
        if not os.path.isdir(self.home):
            raise LookerNodeError('the Looker home %s does not exist: set looker_home' % self.home)
        res = self._run(['/bin/sh', '-c', _SETTINGS_SCRIPT], timeout=60, source_cfg=False)
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
                info.update({'exists': True, 'mode': '%04o' % stat.S_IMODE(fst.st_mode), 'owner': _user_name(fst.st_uid),
                             'size': fst.st_size})
            except OSError:
                pass
            summary['key_file'] = info
        return summary

    def _key_env_text(self):
        """The LKR_MASTER_KEY_ENV value lookerstart.cfg gives the JVM (in memory only), or None when unset."""
        if not self.settings()['key_vars']['LKR_MASTER_KEY_ENV']['set']:
            return None
        res = self._run(['/bin/sh', '-c', _KEY_ENV_SCRIPT], timeout=60, source_cfg=False)
        if res['rc'] != 0 or res['timed_out']:
            raise LookerNodeError('sourcing %s as %s to read LKR_MASTER_KEY_ENV failed (rc %s)' % (self.p('lookerstart.cfg'), self.user, res['rc']))
        return res['stdout']

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
            out.update(kind='aws_kms', identity='kms:%s/%s/%s' % (summary['aws_region'] or '', summary['aws_cmk'] or '',
                                                                  summary['aws_cmk_ec'] or 'Looker_Encryption_Context'))
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
        # pylint: disable-next=ansible-bad-function
        proc = subprocess.Popen(['/bin/sh', '-c', script], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, cwd=self.home, env=self._child_env(), preexec_fn=self._preexec(),
                                close_fds=True)
        try:
            out, _err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise LookerNodeError('sourcing %s as %s to read LOOKER_DB did not finish within %ss'
                                  % (self.p('lookerstart.cfg'), self.user, timeout)) from None
        return out.decode('utf-8', 'replace') or None

    def backend(self):
        """Which backend database the settings name (mode, host, port, database, user, source; never the password)."""
        st = self.settings()
        looker_db = None if st['creds_file'] else self.looker_db()
        return backend_summary(creds_file=st['creds_file'], looker_db=looker_db)

    # -- pid, /alive, tasks -------------------------------------------------------------------

    def read_pid(self):
        try:
            with open(self.pid_file) as handle:
                return int(handle.read().strip().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def pid_state(self):
        pid = self.read_pid()
        alive = pid_is_alive(pid) if pid else False
        return {'pid': pid, 'pid_alive': alive, 'stale': bool(pid) and not alive}

    def scheme(self):
        return 'http' if self.settings()['no_ssl'] else 'https'

    def _http_get(self, path, timeout):
        port = self.port()
        if self.scheme() == 'https':
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE  # Looker's certificate is self-signed; this is a loopback probe.
            conn = http.client.HTTPSConnection('127.0.0.1', port, timeout=timeout, context=ctx)
        else:
            conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
        try:
            conn.request('GET', path)
            resp = conn.getresponse()
            resp.read(4096)
            return resp.status
        finally:
            conn.close()

    def probe_alive(self, timeout=3.0):
        """GET /alive on 127.0.0.1: {'state': up|refused|error, 'status', 'detail', 'url'}."""
        url = '%s://127.0.0.1:%s/alive' % (self.scheme(), self.port())
        try:
            status = self._http_get('/alive', timeout)
        except ConnectionRefusedError:
            return {'state': 'refused', 'status': None, 'detail': 'connection refused', 'url': url}
        except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
            if getattr(exc, 'errno', None) == errno.ECONNREFUSED:
                return {'state': 'refused', 'status': None, 'detail': 'connection refused', 'url': url}
            return {'state': 'error', 'status': None, 'detail': '%s: %s' % (type(exc).__name__, exc), 'url': url}
        if status == 200:
            return {'state': 'up', 'status': status, 'detail': 'HTTP 200', 'url': url}
        return {'state': 'error', 'status': status, 'detail': 'HTTP %s' % status, 'url': url}

    def api_release(self, api_port=DEFAULT_API_PORT, timeout=5.0):
        """``looker_release_version`` from Looker's API ``GET /versions`` on 127.0.0.1 (https, then http), or None."""
        for scheme in ('https', 'http'):
            if scheme == 'https':
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE  # Looker's certificate is self-signed; this is a loopback probe.
                conn = http.client.HTTPSConnection('127.0.0.1', api_port, timeout=timeout, context=ctx)
            else:
                conn = http.client.HTTPConnection('127.0.0.1', api_port, timeout=timeout)
            try:
                conn.request('GET', '/versions')
                resp = conn.getresponse()
                body = resp.read(65536)
                if resp.status != 200:
                    continue
                release = json.loads(body.decode('utf-8')).get('looker_release_version')
                if isinstance(release, str) and re.match(r'^\d+(\.\d+)*$', release.strip()):
                    return release.strip()
            except (OSError, http.client.HTTPException, ssl.SSLError, ValueError, AttributeError):
                continue
            finally:
                conn.close()
        return None

    def read_token(self):
        try:
            with open(self.token_file) as handle:
                token = handle.read().strip()
        except OSError:
            return None
        return token or None

    def control_stop(self, token, timeout=10.0):
        """The documented local stop call; returns a description (never the token)."""
        try:
            status = self._http_get('/control/stop?token=%s' % token, timeout)
            return {'ok': True, 'detail': 'HTTP %s' % status}
        except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
            # The node may close the connection while stopping: the wait that follows decides.
            return {'ok': False, 'detail': '%s: %s' % (type(exc).__name__, exc)}

    def down_state(self):
        state = self.pid_state()
        alive = self.probe_alive()
        state.update({'alive': alive['state'], 'alive_detail': alive['detail'],
                      'down': alive['state'] == 'refused' and not state['pid_alive']})
        return state

    def running_tasks(self, scope='host'):
        """Running Looker tasks; ``scope='install'`` keeps only those running this node's looker.jar (same file)."""
        tasks = running_looker_tasks()
        if scope == 'install':
            try:
                st = os.stat(self.jar)
                mine = (st.st_dev, st.st_ino)
            except OSError:
                mine = None
            tasks = [t for t in tasks if t.get('jar_id') is not None and t['jar_id'] == mine]
        for task in tasks:
            task.pop('jar_id', None)
        return tasks

    # -- fence --------------------------------------------------------------------------------

    @staticmethod
    def fence_content(run_id):
        return '%s%s\n' % (FENCE_PREFIX, run_id)

    def fence_state(self, run_id=None):
        try:
            with open(self.fence_file, 'rb') as handle:
                content = handle.read(4096).decode('utf-8', 'replace')
        except FileNotFoundError:
            return {'present': False, 'content': None, 'ours': False, 'collection': False, 'run_id': None}
        except OSError as exc:
            content = '<unreadable: %s>' % exc
        owner_run = None
        if content.startswith(FENCE_PREFIX):
            owner_run = content[len(FENCE_PREFIX):].strip() or None
        return {'present': True, 'content': content.strip(), 'run_id': owner_run, 'collection': owner_run is not None,
                'ours': bool(run_id) and content == self.fence_content(run_id)}

    def create_fence(self, run_id):
        """Create .deploying for ``run_id``; returns True when created, False when ours already; raises otherwise."""
        state = self.fence_state(run_id)
        if state['present']:
            if state['ours']:
                return False
            raise LookerNodeError(self._foreign_fence_msg(state))
        info = self.user_info()
        # Exclusive creation (not a rename over the path): never replaces a fence someone else wrote meanwhile.
        try:
            fd = os.open(self.fence_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise LookerNodeError(self._foreign_fence_msg(self.fence_state(run_id))) from None
        try:
            if os.geteuid() == 0:
                os.fchown(fd, info.pw_uid, info.pw_gid)
            os.write(fd, self.fence_content(run_id).encode('utf-8'))
            os.fsync(fd)
        finally:
            os.close(fd)
        return True

    def remove_fence(self, run_id, force=False):
        state = self.fence_state(run_id)
        if not state['present']:
            return False
        if not state['ours'] and not force:
            raise LookerNodeError('%s exists but was not written by run %s (content: %r). It is not removed: another '
                                  'deployment may own it. Remove it by hand once you know it is safe, or use force=true'
                                  % (self.fence_file, run_id, state['content']))
        os.unlink(self.fence_file)
        return True

    def _foreign_fence_msg(self, state):
        if state['collection']:
            who = 'lookerops.encryption run %s (not this run)' % state['run_id']
        else:
            who = 'someone else (content: %r)' % state['content']
        return ('%s exists, written by %s: a deployment is in progress or was left unfinished, and Looker\'s startup '
                'script refuses to start while it exists. Wait for that deployment to finish, or, when you are sure '
                'none is running, remove the file (or run lk_fence state=absent force=true) and retry'
                % (self.fence_file, who))

    # -- log ----------------------------------------------------------------------------------

    def log_files(self, since=None):
        """Rotated logs oldest first (skipping ones older than the day before ``since``), then looker.log."""
        files = []
        try:
            names = os.listdir(self.log_dir)
        except OSError:
            names = []
        rotated = []
        for name in names:
            match = ROTATED_RE.match(name)
            if not match:
                continue
            if since is not None:
                try:
                    day = datetime.datetime.strptime(match.group(1), '%Y%m%d').date()
                except ValueError:
                    continue
                if day < since.date() - datetime.timedelta(days=1):
                    continue
            rotated.append((match.group(1), 1 if match.group(2) else 0, name))
        files.extend(os.path.join(self.log_dir, n) for _d, _g, n in sorted(rotated))
        if os.path.isfile(self.log_file):
            files.append(self.log_file)
        return files

    @staticmethod
    def _read_text(path, offset=0):
        opener = gzip.open if path.endswith('.gz') else open
        with opener(path, 'rb') as handle:
            if offset:
                handle.seek(offset)
            return handle.read().decode('utf-8', 'replace')

    @staticmethod
    def _entries(text):
        """Group lines into entries: (time or None, [lines]) with continuation lines under their parent."""
        entries = []
        for line in text.splitlines():
            ts = log_line_time(line)
            if ts is not None or not entries:
                entries.append((ts, [line]))
            else:
                entries[-1][1].append(line)
        return entries

    def log_lines_since(self, since):
        """Lines (with continuations) of all log files whose leading timestamp is >= ``since``, in time order."""
        since = parse_since(since)
        files = self.log_files(since)
        collected = []
        scanned = []
        for path in files:
            try:
                text = self._read_text(path)
            except (OSError, EOFError, gzip.BadGzipFile) as exc:
                scanned.append({'path': path, 'error': str(exc)})
                continue
            scanned.append({'path': path, 'error': None})
            for ts, lines in self._entries(text):
                if ts is not None and ts >= since:
                    collected.append((ts, len(collected), lines))
        collected.sort(key=lambda item: (item[0], item[1]))
        out = []
        for _ts, _n, lines in collected:
            out.extend(lines)
        return out, scanned

    @staticmethod
    def _head(path, size):
        """sha256 of the first ``size`` bytes of a (possibly gzipped) file, or None."""
        opener = gzip.open if path.endswith('.gz') else open
        try:
            with opener(path, 'rb') as handle:
                data = handle.read(size)
        except (OSError, EOFError, gzip.BadGzipFile):
            return None
        if len(data) < size:
            return None
        return hashlib.sha256(data).hexdigest()

    def log_position(self):
        """Where looker.log ends now: inode, offset and a digest of its first bytes (inode numbers get reused)."""
        try:
            st = os.stat(self.log_file)
        except OSError:
            return {'inode': None, 'offset': 0, 'head': None, 'path': self.log_file, 'time': time.time()}
        offset = st.st_size
        return {'inode': st.st_ino, 'offset': offset, 'head': self._head(self.log_file, min(offset, HEAD_BYTES)),
                'path': self.log_file, 'time': time.time()}

    def _same_file(self, path, position, st=None):
        try:
            st = st or os.stat(path)
        except OSError:
            return False
        if path.endswith('.gz'):
            return False
        return st.st_ino == position['inode'] and self._head(path, min(position['offset'], HEAD_BYTES)) == position['head']

    def _find_rotated(self, position):
        """The file that held the log at ``position`` after a rotation: same inode and head, else a rotated file
        (also gzipped) whose first bytes match."""
        rotated = [path for path in self.log_files() if path != self.log_file]
        for path in reversed(rotated):
            if self._same_file(path, position):
                return path
        for path in reversed(rotated):
            if self._head(path, min(position['offset'], HEAD_BYTES)) == position['head']:
                return path
        return None

    def lines_after(self, position):
        """Log lines written after ``position`` (from :meth:`log_position`), across one rotation."""
        text = ''
        try:
            st = os.stat(self.log_file)
        except OSError:
            st = None
        same = st is not None and (position.get('inode') is None or self._same_file(self.log_file, position, st))
        if position.get('inode') is not None and not same:
            rotated = self._find_rotated(position)
            if rotated:
                try:
                    text += self._read_text(rotated, position['offset'])
                except (OSError, EOFError, gzip.BadGzipFile):
                    pass
            start = 0
        elif position.get('inode') is None:
            start = 0
        else:
            start = position['offset'] if st.st_size >= position['offset'] else 0
        if st is not None:
            try:
                text += self._read_text(self.log_file, start)
            except OSError:
                pass
        return text.splitlines()

    def log_tail(self, count=50):
        try:
            return self._read_text(self.log_file).splitlines()[-count:]
        except OSError:
            return []

    # -- supervisors --------------------------------------------------------------------------

    def supervisors(self):
        """Supervisors that can restart Looker behind our back: [{kind, path}]."""
        found = []
        root = self.supervisor_root
        for kind in ('systemd', 'sysv', 'monit'):
            for rel in SUPERVISOR_PATHS[kind]:
                path = os.path.join(root, rel)
                if kind != 'monit':
                    if os.path.isfile(path):
                        found.append({'kind': kind, 'path': path})
                    continue
                paths = []
                if os.path.isdir(path):
                    paths = [os.path.join(path, n) for n in sorted(os.listdir(path))]
                elif os.path.isfile(path):
                    paths = [path]
                for cand in paths:
                    try:
                        with open(cand, 'rb') as handle:
                            if re.search(rb'(?im)^\s*check\s+process\s+\S*looker', handle.read(262144)):
                                found.append({'kind': 'monit', 'path': cand})
                    except OSError:
                        continue
        return found

    # -- marker -------------------------------------------------------------------------------

    def read_marker(self):
        try:
            with open(self.marker_file) as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            return {'error': 'unreadable: %s' % exc}
        if not isinstance(data, dict):
            return {'error': 'not a JSON object'}
        return data


def wait_until(predicate, timeout, interval=1.0):
    """Poll ``predicate`` until truthy or ``timeout`` seconds passed; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


# -- shared option group and operations used by the lk_* modules ----------------------------------

def node_argument_spec():
    """Options every lk_* node module takes (one group, composed into each module's argspec)."""
    return {
        'looker_home': {'type': 'path', 'default': '/home/looker/looker'},
        'looker_user': {'type': 'str', 'default': 'looker'},
        'java': {'type': 'str', 'default': 'java'},
        'looker_port': {'type': 'int'},
        'looker_path': {'type': 'str'},
    }


def node_from_params(params):
    return LookerNode(params['looker_home'], params['looker_user'], java=params.get('java') or 'java',
                      port=params.get('looker_port'), path=params.get('looker_path'))


class OperationFailed(Exception):
    """An operation failed: ``msg`` is for the operator, ``result`` holds the evidence returned with it."""

    def __init__(self, msg, **result):
        super().__init__(msg)
        self.msg = msg
        self.result = result


# Documented errors (the procedure's error list): pattern, id, cause, remedy.
KNOWN_ERRORS = (
    (re.compile(r'Could not find task "migrate_encryption"'), 'task_not_found',
     'this Looker release has no migrate_encryption task (it exists from Looker 6.4)',
     'update Looker on every node to the same release, 6.4 or later, then run the migration again'),
    (re.compile(r'Missing backing keystore'), 'missing_keystore',
     'Looker cannot find the CMK',
     'check that the key settings in lookerstart.cfg are exported and correct: LKR_MASTER_KEY_FILE must name an '
     'existing key file readable by the Looker user (or LKR_MASTER_KEY_ENV / AWS_REGION + LKR_AWS_CMK must be set)'),
    (re.compile(r'Size of the Master Key is invalid'), 'key_size',
     'the CMK is not exactly 32 bytes',
     'the CMK must be the base64 of exactly 32 random bytes (openssl rand -base64 32); restore the escrowed key '
     'or distribute the right one to every node'),
    (re.compile(r'Permission for backing key file must be 0400'), 'key_file_mode',
     'the CMK file is not mode 0400',
     'chmod 0400 the file named by LKR_MASTER_KEY_FILE and make the Looker user its owner'),
)


def find_known_error(lines):
    """(id, cause, remedy, line) of the first documented error in ``lines``, or None."""
    for line in lines:
        for pattern, ident, cause, remedy in KNOWN_ERRORS:
            if pattern.search(line):
                return ident, cause, remedy, line.strip()
    return None


def _tail(text, count=40):
    return text.splitlines()[-count:] if text else []


def node_info(node, run_id=None, api_port=DEFAULT_API_PORT):
    """Read-only facts about the node (never a key value)."""
    info = {'looker_home': node.home, 'looker_user': node.user}
    info.update(node.layout())
    try:
        node.user_info()
        info['user_exists'] = True
    except LookerNodeError:
        info['user_exists'] = False
    info['release'] = node.release() if info['jar_present'] else None
    info['release_source'] = 'manifest' if info['release'] else None
    settings = None
    info['settings_error'] = None
    if info['home_exists'] and info['user_exists']:
        try:
            settings = node.settings()
        except LookerNodeError as exc:
            info['settings_error'] = str(exc)
    info['settings'] = settings
    for key in ('clustered', 'host_id', 'creds_file', 'shared_storage_dir', 'no_ssl'):
        info[key] = settings[key] if settings else None
    info['port'] = node.port_override or (settings['port'] if settings else DEFAULT_PORT)
    info.update(node.pid_state())
    if settings is not None:
        info['alive'] = node.probe_alive()
        info['key'] = node.key_summary()
        info['key'].update(node.key_identity())
        if info['release'] is None and info['alive']['state'] == 'up':
            # No release in the manifest: a running node tells it through its API.
            info['release'] = node.api_release(api_port)
            info['release_source'] = 'api' if info['release'] else None
    else:
        info['alive'] = None
        info['key'] = None
    info['backend'] = _node_backend(node, settings)
    info['running_tasks'] = node.running_tasks()
    info['fence'] = node.fence_state(run_id)
    info['supervisors'] = node.supervisors()
    info['marker'] = node.read_marker()
    # Where the log ends now: later evidence is read from here on, never by comparing clocks.
    info['log_position'] = node.log_position()
    return info


def read_looker_db(home, user):
    """The LOOKER_DB value that ``home``'s lookerstart.cfg gives Looker when sourced as ``user`` (a secret), or None."""
    return LookerNode(home, user).looker_db()


def _node_backend(node, settings):
    if settings is None:
        return None
    try:
        return node.backend()
    except LookerNodeError as exc:
        return {'mode': 'unknown', 'host': None, 'port': None, 'database': None, 'user': None, 'source': None, 'error': str(exc)}


def fence_op(node, state, run_id, force=False, check_mode=False):
    node.require_home()
    before = node.fence_state(run_id)
    if state == 'present':
        if before['present'] and not before['ours']:
            raise OperationFailed(node._foreign_fence_msg(before), fence=before)  # pylint: disable=protected-access
        changed = not before['present']
        if changed and not check_mode:
            node.create_fence(run_id)
    else:
        if before['present'] and not before['ours'] and not force:
            raise OperationFailed('%s exists but was not written by run %s (content: %r). It is left in place: another '
                                  'deployment may own it. Remove it by hand once you know it is safe, or set force=true'
                                  % (node.fence_file, run_id, before['content']), fence=before)
        changed = before['present']
        if changed and not check_mode:
            node.remove_fence(run_id, force=force)
    after = before if check_mode else node.fence_state(run_id)
    return {'changed': changed, 'path': node.fence_file, 'before': before, 'fence': after,
            'diff': {'before': {'present': before['present'], 'content': before['content']},
                     'after': {'present': state == 'present',
                               'content': node.fence_content(run_id).strip() if state == 'present' else None}}}


def _tasks_msg(tasks):
    return ', '.join('pid %s (%s, user %s)' % (t['pid'], t['task'], t['user']) for t in tasks)


def _supervisor_cmd(argv, timeout=60):
    try:
        # pylint: disable-next=ansible-bad-function
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout, check=False)
        return {'argv': argv, 'rc': proc.returncode, 'output': proc.stdout.decode('utf-8', 'replace').strip()[-500:]}
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {'argv': argv, 'rc': None, 'output': str(exc)}


def stop_node(node, run_id=None, fence=True, method='control', stop_timeout=300, supervisor_action='report',
              check_mode=False, poll_interval=1.0, task_scope='host'):
    """Fence, then stop the node gracefully and wait until its pid is gone and /alive is refused."""
    node.require_home()
    t0 = time.monotonic()
    state = node.down_state()
    running = not state['down']
    supervisors = node.supervisors()
    result = {'changed': False, 'was_running': running, 'fenced': False, 'fence_created': False, 'method': None,
              'method_reason': None, 'supervisors': supervisors, 'supervisor_actions': [], 'stop_seconds': 0.0,
              'evidence': {'pid': state['pid'], 'pid_alive': state['pid_alive'], 'alive': state['alive'],
                           'backend_sessions': None}}
    if running:
        tasks = node.running_tasks(task_scope)
        if tasks:
            raise OperationFailed('a Looker task is running on this node: %s. Nothing was done. Never kill a running '
                                  'Looker task (stopping one midway can corrupt the internal database): wait for it '
                                  'to finish, then run again' % _tasks_msg(tasks), running_tasks=tasks, **result)
    if fence:
        fstate = node.fence_state(run_id)
        if fstate['present'] and not fstate['ours']:
            raise OperationFailed(node._foreign_fence_msg(fstate), **result)  # pylint: disable=protected-access
        result['fence_created'] = not fstate['present']
        if not check_mode and not fstate['present']:
            node.create_fence(run_id)
        result['fenced'] = True
        result['changed'] = result['fence_created']
    if running:
        token = node.read_token() if method == 'control' else None
        if method == 'control' and token is None:
            result['method'] = 'script'
            result['method_reason'] = '%s is missing or empty: fell back to ./looker stop' % node.token_file
        else:
            result['method'] = method
        result['changed'] = True
    if check_mode or not running:
        result['evidence']['pid_alive'] = state['pid_alive']
        return result
    if supervisor_action == 'pause':
        for sup in supervisors:
            if sup['kind'] == 'monit' and shutil.which('monit'):
                result['supervisor_actions'].append(_supervisor_cmd(['monit', 'unmonitor', 'looker']))
                break
    if result['method'] == 'control':
        result['control_call'] = node.control_stop(token)
    else:
        res = node.run_as_user(['./looker', 'stop'], timeout=stop_timeout, source_cfg=False)
        result['script'] = {'rc': res['rc'], 'stdout': _tail(res['stdout'], 20), 'stderr': _tail(res['stderr'], 20),
                            'timed_out': res['timed_out']}
    remaining = max(0.0, stop_timeout - (time.monotonic() - t0))

    def _down():
        now = node.down_state()
        return now if now['down'] else None

    last = wait_until(_down, remaining, poll_interval) or node.down_state()
    result['stop_seconds'] = round(time.monotonic() - t0, 3)
    result['evidence'].update({'pid': last['pid'], 'pid_alive': last['pid_alive'], 'alive': last['alive']})
    if not last['down']:
        result['evidence']['alive_detail'] = last['alive_detail']
        result['evidence']['log_tail'] = node.log_tail(40)
        raise OperationFailed('Looker on this node did not stop within %ss (pid %s alive: %s, /alive: %s). It was not '
                              'killed: a long shutdown or an internal task may still be running. Check log/looker.log, '
                              'wait and run again (raise stop_timeout); the node stays fenced'
                              % (stop_timeout, last['pid'], last['pid_alive'], last['alive']), **result)
    if supervisor_action == 'pause':
        for sup in supervisors:
            if sup['kind'] == 'systemd' and shutil.which('systemctl'):
                # Only now, with Looker down: ExecStop (./looker stop) then finds nothing to kill.
                result['supervisor_actions'].append(_supervisor_cmd(['systemctl', 'stop', 'looker']))
                break
    return result


def _fail_evidence(node, position, out_dir, proc, count=80):
    ev = node.down_state()
    out = LookerNode.read_output(out_dir, limit=65536) if out_dir else {'stdout': '', 'stderr': ''}
    return {'pid': ev['pid'], 'pid_alive': ev['pid_alive'], 'alive': ev['alive'], 'alive_detail': ev['alive_detail'],
            'log_lines': node.lines_after(position)[-count:], 'script_rc': proc.poll() if proc else None,
            'script_stdout': _tail(out['stdout'], 20), 'script_stderr': _tail(out['stderr'], 20)}


def start_node(node, run_id=None, unfence=False, timeout=600, startup_grace=60, check_mode=False, poll_interval=1.0):
    """Start Looker with its startup script, unless /alive already answers; verify by /alive (not the exit code)."""
    node.require_home()
    alive = node.probe_alive()
    pid = node.pid_state()
    if alive['state'] == 'up':
        return {'changed': False, 'alive_after_seconds': 0.0, 'pid': pid['pid'], 'started': False, 'unfenced': False}
    fstate = node.fence_state(run_id)
    unfenced = False
    if fstate['present']:
        if not unfence:
            raise OperationFailed('%s exists (content: %r): Looker\'s startup script refuses to start while it does. '
                                  'Set unfence=true to remove this run\'s fence first, or finish the deployment that '
                                  'owns it' % (node.fence_file, fstate['content']), fence=fstate, changed=False)
        if not fstate['ours']:
            raise OperationFailed(node._foreign_fence_msg(fstate), fence=fstate, changed=False)  # pylint: disable=protected-access
        unfenced = True
    if check_mode:
        return {'changed': True, 'alive_after_seconds': None, 'pid': pid['pid'], 'started': not pid['pid_alive'],
                'unfenced': unfenced}
    if unfenced:
        node.remove_fence(run_id)
    t0 = time.monotonic()
    position = node.log_position()
    out_dir = tempfile.mkdtemp(prefix='lookerops-start-')
    proc = None
    try:
        if not pid['pid_alive']:
            proc = node.spawn(['./looker', 'start'], out_dir, source_cfg=False, new_session=True)
        dead_since = None
        while True:
            elapsed = time.monotonic() - t0
            if node.probe_alive()['state'] == 'up':
                return {'changed': True, 'alive_after_seconds': round(elapsed, 3), 'pid': node.read_pid(),
                        'started': proc is not None, 'unfenced': unfenced}
            script_done = proc is None or proc.poll() is not None
            pstate = node.pid_state()
            if script_done and not pstate['pid_alive']:
                lines = node.lines_after(position)
                bad = [line for line in lines if CANNOT_START_MSG in line]
                out = LookerNode.read_output(out_dir)
                bad += [line for line in (out['stdout'] + out['stderr']).splitlines() if CANNOT_START_MSG in line]
                if bad:
                    known = find_known_error(bad)
                    remedy = known[2] if known else 'fix the cause named in that line, then start again'
                    raise OperationFailed('Looker did not start on this node: %s. %s' % (bad[0].strip(), remedy),
                                          changed=True, unfenced=unfenced, cannot_start=bad[0].strip(),
                                          evidence=_fail_evidence(node, position, out_dir, proc))
                if dead_since is None:
                    dead_since = time.monotonic()
                elif time.monotonic() - dead_since >= startup_grace:
                    raise OperationFailed('Looker did not start on this node: the startup script ended and no Looker '
                                          'process has been alive for %ss (the script\'s exit code is not trusted). '
                                          'See the evidence (log lines, script output) and fix the cause, then start '
                                          'again' % startup_grace, changed=True, unfenced=unfenced,
                                          evidence=_fail_evidence(node, position, out_dir, proc))
            else:
                dead_since = None
            if elapsed >= timeout:
                raise OperationFailed('Looker did not answer /alive within %ss (pid %s alive: %s). It was not killed: a '
                                      'long internal migration can outlive the start. Check log/looker.log, wait, and '
                                      'run again (it returns at once when /alive answers) or raise timeout'
                                      % (timeout, pstate['pid'], pstate['pid_alive']), changed=True, unfenced=unfenced,
                                      evidence=_fail_evidence(node, position, out_dir, proc))
            time.sleep(min(poll_interval, max(0.05, timeout - elapsed)))
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def migrate_command(node, creds_file=None, extra_args=None, jvm_args=None):
    """(argv, creds) of the migrate_encryption run: ``creds_file`` None = from LOOKERARGS, 'none' = no -d."""
    if creds_file is None:
        creds = node.settings()['creds_file']
    elif creds_file == 'none':
        creds = None
    else:
        creds = creds_file
    argv = [node.java] + list(jvm_args or []) + ['-jar', 'looker.jar', 'migrate_encryption']
    if creds:
        argv += ['-d', creds]
    return argv + list(extra_args or []), creds


def migrate_encryption(node, creds_file=None, extra_args=None, jvm_args=None, retries=10, retry_delay=10.0,
                       retry_backoff=1.5, retry_max_delay=60.0, timeout=3600, require_key_settings=True,
                       check_mode=False, task_scope='host'):
    """Run ``java -jar looker.jar migrate_encryption [-d CREDS]`` as the Looker user with the startup settings."""
    node.require_home()
    argv, creds = migrate_command(node, creds_file, extra_args, jvm_args)
    base = {'changed': False, 'command': argv, 'creds_file': creds, 'attempts': [], 'log_lines': [],
            'migration_started': None, 'already_migrated': False, 'duration_seconds': 0.0}
    if check_mode:
        # In check mode the stop and the key settings that come before this step were only
        # predicted, so a running node or absent key settings say nothing: report the run.
        base['changed'] = True
        return base
    state = node.down_state()
    if not state['down']:
        raise OperationFailed('Looker is running on this node (pid %s alive: %s, /alive: %s): migrate_encryption needs '
                              'every node of the cluster stopped. Stop the cluster first (lk_stop_cluster)'
                              % (state['pid'], state['pid_alive'], state['alive']), **base)
    tasks = node.running_tasks(task_scope)
    if tasks:
        raise OperationFailed('a Looker task is already running: %s. Wait for it to finish (never kill it), then run '
                              'again' % _tasks_msg(tasks), running_tasks=tasks, **base)
    if creds and not os.path.isfile(creds if os.path.isabs(creds) else os.path.join(node.home, creds)):
        raise OperationFailed('the credentials file %s (%s) does not exist: fix -d/--internal-db-creds in LOOKERARGS '
                              'or the creds_file option (none = no -d)'
                              % (creds, 'from LOOKERARGS' if creds_file is None else 'creds_file option'), **base)
    if require_key_settings:
        key = node.key_summary()
        if key['mode'] == 'none':
            raise OperationFailed('lookerstart.cfg gives Looker no key settings (LKR_MASTER_KEY_FILE, LKR_MASTER_KEY_ENV '
                                  'or AWS_REGION + LKR_AWS_CMK): put the key settings on every node first (the key '
                                  'role of this collection), or set require_key_settings=false', **base)
        if key['not_exported']:
            raise OperationFailed('lookerstart.cfg sets %s without exporting it, so the JVM would not see it: use '
                                  '`export NAME=...` there' % ', '.join(key['not_exported']), **base)
    t0 = time.monotonic()
    deadline = t0 + timeout
    attempt = 0
    while True:
        attempt += 1
        position = node.log_position()
        out_dir = tempfile.mkdtemp(prefix='lookerops-migrate-')
        a0 = time.monotonic()
        proc = node.spawn(argv, out_dir, source_cfg=True, new_session=True)
        try:
            rc = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            base['attempts'].append({'attempt': attempt, 'rc': None, 'seconds': round(time.monotonic() - a0, 3),
                                     'live_nodes': False})
            base['duration_seconds'] = round(time.monotonic() - t0, 3)
            base['log_lines'] = node.lines_after(position)
            raise OperationFailed('migrate_encryption did not finish within %ss; it is still running as pid %s and was '
                                  'NOT stopped (stopping it midway can corrupt the internal database). Wait for it to '
                                  'finish (watch log/looker.log; its output goes to %s), then run this again'
                                  % (timeout, proc.pid, out_dir), pid=proc.pid, output_dir=out_dir, **base)
        out = LookerNode.read_output(out_dir, limit=1048576)
        shutil.rmtree(out_dir, ignore_errors=True)
        log_lines = node.lines_after(position)
        texts = out['stdout'].splitlines() + out['stderr'].splitlines() + log_lines
        live = any(LIVE_NODES_MSG in line for line in texts)
        seconds = round(time.monotonic() - a0, 3)
        base['attempts'].append({'attempt': attempt, 'rc': rc, 'seconds': seconds, 'live_nodes': live})
        base['log_lines'] = log_lines
        base['duration_seconds'] = round(time.monotonic() - t0, 3)
        # Whether Looker began changing records: also reported on failure, so the caller knows if service can
        # simply be given back (nothing migrated) or the backups are needed.
        started = [line for line in log_lines + out['stdout'].splitlines() if MIGRATION_STARTED_RE.search(line)]
        base['migration_started'] = started[0] if started else None
        if live:
            delay = min(retry_max_delay, retry_delay * (retry_backoff ** (attempt - 1)))
            if attempt <= retries and time.monotonic() + delay < deadline:
                time.sleep(delay)
                continue
            raise OperationFailed('migrate_encryption still reports other live nodes connected to the backend after %d '
                                  'attempt(s): a node of the cluster is running or stopped less than a minute ago. '
                                  'Verify every node is stopped (lk_stop_cluster on all nodes, and no other Looker '
                                  'connected to this backend database), then run again' % attempt,
                                  stderr_tail=_tail(out['stderr']), **base)
        known = find_known_error(texts)
        if known:
            raise OperationFailed('migrate_encryption failed: %s (%s). %s' % (known[1], known[3], known[2]),
                                  error=known[0], rc=rc, stderr_tail=_tail(out['stderr']), **base)
        if rc != 0:
            raise OperationFailed('migrate_encryption exited with rc %s and no documented error: see stderr_tail and '
                                  'log_lines, fix the cause, then run again (the backups taken before the migration '
                                  'are the way back)' % rc, rc=rc, stderr_tail=_tail(out['stderr']),
                                  stdout_tail=_tail(out['stdout']), **base)
        base['changed'] = bool(started)
        base['already_migrated'] = not started
        base['rc'] = rc
        base['stdout_tail'] = _tail(out['stdout'])
        return base


RECOVERED_KEY_FIELD = '_lookerops_recovered_key'


def recover_key(node, expected_kcv=None, transport_pad=None):
    """The local CMK Looker gets on this node, for lk_cmk's action plugin to escrow.

    The key never appears in the module's reply as it is: the reply holds the 32 key bytes XORed with
    ``transport_pad``, 32 random bytes the action plugin sent for this call only (a one-time pad), so
    that the reply, which Ansible prints at -vvvv, reveals nothing.
    """
    node.require_home()
    try:
        pad = base64.b64decode(transport_pad or '', validate=True)
    except (ValueError, TypeError):
        pad = b''
    if len(pad) != 32:
        raise OperationFailed('state=recovered needs transport_pad, 32 random bytes in base64 that the lk_cmk action plugin '
                              'sends; run it through the action plugin', changed=False)
    kind, text = node.key_text_in_force()
    if kind is None:
        raise OperationFailed('lookerstart.cfg in %s gives Looker no local key (neither LKR_MASTER_KEY_ENV nor LKR_MASTER_KEY_FILE): '
                              'there is no key on this node to recover' % node.home, changed=False)
    try:
        found = kcv_of_text(text)
    except KeyMaterialError as exc:
        raise OperationFailed('the key Looker gets on this node (%s) is not a valid CMK: %s' % (kind, exc), changed=False) from None
    if expected_kcv is not None and found != expected_kcv:
        raise OperationFailed('the key Looker gets on this node (%s) has %s, not the expected %s: the node changed since it was '
                              'read; run again' % (kind, found, expected_kcv), changed=False, kcv=found)
    raw = base64.b64decode(text.strip())
    sealed = base64.b64encode(bytes(a ^ b for a, b in zip(raw, pad))).decode('ascii')
    return {'changed': False, 'kcv': found, 'source': kind, RECOVERED_KEY_FIELD: sealed}


def log_evidence(node, since, pattern='GCM', required=True, after=None):
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise OperationFailed('pattern %r is not a valid regular expression: %s' % (pattern, exc), changed=False) from None
    if after is not None:
        # A position in the log, not a time: right whatever the node's clock says.
        lines = node.lines_after(after)
        matched = [line for line in lines if regex.search(line)]
        result = {'changed': False, 'matched': matched, 'count': len(matched), 'files': [node.log_file], 'file_errors': [],
                  'since': None, 'lines_since': len(lines)}
        if required and not matched:
            raise OperationFailed('no log line matching %r was written to %s since this run read its position (%s lines read). '
                                  'Check that migrate_encryption really ran (its result), and that Looker writes text logs there '
                                  '(a --log-format=json log is not read)' % (pattern, node.log_file, len(lines)), **result)
        return result
    since_dt = parse_since(since)
    lines, scanned = node.log_lines_since(since_dt)
    matched = [line for line in lines if regex.search(line)]
    result = {'changed': False, 'matched': matched, 'count': len(matched), 'files': [s['path'] for s in scanned],
              'file_errors': [s for s in scanned if s['error']], 'since': since_dt.strftime('%Y-%m-%d %H:%M:%S'),
              'lines_since': len(lines)}
    if required and not matched:
        raise OperationFailed('no log line matching %r since %s UTC in %s. Check that since is UTC and earlier than the '
                              'run, that migrate_encryption really ran (its result), and that Looker writes text logs '
                              'to %s (a --log-format=json log is not read)'
                              % (pattern, result['since'], ', '.join(result['files']) or 'no log file (none found)',
                                 node.log_file), **result)
    return result


def run_operation(module, operation, *args, **kwargs):
    """Run one node operation for a module: exit with its result, or fail with its message (and partial result)."""
    try:
        result = operation(*args, **kwargs)
    except OperationFailed as exc:
        module.fail_json(msg=exc.msg, **exc.result)
    except LookerNodeError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)
