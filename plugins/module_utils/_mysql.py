# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the Looker MySQL backend (connect, sessions, dump, restore).

This is not a public API; it may change without notice.

Checks and the session proof talk to the server through PyMySQL. Logical backups and restores run the
database's own clients (``mariadb-dump``/``mysqldump`` and ``mariadb``/``mysql``): the credentials reach
them only through a 0600 option file (``--defaults-extra-file``) in a private 0700 directory that is
removed on every path, never through argv or the environment.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import ssl as _ssl
import subprocess
import tempfile
import traceback
from urllib.parse import unquote as _unquote

try:
    import pymysql
except ImportError:
    HAS_PYMYSQL = False
    PYMYSQL_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_PYMYSQL = True
    PYMYSQL_IMPORT_ERROR = None

try:
    import yaml
except ImportError:
    HAS_YAML = False
else:
    HAS_YAML = True


DEFAULT_PORT = 3306
DEFAULT_DATABASE = 'looker'
DEFAULT_CONNECT_TIMEOUT = 10

PYMYSQL_MISSING_MSG = (
    'PyMySQL is required on the node that talks to the Looker backend database but cannot be imported '
    'by this Python interpreter. Install it: `apt-get install python3-pymysql` on Debian/Ubuntu, or '
    '`python3 -m pip install PyMySQL` for the interpreter Ansible uses on the node '
    '(ansible_python_interpreter).'
)


class BackendError(Exception):
    """A problem with the backend database; ``str()`` is an operator-facing message without secrets."""


def backend_argument_spec():
    """Argument spec of the ``backend`` option group (one dict option), for composing into modules.

    Options that may also come from the credentials file (host, port, user, password, database, ssl)
    have no argspec default so that an explicit value can be told apart from "not given";
    their effective defaults (port 3306, database looker) are applied by :meth:`BackendConfig.from_params`.
    """
    return {
        'backend': {
            'type': 'dict',
            'options': {
                'creds_file': {'type': 'path'},
                'looker_db': {'type': 'str', 'no_log': True},
                'host': {'type': 'str'},
                'port': {'type': 'int'},
                'user': {'type': 'str'},
                'password': {'type': 'str', 'no_log': True},
                'database': {'type': 'str'},
                'ssl': {'type': 'bool'},
                'ssl_ca': {'type': 'path'},
                'connect_timeout': {'type': 'int', 'default': DEFAULT_CONNECT_TIMEOUT},
                'tools_dir': {'type': 'path'},
                'looker_home': {'type': 'path'},
                'looker_user': {'type': 'str', 'default': 'looker'},
            },
        },
    }


# -- credentials sources ------------------------------------------------------------------------


def _parse_scalar(raw):
    """Value of a flat YAML ``key: value`` line (quoted or plain); a small subset of YAML."""
    raw = raw.strip()
    if not raw:
        return None
    if raw[0] == '"':
        out = []
        i = 1
        escapes = {'n': '\n', 't': '\t', 'r': '\r', '0': '\0', '"': '"', '\\': '\\', '/': '/'}
        while i < len(raw):
            char = raw[i]
            if char == '\\' and i + 1 < len(raw):
                out.append(escapes.get(raw[i + 1], '\\' + raw[i + 1]))
                i += 2
                continue
            if char == '"':
                return ''.join(out)
            out.append(char)
            i += 1
        raise ValueError('unterminated double-quoted value')
    if raw[0] == "'":
        out = []
        i = 1
        while i < len(raw):
            char = raw[i]
            if char == "'":
                if raw[i + 1:i + 2] == "'":
                    out.append("'")
                    i += 2
                    continue
                return ''.join(out)
            out.append(char)
            i += 1
        raise ValueError('unterminated single-quoted value')
    # plain scalar: a comment starts at " #"
    match = re.search(r'\s#', raw)
    if match:
        raw = raw[:match.start()].rstrip()
    lowered = raw.lower()
    if lowered in ('true', 'yes', 'on'):
        return True
    if lowered in ('false', 'no', 'off'):
        return False
    if lowered in ('null', '~'):
        return None
    if re.match(r'^[0-9]+$', raw):
        return int(raw)
    return raw


