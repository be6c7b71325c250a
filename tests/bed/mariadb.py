# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A throw-away MariaDB server for tests (test code, not part of the collection).

Started without systemd from a private data directory, bound to one address, stopped by the pid
in its pid file. Root talks to it over the Unix socket (unix_socket authentication as OS root).
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
from urllib.parse import quote

from bed.util import free_port, pid_alive, wait_pid_exit, write_private


RICH_OBJECTS = (
    'CREATE TABLE lk_rich_log (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, '
    'happened_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, fixed_ts TIMESTAMP NULL, '
    'created DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), note VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin, '
    'payload LONGBLOB, amount DECIMAL(30,10), amount_x2 DECIMAL(31,10) AS (amount * 2) STORED, note_chars INT AS (CHAR_LENGTH(note)) VIRTUAL, '
    'KEY k_happened (happened_at)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4',
    'CREATE TABLE lk_rich_audit (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, log_id BIGINT NOT NULL, action VARCHAR(20) NOT NULL, '
    'CONSTRAINT fk_audit_log FOREIGN KEY (log_id) REFERENCES lk_rich_log (id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4',
    'CREATE TRIGGER lk_rich_log_ai AFTER INSERT ON lk_rich_log FOR EACH ROW '
    "INSERT INTO lk_rich_audit (log_id, action) VALUES (NEW.id, 'insert')",
    'CREATE PROCEDURE lk_rich_count(OUT n BIGINT) READS SQL DATA BEGIN SELECT COUNT(*) INTO n FROM lk_rich_log; END',
    'CREATE FUNCTION lk_rich_double(x BIGINT) RETURNS BIGINT DETERMINISTIC RETURN x * 2',
    "CREATE EVENT lk_rich_purge ON SCHEDULE EVERY 1 DAY STARTS '2031-01-01 00:00:00' DISABLE "
    "DO DELETE FROM lk_rich_audit WHERE action = 'expired'",
    'CREATE VIEW lk_rich_v_notes AS SELECT id, note, payload FROM lk_rich_log',
    'CREATE VIEW lk_rich_a_short AS SELECT id, note FROM lk_rich_v_notes WHERE id <= 2',
)
# (happened_at, fixed_ts, note, payload, amount), written with time_zone '+00:00'
RICH_ROWS = (
    ('2001-02-03 04:05:06', '2001-02-03 04:05:06', 'plain', b'', '0.0000000001'),
    ('2020-02-29 23:59:59', '1970-01-01 00:00:01', "4-byte: \U0001F600 \U0001D11E \u4e2d quotes ' \" ` \\ ; -- x", bytes(range(256)) * 64,
     '-12345678901234567890.0123456789'),
    ('2038-01-19 03:14:07', None, None, None, None),
    ('2010-06-30 12:00:00', '2010-06-30 12:00:00', 'nul \x00 and newline \n', b'\x00\xff' * 4096, '1'),
)


class MariaDBError(RuntimeError):
    """MariaDB could not be set up or started."""


def _binary(name, fallback):
    path = shutil.which(name) or shutil.which(fallback)
    if not path:
        for cand in ('/usr/sbin/' + name, '/usr/bin/' + name, '/usr/sbin/' + fallback, '/usr/bin/' + fallback):
            if os.path.exists(cand):
                return cand
        raise MariaDBError('%s not found: install MariaDB with `apt-get update && apt-get install -y mariadb-server`' % name)
    return path


