# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the database's own clients (``mariadb-dump``/``mysqldump`` and
``mariadb``/``mysql``) for logical backups and restores of the Looker backend.

This is not a public API; it may change without notice. The credentials reach the clients only through a 0600 option
file (``--defaults-extra-file``) in a private 0700 directory that is removed on every path, never through argv or the
environment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile

from ansible_collections.lookerops.encryption.plugins.module_utils._mysql.config import BackendError


DUMP_TOOLS = ('mariadb-dump', 'mysqldump')
CLIENT_TOOLS = ('mariadb', 'mysql')
TOOL_SEARCH_PATH = ('/usr/bin', '/usr/local/bin', '/usr/local/mysql/bin', '/opt/mysql/bin', '/bin')
CLIENT_PACKAGES = ('Debian/Ubuntu: apt-get install mariadb-client (or default-mysql-client); RHEL: dnf install mysql '
                   '(or mariadb); or MySQL\'s own mysql-client package')
DUMP_HEADERS = (b'-- MySQL dump', b'-- MariaDB dump')
DUMP_TRAILER = b'-- Dump completed'
CHUNK = 1024 * 1024
STDERR_LIMIT = 8000
# The client reads these from the environment; none of them may steer our child processes.
_CLIENT_ENV_DROP = ('MYSQL_PWD', 'MYSQL_HOST', 'MYSQL_TCP_PORT', 'MYSQL_UNIX_PORT', 'MYSQL_HISTFILE', 'MYSQL_TEST_LOGIN_FILE',
                    'MARIADB_HOST', 'MARIADB_PWD', 'MYSQL_PS1', 'LIBMYSQL_PLUGIN_DIR', 'LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN')


class ClientTool:
    """One client program (dump or restore) and what its ``--version`` says about it."""

    def __init__(self, path, version_text):
        self.path = path
        self.version_text = version_text.strip()
        lowered = self.version_text.lower()
        self.flavor = 'mariadb' if 'mariadb' in lowered or os.path.basename(path).startswith('mariadb') else 'mysql'
        match = re.search(r'(?:Distrib |Ver |from )(\d+\.\d+\.\d+)', self.version_text)
        self.version = match.group(1) if match else None

    def to_result(self):
        return {'path': self.path, 'flavor': self.flavor, 'version': self.version, 'version_text': self.version_text}


def _tool_version(path):
    try:
        # pylint: disable-next=ansible-bad-function
        res = subprocess.run([path, '--version'], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=_client_env(tempfile.gettempdir()), timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if res.returncode != 0:
        return None
    return (res.stdout or res.stderr).decode('utf-8', 'replace')


def find_tool(kind, tools_dir=None, server_version=None):
    """The dump (``kind='dump'``) or restore (``kind='client'``) program to use, as a ClientTool.

    With ``tools_dir`` only that directory is searched. Otherwise PATH and the usual directories. When both
    MariaDB's and MySQL's programs are there, the one matching the server (``server_version``) wins.
    """
    names = DUMP_TOOLS if kind == 'dump' else CLIENT_TOOLS
    if server_version is not None and 'mariadb' not in server_version.lower():
        names = tuple(reversed(names))
    if tools_dir:
        dirs = [tools_dir]
    else:
        dirs = [d for d in os.environ.get('PATH', '').split(os.pathsep) if d] + list(TOOL_SEARCH_PATH)
    seen = set()
    for name in names:
        for directory in dirs:
            path = os.path.join(directory, name)
            if path in seen:
                continue
            seen.add(path)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                text = _tool_version(path)
                if text is not None:
                    return ClientTool(path, text)
    what = 'dump program (%s)' % ' or '.join(DUMP_TOOLS) if kind == 'dump' else 'client program (%s)' % ' or '.join(CLIENT_TOOLS)
    where = ('in %s (backend.tools_dir, lookerops_backend_tools_dir)' % tools_dir) if tools_dir else 'on this node (PATH and %s)' % ', '.join(TOOL_SEARCH_PATH)
    raise BackendError('no MySQL %s found %s. What to do: install the database client on this node (%s), or set '
                       'lookerops_backend_tools_dir to the directory that holds it, or back the backend up yourself and '
                       'set lookerops_backend_backup=none (or rds_snapshot on RDS)' % (what, where, CLIENT_PACKAGES))


def _option_value(value):
    """A value for a MySQL option file: double-quoted, with the escapes the option-file parser knows."""
    text = str(value)
    for src, dst in (('\\', '\\\\'), ('"', '\\"'), ('\n', '\\n'), ('\r', '\\r'), ('\t', '\\t'), ('\b', '\\b')):
        text = text.replace(src, dst)
    return '"%s"' % text


def option_file_text(cfg, tool):
    """The ``[client]`` group with the connection settings (holds the password: write it 0600 only)."""
    lines = ['[client]', 'user=%s' % _option_value(cfg.user), 'host=%s' % _option_value(cfg.host),
             'port=%d' % int(cfg.port), 'protocol=TCP']
    if cfg.password:
        lines.append('password=%s' % _option_value(cfg.password))
    if cfg.ssl:
        if tool.flavor == 'mariadb':
            lines.append('ssl')
            if cfg.ssl_ca:
                lines.append('ssl-ca=%s' % _option_value(cfg.ssl_ca))
                lines.append('ssl-verify-server-cert')
        elif cfg.ssl_ca:
            lines.append('ssl-mode=VERIFY_IDENTITY')
            lines.append('ssl-ca=%s' % _option_value(cfg.ssl_ca))
        else:
            lines.append('ssl-mode=REQUIRED')
    return '\n'.join(lines) + '\n'


class PrivateDir:
    """A 0700 directory for one client run: the option file, the client's stderr, its HOME.

    Removed on every path (success, error, interrupt) when the ``with`` block ends.
    """

    def __init__(self, parent=None):
        self.parent = parent
        self.path = None

    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix='lookerops-mysql-', dir=self.parent)
        os.chmod(self.path, 0o700)
        return self

    def __exit__(self, *exc):
        if self.path and os.path.isdir(self.path):
            shutil.rmtree(self.path, ignore_errors=True)
        return False

    def option_file(self, cfg, tool):
        path = os.path.join(self.path, 'client.cnf')
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'wb') as handle:
            handle.write(option_file_text(cfg, tool).encode('utf-8'))
        return path