def parse_flat_yaml(text):
    """Parse the flat ``key: value`` YAML of Looker's credentials file without PyYAML."""
    result = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith('#') or stripped in ('---', '...'):
            continue
        if line[:1] in (' ', '\t') or ':' not in stripped:
            raise ValueError('line %d is not a flat "key: value" line' % lineno)
        key, _sep, value = stripped.partition(':')
        try:
            result[key.strip()] = _parse_scalar(value)
        except ValueError as exc:
            raise ValueError('line %d: %s' % (lineno, exc)) from None
    return result


def read_creds_file(path, use_yaml=None):
    """Read Looker's ``-d/--internal-db-creds`` YAML; returns a dict. Never echoes the content."""
    try:
        with open(path, 'rb') as handle:
            text = handle.read().decode('utf-8')
    except (OSError, UnicodeDecodeError) as exc:
        raise BackendError('cannot read the backend credentials file %s: %s; check backend.creds_file and that '
                           'the module runs as a user that can read it (become: true)' % (path, getattr(exc, 'strerror', None) or exc)) from None
    if use_yaml is None:
        use_yaml = HAS_YAML
    try:
        if use_yaml:
            data = yaml.safe_load(text)
        else:
            data = parse_flat_yaml(text)
    except Exception as exc:  # pylint: disable=broad-except
        # do not include the YAML error text: it may quote a line holding the password
        raise BackendError('the backend credentials file %s is not valid YAML (%s); it must hold flat '
                           '"key: value" lines: dialect, host, username, password, database, port, ssl'
                           % (path, type(exc).__name__)) from None
    if not isinstance(data, dict):
        raise BackendError('the backend credentials file %s must be a YAML mapping of dialect, host, username, '
                           'password, database, port (and optional ssl)' % path)
    return data


def parse_looker_db(value):
    """Parse Looker's ``LOOKER_DB`` format ``dialect=mysql&host=..&username=..&...`` (values percent-decoded)."""
    result = {}
    for part in value.strip().split('&'):
        if not part:
            continue
        key, sep, val = part.partition('=')
        if not sep:
            raise BackendError('backend.looker_db is not in LOOKER_DB format (dialect=mysql&host=..&username=..&'
                               'password=..&database=..&port=..): an element has no "="')
        result[key.strip()] = _unquote(val)
    return result


def _normalise_source(data, origin):
    """Map a creds-file / LOOKER_DB dict onto our option names."""
    dialect = data.get('dialect')
    if dialect is not None and str(dialect).lower() != 'mysql':
        raise BackendError('%s says dialect %r; only a MySQL backend (dialect: mysql) is supported' % (origin, dialect))
    out = {}
    for src, dst in (('host', 'host'), ('username', 'user'), ('user', 'user'), ('password', 'password'),
                     ('database', 'database'), ('port', 'port'), ('ssl', 'ssl')):
        if data.get(src) is not None and dst not in out:
            out[dst] = data[src]
    if 'port' in out:
        try:
            out['port'] = int(out['port'])
        except (TypeError, ValueError):
            raise BackendError('%s has a port that is not a number: %r' % (origin, out['port'])) from None
    if 'ssl' in out and not isinstance(out['ssl'], bool):
        out['ssl'] = str(out['ssl']).strip().lower() in ('1', 'true', 'yes', 'on')
    for key in ('host', 'user', 'password', 'database'):
        if key in out:
            out[key] = str(out[key])
    return out