class MariaDB:
    """One MariaDB server in ``workdir`` listening on ``host``:``port`` and on a Unix socket."""

    def __init__(self, workdir, host='127.0.0.1', port=None, time_zone=None, max_connections=200):
        self.workdir = os.path.abspath(workdir)
        self.host = host
        self.port = port
        self.time_zone = time_zone
        self.max_connections = int(max_connections)
        self.datadir = os.path.join(self.workdir, 'data')
        self.socket = os.path.join(self.workdir, 'mysqld.sock')
        self.pid_file = os.path.join(self.workdir, 'mysqld.pid')
        self.log_file = os.path.join(self.workdir, 'mysqld.err')
        self.tmpdir = os.path.join(self.workdir, 'tmp')
        self.user = None
        self.password = None
        self.database = None
        self._proc = None

    # -- state ---------------------------------------------------------------------------

    def to_dict(self):
        """Enough to find (and stop) this server from another process."""
        return {'workdir': self.workdir, 'host': self.host, 'port': self.port, 'user': self.user,
                'password': self.password, 'database': self.database, 'time_zone': self.time_zone,
                'max_connections': self.max_connections}

    @classmethod
    def from_dict(cls, data):
        """Rebuild from :meth:`to_dict` output."""
        obj = cls(data['workdir'], host=data['host'], port=data['port'], time_zone=data.get('time_zone'),
                  max_connections=data.get('max_connections', 200))
        obj.user = data.get('user')
        obj.password = data.get('password')
        obj.database = data.get('database')
        return obj

    @property
    def pid(self):
        """pid of the running server, or None."""
        try:
            with open(self.pid_file, encoding='ascii') as handle:
                pid = int(handle.read().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def running(self):
        """True when the server process is alive and answers on its socket."""
        if self.pid is None:
            return False
        try:
            self.connect().close()
        except Exception:  # pylint: disable=broad-except
            return False
        return True

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, timeout=60):
        """Initialise the data directory if needed and start the server; idempotent."""
        if self.running():
            return self
        os.makedirs(self.workdir, exist_ok=True)
        mysql = pwd.getpwnam('mysql')
        os.chown(self.workdir, mysql.pw_uid, mysql.pw_gid)
        os.makedirs(self.tmpdir, mode=0o700, exist_ok=True)
        os.chown(self.tmpdir, mysql.pw_uid, mysql.pw_gid)
        if self.port is None:
            self.port = free_port(self.host)
        if not os.path.isdir(os.path.join(self.datadir, 'mysql')):
            if os.path.isdir(self.datadir):
                shutil.rmtree(self.datadir)
            cmd = [_binary('mariadb-install-db', 'mysql_install_db'), '--no-defaults', '--user=mysql',
                   '--datadir=' + self.datadir, '--skip-test-db', '--skip-name-resolve',
                   '--auth-root-authentication-method=socket']
            res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
            if res.returncode != 0:
                raise MariaDBError('mariadb-install-db failed (rc=%d):\n%s' % (res.returncode, res.stdout[-4000:]))
        cmd = [_binary('mariadbd', 'mysqld'), '--no-defaults', '--user=mysql', '--datadir=' + self.datadir,
               '--socket=' + self.socket, '--pid-file=' + self.pid_file, '--port=%d' % self.port,
               '--bind-address=' + self.host, '--log-error=' + self.log_file, '--skip-name-resolve',
               '--innodb-buffer-pool-size=32M', '--max-connections=%d' % self.max_connections,
               # its own temp dir: a clean-up of the shared /tmp must not pull files from under the server
               '--tmpdir=' + self.tmpdir]
        if self.time_zone:
            cmd.append('--default-time-zone=' + self.time_zone)
        with open(os.devnull, 'rb') as devnull:
            # pylint: disable-next=consider-using-with
            self._proc = subprocess.Popen(cmd, stdin=devnull, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                raise MariaDBError('mariadbd exited with %s during start; see %s:\n%s'
                                   % (self._proc.returncode, self.log_file, self._log_tail()))
            if self.pid is not None and self._tcp_open():
                try:
                    self.connect().close()
                    break
                except Exception:  # pylint: disable=broad-except
                    pass
            if time.monotonic() > deadline:
                self.stop()
                raise MariaDBError('mariadbd did not become ready within %ss; see %s:\n%s'
                                   % (timeout, self.log_file, self._log_tail()))
            time.sleep(0.05)
        return self

    def _tcp_open(self):
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def _log_tail(self):
        try:
            with open(self.log_file, encoding='utf-8', errors='replace') as handle:
                return handle.read()[-3000:]
        except OSError:
            return '(no log)'

    def stop(self, timeout=60):
        """Stop the server by the pid in its pid file and wait for it to exit; idempotent."""
        pid = self.pid
        if pid is None and self._proc is not None and self._proc.poll() is None:
            pid = self._proc.pid
        if pid is not None:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            if self._proc is not None and self._proc.pid == pid:
                try:
                    self._proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    os.kill(pid, signal.SIGKILL)
                    self._proc.wait(10)
            elif not wait_pid_exit(pid, timeout):
                os.kill(pid, signal.SIGKILL)
                wait_pid_exit(pid, 10)
        self._proc = None

    # -- use -----------------------------------------------------------------------------

    def connect(self, database=None, **kwargs):
        """PyMySQL connection as root over the Unix socket."""
        import pymysql  # pylint: disable=import-outside-toplevel
        return pymysql.connect(unix_socket=self.socket, user='root', database=database, autocommit=True,
                               connect_timeout=5, **kwargs)

    def connect_as_user(self, database=None, host=None):
        """PyMySQL connection as the application user over TCP."""
        import pymysql  # pylint: disable=import-outside-toplevel
        return pymysql.connect(host=host or self.host, port=self.port, user=self.user, password=self.password,
                               database=database or self.database, autocommit=True, connect_timeout=5)

    def ensure_database(self, name='looker', user='looker', password=None):
        """Create database ``name`` and a user allowed from any host; idempotent. Returns self."""
        if password is None:
            password = self.password if (self.password and self.user == user) else secrets.token_hex(16)
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute('CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4' % name)
                cur.execute("CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (user, password))
                cur.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", (user, password))
                cur.execute("GRANT ALL PRIVILEGES ON `%s`.* TO %%s@'%%%%'" % name, (user,))
                cur.execute("GRANT PROCESS, RELOAD ON *.* TO %s@'%%'", (user,))
                cur.execute('FLUSH PRIVILEGES')
        finally:
            conn.close()
        self.database = name
        self.user = user
        self.password = password
        return self

    def creds_yaml(self, path, host=None):
        """Write Looker's ``-d`` credentials YAML (mode 0600 from the first byte); returns path."""
        if self.user is None:
            raise MariaDBError('call ensure_database() before creds_yaml()')
        text = ('dialect: mysql\nhost: %s\nusername: %s\npassword: "%s"\ndatabase: %s\nport: %d\n'
                % (host or self.host, self.user, self.password, self.database, self.port))
        write_private(path, text)
        return path

    def looker_db(self, host=None):
        """Looker's ``LOOKER_DB`` value for this database (percent-encoded values)."""
        if self.user is None:
            raise MariaDBError('call ensure_database() before looker_db()')
        return 'dialect=mysql&host=%s&username=%s&password=%s&database=%s&port=%d' % (
            quote(host or self.host, safe=''), quote(self.user, safe=''), quote(self.password, safe=''),
            quote(self.database, safe=''), self.port)

    def add_rich_objects(self, database=None):
        """What real backends have besides plain tables, created by the application user (so it is the definer).

        TIMESTAMPs written in UTC (the server's own zone may be another), DEFAULT CURRENT_TIMESTAMP and ON UPDATE,
        stored and virtual generated columns, 4-byte utf8mb4 text, blobs holding every byte value, a trigger, a
        procedure, a function, an event, and a view on a view (named so that it sorts before the view it reads).
        Idempotent: nothing is created twice.
        """
        conn = self.connect_as_user(database=database or self.database)
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW TABLES LIKE 'lk_rich_log'")
                if cur.fetchall():
                    return
                for sql in RICH_OBJECTS:
                    cur.execute(sql)
                cur.execute("SET time_zone = '+00:00'")
                cur.executemany('INSERT INTO lk_rich_log (happened_at, fixed_ts, note, payload, amount) VALUES (%s, %s, %s, %s, %s)',
                                RICH_ROWS)
        finally:
            conn.close()

    def canonical_dump(self, database=None, ignore_data=()):
        """A canonical dump of the whole database (schema, data, routines, triggers, events, views) as root, bytes.

        ``ignore_data`` names tables whose rows are left out (their definition stays).
        """
        database = database or self.database
        argv = [_binary('mariadb-dump', 'mysqldump'), '--no-defaults', '--socket=' + self.socket, '--user=root',
                '--single-transaction', '--routines', '--triggers', '--events', '--hex-blob', '--tz-utc', '--skip-dump-date',
                '--skip-comments', '--order-by-primary', '--default-character-set=utf8mb4', '--skip-extended-insert']
        argv += ['--ignore-table-data=%s.%s' % (database, t) for t in ignore_data]
        res = subprocess.run(argv + [database], stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        if res.returncode != 0:
            raise MariaDBError('canonical dump failed (rc=%d): %s' % (res.returncode, res.stderr.decode('utf-8', 'replace')))
        return res.stdout

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