def _client_env(home):
    env = dict((k, v) for k, v in os.environ.items() if k not in _CLIENT_ENV_DROP and not k.startswith('MYSQL_'))
    env['HOME'] = home  # no ~/.my.cnf or ~/.mylogin.cnf of whoever runs the module can override the option file
    env.setdefault('LC_ALL', 'C')
    return env


def dump_options(tool, server_version):
    """The options of a consistent, complete, non-SUPER logical dump (no credentials, no database name)."""
    opts = ['--single-transaction', '--quick', '--routines', '--triggers', '--events', '--hex-blob',
            '--default-character-set=utf8mb4', '--tz-utc', '--no-tablespaces', '--skip-lock-tables',
            '--max-allowed-packet=1G', '--net-buffer-length=1M']
    server_is_mariadb = 'mariadb' in (server_version or '').lower()
    if tool.flavor == 'mysql':
        opts.append('--set-gtid-purged=OFF')  # SET @@GLOBAL.GTID_PURGED needs SUPER on restore
        if server_is_mariadb or not (server_version or '').startswith('8'):
            opts.append('--column-statistics=0')  # only MySQL 8 servers have the COLUMN_STATISTICS table
    return opts


def restore_options():
    return ['--default-character-set=utf8mb4', '--binary-mode', '--batch', '--max-allowed-packet=1G']


