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

from bed.util import free_port, pid_alive, wait_pid_exit, write_private


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

    def __init__(self, workdir, host='127.0.0.1', port=None):
        self.workdir = os.path.abspath(workdir)
        self.host = host
        self.port = port
        self.datadir = os.path.join(self.workdir, 'data')
        self.socket = os.path.join(self.workdir, 'mysqld.sock')
        self.pid_file = os.path.join(self.workdir, 'mysqld.pid')
        self.log_file = os.path.join(self.workdir, 'mysqld.err')
        self.user = None
        self.password = None
        self.database = None
        self._proc = None

    # -- state ---------------------------------------------------------------------------

    def to_dict(self):
        """Enough to find (and stop) this server from another process."""
        return {'workdir': self.workdir, 'host': self.host, 'port': self.port, 'user': self.user,
                'password': self.password, 'database': self.database}

    @classmethod
    def from_dict(cls, data):
        """Rebuild from :meth:`to_dict` output."""
        obj = cls(data['workdir'], host=data['host'], port=data['port'])
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
               '--innodb-buffer-pool-size=32M', '--max-connections=200']
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

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