class BackendConfig:
    """Effective connection settings of the Looker backend database."""

    def __init__(self, host=None, port=DEFAULT_PORT, user=None, password=None, database=DEFAULT_DATABASE,
                 ssl=False, ssl_ca=None, connect_timeout=DEFAULT_CONNECT_TIMEOUT, sources=None, tools_dir=None):
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.ssl = ssl
        self.ssl_ca = ssl_ca
        self.connect_timeout = connect_timeout
        self.sources = sources or []
        self.tools_dir = tools_dir

    @classmethod
    def from_params(cls, params, use_yaml=None, read_looker_db=None):
        """Build from the module's ``backend`` dict: file, then LOOKER_DB, then explicit options win.

        With ``backend.looker_home`` and no other source, ``read_looker_db(home, user)`` supplies the LOOKER_DB value
        that the node's lookerstart.cfg gives Looker (read on the node, never returned).
        """
        params = dict(params or {})
        merged = {}
        sources = []
        if (params.get('looker_home') and read_looker_db is not None and not params.get('creds_file')
                and not params.get('looker_db')):
            value = read_looker_db(params['looker_home'], params.get('looker_user') or 'looker')
            if not value:
                raise BackendError('backend.looker_home is %s but its lookerstart.cfg gives Looker no LOOKER_DB: set '
                                   'backend.creds_file (Looker\'s -d file) or the backend options instead' % params['looker_home'])
            params['looker_db'] = value
        if params.get('creds_file'):
            merged.update(_normalise_source(read_creds_file(params['creds_file'], use_yaml=use_yaml),
                                            'backend credentials file %s' % params['creds_file']))
            sources.append('creds_file')
        if params.get('looker_db'):
            merged.update(_normalise_source(parse_looker_db(params['looker_db']), 'backend.looker_db'))
            sources.append('looker_db')
        explicit = [k for k in ('host', 'port', 'user', 'password', 'database', 'ssl') if params.get(k) is not None]
        for key in explicit:
            merged[key] = params[key]
        if explicit:
            sources.append('options')
        missing = [k for k in ('host', 'user') if not merged.get(k)]
        if missing:
            raise BackendError('the backend connection is incomplete: no %s. Set backend.creds_file (Looker\'s '
                               '-d/--internal-db-creds YAML), backend.looker_db, or backend.host/user/password'
                               % ' and no '.join(missing))
        return cls(host=merged['host'], port=int(merged.get('port') or DEFAULT_PORT), user=merged['user'],
                   password=merged.get('password'), database=merged.get('database') or DEFAULT_DATABASE,
                   ssl=bool(merged.get('ssl')) or bool(params.get('ssl_ca')), ssl_ca=params.get('ssl_ca'),
                   connect_timeout=int(params.get('connect_timeout') or DEFAULT_CONNECT_TIMEOUT), sources=sources,
                   tools_dir=params.get('tools_dir'))

    def where(self):
        """``user@host:port/database`` for messages (never the password)."""
        return "user '%s' at %s:%s, database '%s'" % (self.user, self.host, self.port, self.database)

    def to_result(self):
        """Metadata safe to return from a module."""
        return {'host': self.host, 'port': self.port, 'user': self.user, 'database': self.database,
                'ssl': self.ssl, 'sources': list(self.sources)}

    def ssl_context(self):
        """An SSLContext for PyMySQL, or None when TLS is off."""
        if not self.ssl:
            return None
        ctx = _ssl.create_default_context(cafile=self.ssl_ca) if self.ssl_ca else _ssl.create_default_context()
        return ctx


# -- errors ------------------------------------------------------------------------------------

_HINTS = {
    1044: 'grant the user privileges on the database',
    1045: 'check backend user/password (or the username/password in the credentials file) and the host the user may connect from',
    1049: 'check backend.database (or "database" in the credentials file): the database does not exist',
    1142: 'grant the user the needed privileges on the database',
    1227: 'grant the user the missing privilege (PROCESS to see other sessions)',
    1153: 'raise max_allowed_packet on the server (a row in the dump is larger than it allows)',
    2003: 'check backend host/port, that the MySQL server is running and reachable from this node (firewall, bind-address)',
    2005: 'check backend.host: the name does not resolve from this node',
    2006: 'the server closed the connection; check the server log and wait_timeout/max_allowed_packet',
    2013: 'the connection was lost; check the network and the server log, then retry',
    2026: 'TLS failed; check backend.ssl/ssl_ca and the server certificate (its name or IP must match backend.host)',
}


def _error_code(exc):
    args = getattr(exc, 'args', ())
    if args and isinstance(args[0], int):
        return args[0]
    return None


