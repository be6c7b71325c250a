# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stand-in's internal database: .db/looker.script (single node) or MySQL tables (-d / LOOKER_DB)."""

from __future__ import annotations

import json
import os
import tempfile
import time
from urllib.parse import unquote

from standin.keys import StartError

SETTING_TABLE = 'standin_setting'
SECRET_TABLE = 'standin_secret'
NODE_TABLE = 'standin_node'


# ---------------------------------------------------------------- credentials


def _parse_flat_yaml(text):
    data = {}
    for line in text.splitlines():
        line = line.split(' #', 1)[0].rstrip()
        if not line.strip() or line.lstrip().startswith('#') or ':' not in line:
            continue
        key, value = line.split(':', 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in '"\'':
            value = value[1:-1]
        data[key.strip()] = value
    return data


def read_creds_file(path):
    """Looker's -d YAML (dialect, host, username, password, database, port, ssl)."""
    try:
        with open(path, encoding='utf-8') as handle:
            text = handle.read()
    except OSError as exc:
        raise StartError('cannot read internal database credentials file %s: %s' % (path, exc.strerror)) from None
    try:
        import yaml  # pylint: disable=import-outside-toplevel
        data = yaml.safe_load(text)
    except ImportError:
        data = _parse_flat_yaml(text)
    if not isinstance(data, dict):
        raise StartError('internal database credentials file %s is not a YAML mapping' % path)
    return data


def parse_looker_db(value):
    """LOOKER_DB=dialect=mysql&host=..&username=..&password=..&database=..&port=.."""
    data = {}
    for part in value.split('&'):
        if '=' in part:
            key, val = part.split('=', 1)
            data[unquote(key)] = unquote(val)
    return data


def resolve_creds(creds_path, env=None):
    """Backend credentials from -d, else LOOKER_DB, else None (internal HyperSQL-like file store)."""
    env = os.environ if env is None else env
    if creds_path:
        data = read_creds_file(creds_path)
    elif env.get('LOOKER_DB'):
        data = parse_looker_db(env['LOOKER_DB'])
    else:
        return None
    if str(data.get('dialect', 'mysql')).lower() != 'mysql':
        raise StartError('unsupported internal database dialect %r (only mysql)' % data.get('dialect'))
    missing = [k for k in ('host', 'username', 'database') if not data.get(k)]
    if missing:
        raise StartError('internal database credentials lack %s' % ', '.join(missing))
    return data


def open_store(home, creds):
    """FileStore for single node without credentials, else MySQLStore."""
    if creds is None:
        return FileStore(home)
    return MySQLStore(creds)


# ---------------------------------------------------------------- file store


class FileStore:
    """JSON lines in $HOME/looker/.db/looker.script: first line settings, then one record per line."""

    kind = 'file'

    def __init__(self, home):
        self.home = home
        self.path = os.path.join(home, '.db', 'looker.script')

    def exists(self):
        """True when the database file exists."""
        return os.path.exists(self.path)

    def read(self):
        """(settings dict, list of records)."""
        settings, records = {}, []
        with open(self.path, encoding='utf-8') as handle:
            for line in handle:
                if not line.strip():
                    continue
                item = json.loads(line)
                if item.get('type') == 'settings':
                    settings = item['settings']
                else:
                    records.append({'id': item['id'], 'kind': item['kind'], 'value': item['value']})
        return settings, records

    def _write(self, settings, records):
        dirname = os.path.dirname(self.path)
        os.makedirs(dirname, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix='.looker.script.', dir=dirname)
        try:
            with os.fdopen(fd, 'w', encoding='utf-8') as handle:
                handle.write(json.dumps({'type': 'settings', 'settings': settings}, sort_keys=True) + '\n')
                for rec in records:
                    handle.write(json.dumps(dict(rec, type='record'), sort_keys=True) + '\n')
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.rename(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        dfd = os.open(dirname, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def create(self, settings, records):
        """Replace the whole database."""
        self._write(settings, records)

    def set_settings(self, settings):
        """Replace the settings, keeping the records."""
        _old, records = self.read()
        self._write(settings, records)

    def put_record(self, record):
        """Replace one record (atomic rewrite of the file)."""
        settings, records = self.read()
        records = [record if r['id'] == record['id'] else r for r in records]
        self._write(settings, records)

    def close(self):
        """Nothing to close."""


# ---------------------------------------------------------------- MySQL store


class MySQLStore:
    """Tables in the MySQL backend, created if absent; also the cluster's node registry."""

    kind = 'mysql'

    def __init__(self, creds):
        self.creds = creds
        self.conn = self.connect()
        self._ensure_tables()

    def connect(self):
        """A new autocommit PyMySQL connection to the backend."""
        import pymysql  # pylint: disable=import-outside-toplevel
        kwargs = {
            'host': str(self.creds['host']),
            'port': int(self.creds.get('port') or 3306),
            'user': str(self.creds['username']),
            'password': str(self.creds.get('password') or ''),
            'database': str(self.creds['database']),
            'autocommit': True,
            'connect_timeout': 10,
        }
        if str(self.creds.get('ssl', '')).lower() == 'true':
            kwargs['ssl'] = {'check_hostname': False}
        try:
            return pymysql.connect(**kwargs)
        except pymysql.MySQLError as exc:
            raise StartError('cannot connect to the internal database %s:%s/%s: %s'
                             % (kwargs['host'], kwargs['port'], kwargs['database'], exc)) from None

    def _ensure_tables(self):
        with self.conn.cursor() as cur:
            cur.execute('CREATE TABLE IF NOT EXISTS %s (k VARCHAR(64) PRIMARY KEY, v MEDIUMTEXT NOT NULL)' % SETTING_TABLE)
            cur.execute('CREATE TABLE IF NOT EXISTS %s (id VARCHAR(64) PRIMARY KEY, kind VARCHAR(64) NOT NULL, '
                        'value MEDIUMTEXT NOT NULL)' % SECRET_TABLE)
            cur.execute('CREATE TABLE IF NOT EXISTS %s (hostname VARCHAR(255) PRIMARY KEY, pid INT, '
                        'started_at DOUBLE, heartbeat_at DOUBLE, stopped_at DOUBLE NULL)' % NODE_TABLE)

    def exists(self):
        """True when the settings say a database was created."""
        with self.conn.cursor() as cur:
            cur.execute('SELECT COUNT(*) FROM %s WHERE k = %%s' % SETTING_TABLE, ('settings',))
            return cur.fetchone()[0] > 0

    def read(self):
        """(settings dict, list of records)."""
        with self.conn.cursor() as cur:
            cur.execute('SELECT v FROM %s WHERE k = %%s' % SETTING_TABLE, ('settings',))
            row = cur.fetchone()
            settings = json.loads(row[0]) if row else {}
            cur.execute('SELECT id, kind, value FROM %s ORDER BY id' % SECRET_TABLE)
            records = [{'id': r[0], 'kind': r[1], 'value': r[2]} for r in cur.fetchall()]
        return settings, records

    def create(self, settings, records):
        """Replace the whole database in one transaction."""
        self.conn.begin()
        try:
            with self.conn.cursor() as cur:
                cur.execute('DELETE FROM %s' % SECRET_TABLE)
                cur.execute('DELETE FROM %s' % SETTING_TABLE)
                cur.execute('INSERT INTO %s (k, v) VALUES (%%s, %%s)' % SETTING_TABLE, ('settings', json.dumps(settings, sort_keys=True)))
                for rec in records:
                    cur.execute('INSERT INTO %s (id, kind, value) VALUES (%%s, %%s, %%s)' % SECRET_TABLE,
                                (rec['id'], rec['kind'], rec['value']))
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise

    def set_settings(self, settings):
        """Replace the settings."""
        with self.conn.cursor() as cur:
            cur.execute('REPLACE INTO %s (k, v) VALUES (%%s, %%s)' % SETTING_TABLE, ('settings', json.dumps(settings, sort_keys=True)))

    def put_record(self, record):
        """Replace one record."""
        with self.conn.cursor() as cur:
            cur.execute('UPDATE %s SET kind = %%s, value = %%s WHERE id = %%s' % SECRET_TABLE,
                        (record['kind'], record['value'], record['id']))

    # -- node registry

    def register_node(self, hostname, pid):
        """This node is connected (stopped_at cleared)."""
        with self.conn.cursor() as cur:
            cur.execute('REPLACE INTO %s (hostname, pid, started_at, heartbeat_at, stopped_at) VALUES '
                        '(%%s, %%s, UNIX_TIMESTAMP(NOW(6)), UNIX_TIMESTAMP(NOW(6)), NULL)' % NODE_TABLE, (hostname, pid))

    def heartbeat(self, hostname, conn=None):
        """Refresh this node's heartbeat (on ``conn``, the heartbeat connection, if given)."""
        with (conn or self.conn).cursor() as cur:
            cur.execute('UPDATE %s SET heartbeat_at = UNIX_TIMESTAMP(NOW(6)) WHERE hostname = %%s AND stopped_at IS NULL'
                        % NODE_TABLE, (hostname,))

    def node_stopped(self, hostname):
        """Record a clean stop."""
        with self.conn.cursor() as cur:
            cur.execute('UPDATE %s SET stopped_at = UNIX_TIMESTAMP(NOW(6)) WHERE hostname = %%s' % NODE_TABLE, (hostname,))

    def live_nodes(self, live_window, heartbeat_seconds):
        """Hostnames of nodes running (fresh heartbeat) or stopped less than live_window seconds ago.

        A node that died without a clean stop stays live until its last heartbeat is
        max(live_window, 3 * heartbeat_seconds) old.
        """
        running_window = max(float(live_window), 3.0 * float(heartbeat_seconds))
        with self.conn.cursor() as cur:
            cur.execute('SELECT hostname FROM %s WHERE '
                        '(stopped_at IS NULL AND heartbeat_at > UNIX_TIMESTAMP(NOW(6)) - %%s) OR '
                        '(stopped_at IS NOT NULL AND stopped_at > UNIX_TIMESTAMP(NOW(6)) - %%s) ORDER BY hostname'
                        % NODE_TABLE, (running_window, float(live_window)))
            return [r[0] for r in cur.fetchall()]

    def close(self):
        """Close the connection."""
        try:
            self.conn.close()
        except Exception:  # pylint: disable=broad-except
            pass


def pid_alive(pid):
    """True if a process with this pid exists (zombies count as gone)."""
    try:
        with open('/proc/%d/stat' % pid, encoding='ascii', errors='replace') as handle:
            fields = handle.read().rsplit(')', 1)[1].split()
        return fields[0] != 'Z'
    except (OSError, IndexError):
        return False


def read_pid(path):
    """Integer pid from a pid file, or None."""
    try:
        with open(path, encoding='ascii') as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def wait_for(predicate, timeout, interval=0.05):
    """Poll predicate until true or timeout; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
