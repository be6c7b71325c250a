# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the Looker MySQL backend server through PyMySQL (connect, sessions,
what the database holds).

This is not a public API; it may change without notice.
"""

from __future__ import annotations

import contextlib
import ssl as _ssl
import traceback

from ansible_collections.lookerops.encryption.plugins.module_utils._mysql.config import BackendError


try:
    import pymysql
except ImportError:
    HAS_PYMYSQL = False
    PYMYSQL_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_PYMYSQL = True
    PYMYSQL_IMPORT_ERROR = None


PYMYSQL_MISSING_MSG = (
    'PyMySQL is required on the node that talks to the Looker backend database but cannot be imported '
    'by this Python interpreter. Install it: `apt-get install python3-pymysql` on Debian/Ubuntu, or '
    '`python3 -m pip install PyMySQL` for the interpreter Ansible uses on the node '
    '(ansible_python_interpreter).'
)

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