# Messages of the clients mapped to cause and fix (first match wins; matched on the lowered stderr).
_CLIENT_HINTS = (
    ('process privilege', 'the user lacks the PROCESS privilege; grant it (GRANT PROCESS ON *.* TO the user) or keep the '
                          'dump option --no-tablespaces'),
    ('show events', 'the user lacks the EVENT privilege on the database: GRANT EVENT ON <database>.* TO the user'),
    ('show triggers', 'the user lacks the TRIGGER privilege on the database: GRANT TRIGGER ON <database>.* TO the user'),
    ('show create view', 'the user lacks the SHOW VIEW privilege: GRANT SHOW VIEW ON <database>.* TO the user'),
    ('show create procedure', 'the user cannot read the routines: grant SHOW_ROUTINE (MySQL 8.0.20+) or SELECT on mysql.proc '
                              '(MariaDB), or the EXECUTE privilege on the database'),
    ('show create function', 'the user cannot read the routines: grant SHOW_ROUTINE (MySQL 8.0.20+) or SELECT on mysql.proc '
                             '(MariaDB)'),
    ('lock wait timeout', 'another session holds locks (a Looker node may still be running, or a long transaction): stop every '
                          'node, end the other session, then run again'),
    ('metadata lock', 'another session holds a metadata lock (a Looker node may still be running): stop every node and run again'),
    ('max_allowed_packet', 'a row is larger than max_allowed_packet: raise max_allowed_packet on the server (SET GLOBAL '
                           'max_allowed_packet=1073741824) and run again'),
    ('packet bigger than', 'a row is larger than max_allowed_packet: raise max_allowed_packet on the server (SET GLOBAL '
                           'max_allowed_packet=1073741824) and run again'),
    ('column_statistics', 'a MySQL 8 mysqldump against a server without COLUMN_STATISTICS: set lookerops_backend_tools_dir to '
                          'a client matching the server'),
    ('unknown variable', 'the client does not know an option it was given: set lookerops_backend_tools_dir to a client '
                         'matching the server (MariaDB or MySQL)'),
    ('set_user_id', 'the dump holds objects (views, triggers, routines, events) defined by another user: restore as that user, '
                    'or grant SET_USER_ID (MySQL 8) / SUPER to the restoring user'),
    ('super privilege', 'the dump holds objects defined by another user or binary logging needs it: grant SUPER (or '
                        'SET_USER_ID), or set log_bin_trust_function_creators=1 on the server'),
    ('log_bin_trust_function_creators', 'binary logging is on: set log_bin_trust_function_creators=1 on the server (or grant '
                                        'SUPER), then run again'),
    ('access denied for user', None),  # falls through to the error number below
    ('unknown database', None),
    ("can't connect", None),
    ('unknown mysql server host', None),
)
_CLIENT_CODE_HINTS = {
    1044: 'grant the user the privileges a logical dump needs on the database: SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES '
          '(and for a restore: ALL PRIVILEGES on the database)',
    1045: 'check the backend user and password (the credentials file, LOOKER_DB or the backend options) and the host the user '
          'may connect from',
    1049: 'check the database name: the database does not exist on that server',
    2002: 'check the backend host/port and that the server is running and reachable from this node',
    2003: 'check the backend host/port and that the server is running and reachable from this node (firewall, bind-address)',
    2005: 'check the backend host: the name does not resolve from this node',
    2013: 'the connection was lost; check the network and the server log (and net_read_timeout/max_allowed_packet), then retry',
    1205: 'another session holds locks (a Looker node may still be running): stop every node and run again',
    1153: 'raise max_allowed_packet on the server (SET GLOBAL max_allowed_packet=1073741824) and run again',
    1227: 'grant the missing privilege named in the message (SUPER or SET_USER_ID for objects defined by another user)',
    1419: 'set log_bin_trust_function_creators=1 on the server (binary logging is on and the user has no SUPER), then run again',
}


def _error_number(text):
    for pattern in (r'got error: (\d{4})', r'error (\d{4})', r'\((\d{4})\)'):
        match = re.search(pattern, text, re.I)
        if match:
            return int(match.group(1))
    return None


def describe_client_error(action, tool, rc, stderr_text, cfg):
    """Operator-facing message for a failed client run: what failed, the client's words, cause and fix."""
    text = stderr_text.strip()
    if cfg.password:
        text = text.replace(cfg.password, '********')
    lowered = text.lower()
    hint = None
    for needle, candidate in _CLIENT_HINTS:
        if needle in lowered and candidate:
            hint = candidate
            break
    if hint is None:
        code = _error_number(text)
        hint = _CLIENT_CODE_HINTS.get(code) if code is not None else None
    if hint is None:
        hint = 'read the client\'s message above and the server log; fix the cause and run again'
    if rc is not None and rc < 0:
        how = 'was killed by signal %d' % -rc
    else:
        how = 'exited with %s' % rc
    return '%s of the Looker backend database (%s) failed: %s %s: %s. What to do: %s.' % (
        action, cfg.where(), os.path.basename(tool.path), how, text[-2000:] or '(no message)', hint)


def _tail(path, limit=STDERR_LIMIT):
    try:
        with open(path, 'rb') as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            return handle.read().decode('utf-8', 'replace')
    except OSError:
        return ''


