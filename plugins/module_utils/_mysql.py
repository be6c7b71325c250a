# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the Looker MySQL backend (connect, sessions, dump, restore).

This is not a public API; it may change without notice.

Everything talks to the server through PyMySQL; there is no ``mysql``/``mysqldump`` child process, so
no password ever appears in the argv of any process.
"""

from __future__ import annotations

import contextlib
import datetime
import re
import ssl as _ssl
import traceback

try:
    from urllib.parse import unquote as _unquote
except ImportError:  # pragma: no cover - Python 2 is not supported by this collection
    _unquote = None

try:
    import pymysql
    import pymysql.converters
    import pymysql.cursors
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


DUMP_FORMAT = 'lookerops.encryption logical dump v1'
DUMP_TRAILER = '-- end of lookerops.encryption dump'
DEFAULT_PORT = 3306
DEFAULT_DATABASE = 'looker'
DEFAULT_CONNECT_TIMEOUT = 10
MAX_INSERT_BYTES = 1024 * 1024
FETCH_ROWS = 500

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
                 ssl=False, ssl_ca=None, connect_timeout=DEFAULT_CONNECT_TIMEOUT, sources=None):
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.ssl = ssl
        self.ssl_ca = ssl_ca
        self.connect_timeout = connect_timeout
        self.sources = sources or []

    @classmethod
    def from_params(cls, params, use_yaml=None):
        """Build from the module's ``backend`` dict: file, then LOOKER_DB, then explicit options win."""
        params = dict(params or {})
        merged = {}
        sources = []
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
                   connect_timeout=int(params.get('connect_timeout') or DEFAULT_CONNECT_TIMEOUT), sources=sources)

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
def connect(cfg, text_values=False, autocommit=True):
    """Context manager: a PyMySQL connection to the backend, always closed on exit.

    ``text_values=True`` turns off PyMySQL's value decoders, so every value arrives exactly as the server
    sent it (str for text and numbers, bytes for binary columns): what a lossless dump needs.
    """
    _require_pymysql()
    kwargs = {
        'host': cfg.host, 'port': int(cfg.port), 'user': cfg.user, 'password': cfg.password or '',
        'database': cfg.database, 'connect_timeout': cfg.connect_timeout, 'charset': 'utf8mb4',
        'autocommit': autocommit,
    }
    ctx = cfg.ssl_context()
    if ctx is not None:
        kwargs['ssl'] = ctx
    if text_values:
        kwargs['conv'] = dict((k, v) for k, v in pymysql.converters.conversions.items() if not isinstance(k, int))
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


# -- dump / restore ----------------------------------------------------------------------------

# MySQL field types whose text form can be written unquoted.
_NUMERIC_TYPES = frozenset((0, 1, 2, 3, 4, 5, 8, 9, 13, 246))
_NUMBER_RE = re.compile(r'^-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$')
_DEFINER_RE = re.compile(r'\sDEFINER=(`[^`]*`|\S+)@(`[^`]*`|\S+)')


def quote_ident(name):
    """Backtick-quote an identifier."""
    return '`%s`' % str(name).replace('`', '``')


def _to_text(value):
    return value.decode('utf-8', 'surrogateescape') if isinstance(value, bytes) else str(value)


class _Writer:
    """Encode str to the dump's bytes (utf-8; surrogate escapes keep binary literals byte-exact)."""

    def __init__(self, fileobj):
        self.fileobj = fileobj

    def line(self, text):
        self.fileobj.write(text.encode('utf-8', 'surrogateescape') + b'\n')


def _literal(conn, value, numeric):
    if value is None:
        return 'NULL'
    if numeric and isinstance(value, str) and _NUMBER_RE.match(value):
        return value
    return conn.escape(value)  # what literal() does; literal() is deprecated in PyMySQL 2.2


def _columns(cur, database, table):
    """Insertable (non-generated) columns of ``table`` in table order."""
    cur.execute('SELECT COLUMN_NAME, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s '
                'ORDER BY ORDINAL_POSITION', (database, table))
    cols = []
    for name, extra in cur.fetchall():
        extra = _to_text(extra or '').upper()
        if 'GENERATED' in extra or 'VIRTUAL' in extra or 'PERSISTENT' in extra or 'STORED' in extra:
            continue
        cols.append(_to_text(name))
    return cols