def describe_error(exc, cfg, action='connect to'):
    """Operator-facing message for a PyMySQL (or socket/TLS) error: names host:port, user, code, what to check."""
    code = _error_code(exc)
    args = getattr(exc, 'args', ())
    if code is not None and len(args) > 1:
        text = str(args[1])
    else:
        text = str(exc) or type(exc).__name__
    hint = _HINTS.get(code)
    if hint is None and isinstance(exc, _ssl.SSLError):
        hint = _HINTS[2026]
    if hint is None:
        hint = 'check the backend settings and the server log'
    msg = 'cannot %s the Looker backend database (%s): MySQL error %s: %s. What to do: %s.' % (
        action, cfg.where(), code if code is not None else type(exc).__name__, text, hint)
    if cfg.password:
        msg = msg.replace(cfg.password, '********')
    return msg


def _is_db_error(exc):
    if HAS_PYMYSQL and isinstance(exc, pymysql.err.MySQLError):
        return True
    return isinstance(exc, (OSError, _ssl.SSLError))


# -- connection --------------------------------------------------------------------------------


def _require_pymysql():
    if not HAS_PYMYSQL:
        raise BackendError(PYMYSQL_MISSING_MSG)


@contextlib.contextmanager
def connect(cfg, autocommit=True):
    """Context manager: a PyMySQL connection to the backend, always closed on exit."""
    _require_pymysql()
    kwargs = {
        'host': cfg.host, 'port': int(cfg.port), 'user': cfg.user, 'password': cfg.password or '',
        'database': cfg.database, 'connect_timeout': cfg.connect_timeout, 'charset': 'utf8mb4',
        'autocommit': autocommit,
    }
    ctx = cfg.ssl_context()
    if ctx is not None:
        kwargs['ssl'] = ctx
    try:
        conn = pymysql.connect(**kwargs)
    except Exception as exc:  # pylint: disable=broad-except
        if _is_db_error(exc):
            raise BackendError(describe_error(exc, cfg)) from None
        raise
    try:
        yield conn
    except Exception as exc:  # pylint: disable=broad-except
        if HAS_PYMYSQL and isinstance(exc, pymysql.err.MySQLError):
            raise BackendError(describe_error(exc, cfg, action='work with')) from None
        raise
    finally:
        try:
            conn.close()
        except Exception:  # pylint: disable=broad-except
            pass


def server_version(conn):
    """``SELECT VERSION()`` as a str."""
    with conn.cursor() as cur:
        cur.execute('SELECT VERSION()')
        value = cur.fetchone()[0]
    return value.decode('ascii', 'replace') if isinstance(value, bytes) else str(value)


def _split_host(host):
    """Client address of a PROCESSLIST.HOST value ('addr:port', '[v6]:port' or 'localhost')."""
    if host is None:
        return None
    host = str(host)
    if host.startswith('['):
        return host[1:].split(']', 1)[0]
    if host.count(':') == 1:
        return host.split(':', 1)[0]
    if host.count(':') > 1:
        # bare IPv6 followed by :port
        return host.rsplit(':', 1)[0]
    return host


def list_sessions(conn, user, client_host=None):
    """Sessions (PROCESSLIST rows) of ``user`` other than this connection, optionally only from ``client_host``.

    Each row is a dict: id, user, host (as the server shows it: 'addr:port'), client (addr), db,
    command, time, state. Without the PROCESS privilege the server shows only this user's sessions,
    which is all we ask for.
    """
    with conn.cursor() as cur:
        cur.execute('SELECT ID, USER, HOST, DB, COMMAND, TIME, STATE FROM information_schema.PROCESSLIST '
                    'WHERE USER = %s AND ID <> CONNECTION_ID() ORDER BY ID', (user,))
        rows = cur.fetchall()
    out = []
    for row in rows:
        values = [v.decode('utf-8', 'replace') if isinstance(v, bytes) else v for v in row]
        entry = {'id': int(values[0]), 'user': values[1], 'host': values[2], 'client': _split_host(values[2]),
                 'db': values[3], 'command': values[4], 'time': int(values[5]) if values[5] is not None else None,
                 'state': values[6]}
        if client_host is not None and entry['client'] != client_host:
            continue
        out.append(entry)
    return out