class DumpResult:
    """What a dump run produced: bytes written (uncompressed), first and last line, the tool."""

    def __init__(self, tool, options):
        self.tool = tool
        self.options = options
        self.raw_bytes = 0
        self.head = b''
        self.tail = b''

    def feed(self, block):
        self.raw_bytes += len(block)
        if len(self.head) < 512:
            self.head += block[:512 - len(self.head)]
        self.tail = (self.tail + block)[-512:]

    def complete(self):
        """True when the output ends with the client's own completion trailer."""
        lines = [ln for ln in self.tail.split(b'\n') if ln.strip()]
        return bool(lines) and lines[-1].startswith(DUMP_TRAILER)

    def header_ok(self):
        return dump_header_ok(self.head)


def dump_header_ok(head):
    """True when one of the first lines is mysqldump's or mariadb-dump's header (MariaDB may put a sandbox line first)."""
    return any(line.startswith(h) for line in head.split(b'\n')[:3] for h in DUMP_HEADERS)


def run_dump(cfg, out, tool=None, server_version=None, extra_options=None, tmp_parent=None, no_data=False):
    """Run the dump client for ``cfg.database`` and write its output to the binary file object ``out``.

    Fails (BackendError) when the client exits non-zero, is killed, or its output lacks the completion trailer.
    Returns a DumpResult. The caller owns ``out`` (compression, hashing, the atomic file).
    """
    tool = tool or find_tool('dump', cfg.tools_dir, server_version)
    options = dump_options(tool, server_version) + list(extra_options or [])
    if no_data:
        options.append('--no-data')
    result = DumpResult(tool, options)
    with PrivateDir(tmp_parent) as private:
        opt_file = private.option_file(cfg, tool)
        err_path = os.path.join(private.path, 'stderr')
        argv = [tool.path, '--defaults-extra-file=' + opt_file] + options + ['--', cfg.database]
        with open(err_path, 'wb') as err:
            # pylint: disable-next=ansible-bad-function,consider-using-with
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                                    env=_client_env(private.path), cwd=private.path, close_fds=True)
            try:
                while True:
                    block = proc.stdout.read(CHUNK)
                    if not block:
                        break
                    result.feed(block)
                    out.write(block)
            except BaseException:
                proc.kill()
                proc.wait()
                raise
            finally:
                proc.stdout.close()
            rc = proc.wait()
        stderr_text = _tail(err_path)
    if rc != 0:
        raise BackendError(describe_client_error('the dump', tool, rc, stderr_text, cfg))
    if not result.header_ok() or not result.complete():
        raise BackendError('the dump of the Looker backend database (%s) by %s ended without its "-- Dump completed" '
                           'trailer (%d bytes written; the client said: %s). The dump is incomplete and was discarded. '
                           'What to do: check the server log and the client message, then run again.'
                           % (cfg.where(), os.path.basename(tool.path), result.raw_bytes, stderr_text.strip()[-1000:] or 'nothing'))
    return result


def run_restore(cfg, source, tool=None, server_version=None, tmp_parent=None):
    """Feed the binary file object ``source`` (an uncompressed dump) to the client, into ``cfg.database``.

    Returns the ClientTool. Fails (BackendError) when the client exits non-zero or stops reading.
    """
    tool = tool or find_tool('client', cfg.tools_dir, server_version)
    with PrivateDir(tmp_parent) as private:
        opt_file = private.option_file(cfg, tool)
        err_path = os.path.join(private.path, 'stderr')
        argv = [tool.path, '--defaults-extra-file=' + opt_file] + restore_options() + ['--database=' + cfg.database]
        broken = False
        with open(err_path, 'wb') as err:
            # pylint: disable-next=ansible-bad-function,consider-using-with
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err,
                                    env=_client_env(private.path), cwd=private.path, close_fds=True)
            try:
                while True:
                    block = source.read(CHUNK)
                    if not block:
                        break
                    try:
                        proc.stdin.write(block)
                    except BrokenPipeError:
                        broken = True
                        break
            except BaseException:
                proc.kill()
                proc.wait()
                raise
            finally:
                try:
                    proc.stdin.close()
                except BrokenPipeError:
                    broken = True
            rc = proc.wait()
        stderr_text = _tail(err_path)
    if rc != 0 or broken:
        raise BackendError(describe_client_error('the restore', tool, rc, stderr_text, cfg)
                           + ' The database may be partly restored: run the restore again once the cause is fixed.')
    return tool