def dump(cfg, fileobj, now=None, max_insert_bytes=MAX_INSERT_BYTES, on_snapshot=None):
    """Write a consistent logical dump of ``cfg.database`` to the binary ``fileobj``.

    One transaction: REPEATABLE READ + START TRANSACTION WITH CONSISTENT SNAPSHOT, so every table is
    read as of the same moment (InnoDB). Rows are streamed with an unbuffered cursor and written as
    multi-row INSERTs (values escaped by the connection) of at most ``max_insert_bytes``. Returns ``{'server_version', 'database',
    'tables': {name: rows}, 'views': [names]}``.
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    out = _Writer(fileobj)
    tables = {}
    views = []
    with connect(cfg, text_values=True) as conn:
        version = server_version(conn)
        with conn.cursor() as cur:
            cur.execute('SELECT @@max_allowed_packet')
            packet = int(_to_text(cur.fetchone()[0]))
            limit = max(16 * 1024, min(max_insert_bytes, packet // 2))
            cur.execute('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ')
            cur.execute('START TRANSACTION WITH CONSISTENT SNAPSHOT')
            if on_snapshot is not None:
                on_snapshot()
            cur.execute('SHOW FULL TABLES')
            listing = [(_to_text(r[0]), _to_text(r[1]).upper()) for r in cur.fetchall()]
        base = sorted(name for name, kind in listing if kind == 'BASE TABLE')
        view_names = sorted(name for name, kind in listing if kind == 'VIEW')

        out.line('-- %s' % DUMP_FORMAT)
        out.line('-- server_version: %s' % version)
        out.line('-- database: %s' % cfg.database)
        out.line('-- created_utc: %s' % now.strftime('%Y-%m-%dT%H:%M:%SZ'))
        out.line('SET NAMES utf8mb4;')
        out.line('SET FOREIGN_KEY_CHECKS=0;')
        out.line('SET UNIQUE_CHECKS=0;')
        out.line("SET SQL_MODE='NO_AUTO_VALUE_ON_ZERO';")
        out.line("SET TIME_ZONE='+00:00';")

        for table in base:
            with conn.cursor() as cur:
                cur.execute('SHOW CREATE TABLE %s' % quote_ident(table))
                create = _to_text(cur.fetchone()[1])
                cols = _columns(cur, cfg.database, table)
            out.line('')
            out.line('-- table: %s' % table)
            out.line('DROP TABLE IF EXISTS %s;' % quote_ident(table))
            out.line(create + ';')
            tables[table] = _dump_rows(conn, out, table, cols, limit)
        for view in view_names:
            with conn.cursor() as cur:
                cur.execute('SHOW CREATE VIEW %s' % quote_ident(view))
                create = _DEFINER_RE.sub('', _to_text(cur.fetchone()[1]), count=1)
            out.line('')
            out.line('-- view: %s' % view)
            out.line('DROP TABLE IF EXISTS %s;' % quote_ident(view))
            out.line('DROP VIEW IF EXISTS %s;' % quote_ident(view))
            out.line(create + ';')
            views.append(view)
        with conn.cursor() as cur:
            cur.execute('COMMIT')
        out.line('SET FOREIGN_KEY_CHECKS=1;')
        out.line('SET UNIQUE_CHECKS=1;')
        out.line('%s: %d tables, %d views' % (DUMP_TRAILER, len(tables), len(views)))
    return {'server_version': version, 'database': cfg.database, 'tables': tables, 'views': views}


def _dump_rows(conn, out, table, cols, limit):
    """Stream the rows of one table as multi-row INSERT lines; returns the row count."""
    if not cols:
        return 0
    head = 'INSERT INTO %s (%s) VALUES ' % (quote_ident(table), ','.join(quote_ident(c) for c in cols))
    count = 0
    cur = conn.cursor(pymysql.cursors.SSCursor)
    try:
        cur.execute('SELECT %s FROM %s' % (','.join(quote_ident(c) for c in cols), quote_ident(table)))
        numeric = [d[1] in _NUMERIC_TYPES for d in cur.description]
        parts = []
        size = 0
        while True:
            rows = cur.fetchmany(FETCH_ROWS)
            if not rows:
                break
            for row in rows:
                tup = '(' + ','.join(_literal(conn, v, numeric[i]) for i, v in enumerate(row)) + ')'
                if parts and size + len(tup) > limit:
                    out.line(head + ','.join(parts) + ';')
                    parts = []
                    size = 0
                parts.append(tup)
                size += len(tup) + 1
                count += 1
        if parts:
            out.line(head + ','.join(parts) + ';')
    finally:
        cur.close()
    return count


class DumpFormatError(BackendError):
    """The file is not a complete dump written by this collection."""


def _scan_quotes(line, state):
    """Advance the quote state over one line; returns (state, True when the line ends a statement)."""
    i = 0
    n = len(line)
    while i < n:
        char = line[i:i + 1]
        if state is None:
            if char in (b"'", b'"', b'`'):
                state = char
            elif char == b'-' and line[i:i + 3] in (b'-- ', b'--\n') and not line[:i].strip():
                return state, False
        else:
            if char == b'\\' and state != b'`':
                i += 2
                continue
            if char == state:
                state = None
        i += 1
    return state, state is None and line.rstrip().endswith(b';')


def iter_statements(fileobj):
    """Yield the SQL statements (bytes, without the final ';') of a dump written by :func:`dump`.

    INSERT lines are one statement each (all their values are escaped, so they hold no raw newline);
    other statements may span lines and are split on a ';' at the end of a line outside quotes.
    Raises DumpFormatError when the header or the trailer is missing (a foreign or truncated file).
    """
    first = fileobj.readline()
    if first.rstrip(b'\n') != ('-- %s' % DUMP_FORMAT).encode('ascii'):
        raise DumpFormatError('not a dump written by lookerops.encryption (first line is not "-- %s")' % DUMP_FORMAT)
    trailer = DUMP_TRAILER.encode('ascii')
    pending = []
    state = None
    complete = False
    for line in fileobj:
        if not pending:
            if line.startswith(trailer):
                complete = True
                break
            if line.startswith(b'INSERT INTO '):
                yield line.rstrip(b'\n').rstrip(b';')
                continue
            if not line.strip() or line.startswith(b'-- '):
                continue
        pending.append(line)
        state, done = _scan_quotes(line, state)
        if done:
            stmt = b''.join(pending).rstrip()
            pending = []
            yield stmt[:-1]
    if not complete or pending:
        raise DumpFormatError('the dump ends before its trailer line "%s": it is truncated' % DUMP_TRAILER)


def read_dump_header(fileobj):
    """The ``-- key: value`` header of a dump as a dict (reads only the first lines)."""
    header = {}
    for _i in range(8):
        line = fileobj.readline().decode('utf-8', 'replace').rstrip('\n')
        if not line.startswith('-- '):
            break
        key, sep, value = line[3:].partition(': ')
        if sep:
            header[key] = value
    return header


def restore(cfg, fileobj):
    """Load a dump written by :func:`dump` into ``cfg.database``: each table in the dump is dropped and
    recreated; tables not in the dump are left alone. FOREIGN_KEY_CHECKS=0 during the load.

    Returns ``{'tables': {name: rows inserted}, 'statements': N}``. The caller must have verified the
    file (checksum, complete decompression) before: a failure midway leaves the database partly loaded.
    """
    counts = {}
    statements = 0
    current = None
    with connect(cfg, autocommit=False) as conn:
        with conn.cursor() as cur:
            cur.execute('SET FOREIGN_KEY_CHECKS=0')
            cur.execute('SET UNIQUE_CHECKS=0')
            for stmt in iter_statements(fileobj):
                if stmt.startswith(b'CREATE TABLE '):
                    match = re.match(rb'CREATE TABLE `((?:[^`]|``)+)`', stmt)
                    current = match.group(1).replace(b'``', b'`').decode('utf-8', 'surrogateescape') if match else None
                    if current is not None:
                        counts[current] = 0
                    conn.commit()
                # bytes go to the server unchanged (no re-encoding of binary literals)
                rows = cur.execute(stmt)
                if stmt.startswith(b'INSERT INTO ') and current is not None:
                    counts[current] += rows
                statements += 1
            cur.execute('SET FOREIGN_KEY_CHECKS=1')
            cur.execute('SET UNIQUE_CHECKS=1')
        conn.commit()
    return {'tables': counts, 'statements': statements}