# -- the database's own clients --------------------------------------------------------------------

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


def object_counts(conn, database):
    """Numbers of tables, views, routines, triggers and events in ``database`` (what a restore must bring back)."""
    queries = {
        'tables': ("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE'"),
        'views': "SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s",
        'routines': 'SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s',
        'triggers': 'SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s',
        'events': 'SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s',
    }
    out = {}
    with conn.cursor() as cur:
        for key, sql in queries.items():
            cur.execute(sql, (database,))
            out[key] = int(cur.fetchone()[0])
    return out


def foreign_definers(conn, database):
    """Views, routines, triggers and events of ``database`` defined by another account than this one: [(kind, name, definer)]."""
    with conn.cursor() as cur:
        cur.execute('SELECT CURRENT_USER()')
        user, _sep, host = str(cur.fetchone()[0]).rpartition('@')
        current = '%s@%s' % (user, host)
        out = []
        for kind, sql in (('view', 'SELECT TABLE_NAME, DEFINER FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s'),
                          ('routine', 'SELECT ROUTINE_NAME, DEFINER FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s'),
                          ('trigger', 'SELECT TRIGGER_NAME, DEFINER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s'),
                          ('event', 'SELECT EVENT_NAME, DEFINER FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s')):
            cur.execute(sql, (database,))
            for name, definer in cur.fetchall():
                if str(definer) != current:
                    out.append((kind, str(name), str(definer)))
    return sorted(out)


def may_set_any_definer(conn):
    """True when this account may create objects for another definer (SUPER, SET_USER_ID/SET USER, or ALL on *.*)."""
    with conn.cursor() as cur:
        cur.execute('SHOW GRANTS')
        grants = ' '.join(str(r[0]).upper() for r in cur.fetchall())
    return any(p in grants for p in ('ALL PRIVILEGES ON *.*', 'SUPER', 'SET USER', 'SET_USER_ID', 'SYSTEM_USER'))


def data_bytes(conn, database):
    with conn.cursor() as cur:
        cur.execute('SELECT COALESCE(SUM(DATA_LENGTH), 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s', (database,))
        return int(cur.fetchone()[0])


def backend_info(cfg):
    """What the backend database holds, read-only: server version, object counts and table data bytes."""
    with connect(cfg) as conn:
        version = server_version(conn)
        objects = object_counts(conn, cfg.database)
        size = data_bytes(conn, cfg.database)
    return {'backend': cfg.to_result(), 'server_version': version, 'objects': objects, 'data_bytes': size,
            'empty': not any(objects.values())}


# -- where the backend of a node is configured -----------------------------------------------------


def backend_summary(creds_file=None, looker_db=None, use_yaml=None):
    """Which backend a node's settings name, without the password.

    ``mode`` is mysql_creds_file (``-d``/``--internal-db-creds``), looker_db_env (``LOOKER_DB``) or internal (neither:
    Looker's internal HyperSQL database in ``.db/`` of the home). ``error`` says why the settings could not be read.
    """
    out = {'mode': 'internal', 'host': None, 'port': None, 'database': None, 'user': None, 'source': None, 'error': None}
    try:
        if creds_file:
            out.update(mode='mysql_creds_file', source=creds_file)
            data = _normalise_source(read_creds_file(creds_file, use_yaml=use_yaml), 'the credentials file %s' % creds_file)
        elif looker_db:
            out.update(mode='looker_db_env', source='LOOKER_DB')
            data = _normalise_source(parse_looker_db(looker_db), 'LOOKER_DB')
        else:
            return out
    except BackendError as exc:
        out['error'] = str(exc)
        return out
    out.update(host=data.get('host'), port=int(data.get('port') or DEFAULT_PORT), database=data.get('database') or DEFAULT_DATABASE,
               user=data.get('user'), ssl=bool(data.get('ssl')))
    return out
