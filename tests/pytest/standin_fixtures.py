# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers and fixtures for the Looker stand-in tests (real processes on loopback)."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)

# pylint: disable=wrong-import-position
from standin.install import install_node, write_config  # noqa: E402

FAST = {'start_seconds': 0.2, 'stop_seconds': 0.2, 'migrate_seconds': 0.3, 'heartbeat_seconds': 0.5,
        'live_window_seconds': 60, 'records': 6}
LOG_LINE = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \+0000 \[(INFO|WARN|ERROR|DEBUG)\|[^|\]]+\|[^|\]]+\] :: .+$')
AWS_TEST_ENV = {'AWS_ACCESS_KEY_ID': 'testing', 'AWS_SECRET_ACCESS_KEY': 'testing', 'AWS_DEFAULT_REGION': 'us-east-1',
                'AWS_EC2_METADATA_DISABLED': 'true'}
SCRUB = ('LKR_', 'AWS_', 'LOOKER_DB', 'LOOKERPORT', 'LOOKER_STANDIN')


def free_port():
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def new_cmk():
    """base64 text of 32 random bytes (what ``openssl rand -base64 32`` prints)."""
    return base64.b64encode(os.urandom(32)).decode('ascii')


def pid_alive(pid):
    """Live, non-zombie process."""
    try:
        with open('/proc/%d/stat' % pid, encoding='ascii', errors='replace') as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] not in ('Z', 'X')
    except (OSError, IndexError):
        return False


def poll(predicate, timeout, what):
    """Poll until truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail('timed out after %ss waiting for %s' % (timeout, what))
        time.sleep(0.05)


class StandinNode:
    """One stand-in node in a temp dir: home, bin/java, config, lookerstart.cfg."""

    def __init__(self, root, name='node', release='23.0.0', **tunables):
        self.root = os.path.join(str(root), name)
        self.home = os.path.join(self.root, 'looker')
        self.bin = os.path.join(self.root, 'bin')
        self.config = os.path.join(self.root, 'standin.json')
        self.port = free_port()
        # Looker's API listens on 19999 by default: nodes sharing this host's network each need their own.
        self.api_port = free_port()
        self.seen_pids = set()
        os.makedirs(self.bin, exist_ok=True)
        install_node(self.home, self.bin, self.config, sys.executable, release=release)
        self.configure(release=release, **dict(FAST, **tunables))
        self.write_cfg()

    def configure(self, **tunables):
        """Rewrite the stand-in tunables."""
        return write_config(self.config, **tunables)

    def write_cfg(self, lookerargs='', extra=''):
        """lookerstart.cfg with this node's port."""
        text = 'LOOKERPORT=%d\nLOOKERARGS="--port %d --api-port %d %s"\n%s\n' % (self.port, self.port, self.api_port, lookerargs, extra)
        with open(os.path.join(self.home, 'lookerstart.cfg'), 'w', encoding='utf-8') as handle:
            handle.write(text)

    def env(self, extra=None):
        """A clean environment: no key settings unless given in ``extra``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUB)}
        env.update(AWS_TEST_ENV)
        env['PATH'] = self.bin + os.pathsep + env.get('PATH', '/usr/bin:/bin')
        env['HOME'] = self.root
        env.update(extra or {})
        return env

    def looker(self, *args, env=None, timeout=60):
        """``./looker ARGS`` (run by /bin/sh through its shebang), output captured."""
        res = subprocess.run([os.path.join(self.home, 'looker')] + list(args), cwd=self.home, env=self.env(env),
                             stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, check=False)
        self._note_pid()
        return res

    def java(self, *args, env=None, timeout=30):
        """``java -jar looker.jar ARGS`` in the Looker home."""
        res = subprocess.run([os.path.join(self.bin, 'java'), '-jar', 'looker.jar'] + list(args), cwd=self.home,
                             env=self.env(env), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=timeout, check=False)
        self._note_pid()
        return res

    def inspect(self, *args, env=None):
        """standin_inspect JSON."""
        res = self.java('standin_inspect', *args, env=env)
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)

    def path(self, *parts):
        """Path inside the Looker home."""
        return os.path.join(self.home, *parts)

    def pid(self):
        """pid in .tmp/looker.pid or None."""
        try:
            with open(self.path('.tmp', 'looker.pid'), encoding='ascii') as handle:
                pid = int(handle.read().strip())
        except (OSError, ValueError):
            return None
        self.seen_pids.add(pid)
        return pid

    def _note_pid(self):
        self.pid()

    def status(self, env=None):
        """(exit code, stdout) of ./looker status."""
        res = self.looker('status', env=env)
        return res.returncode, res.stdout.strip()

    def wait_up(self, timeout=15):
        """Poll ./looker status until running."""
        poll(lambda: self.status()[0] == 0, timeout, 'node %s up' % self.home)

    def wait_down(self, timeout=15):
        """Poll until refused AND no live pid in .tmp/looker.pid."""
        def down():
            pid = self.pid()
            return self.status()[0] == 7 and (pid is None or not pid_alive(pid))
        poll(down, timeout, 'node %s down' % self.home)

    def log(self, name='looker.log'):
        """Text of log/<name> ('' if absent)."""
        try:
            with open(self.path('log', name), encoding='utf-8') as handle:
                return handle.read()
        except OSError:
            return ''

    def kill_all(self):
        """Teardown: SIGKILL every stand-in process of this node (pid file, seen pids, cwd in home)."""
        pids = set(self.seen_pids)
        pid = self.pid()
        if pid:
            pids.add(pid)
        for entry in os.listdir('/proc'):
            if not entry.isdigit():
                continue
            try:
                if os.readlink('/proc/%s/cwd' % entry) != self.home:
                    continue
                with open('/proc/%s/cmdline' % entry, 'rb') as handle:
                    if b'standin.java' in handle.read():
                        pids.add(int(entry))
            except OSError:
                continue
        for pid in pids:
            if pid_alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10
        while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.02)


@pytest.fixture
def make_node(tmp_path, request):
    """Factory of StandinNode objects, all killed by pid at teardown.

    Stand-in nodes run Looker tasks on this host, where the bed's nodes (which share the host's process table)
    would see them: hold the machine-wide bed lock, as the bed tests do."""
    request.getfixturevalue('bed_factory').hold()
    nodes = []

    def factory(name='node', **kwargs):
        node = StandinNode(tmp_path, name, **kwargs)
        nodes.append(node)
        return node

    yield factory
    for node in nodes:
        node.kill_all()


@pytest.fixture
def standin_moto(tmp_path):
    """A moto server (AWS KMS) on loopback (tests/bed/moto.py), stopped by pid."""
    from bed.moto import MotoServer  # pylint: disable=import-outside-toplevel
    server = MotoServer(log_file=str(tmp_path / 'moto.log'))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope='session')
def standin_mariadb():
    """One MariaDB for the stand-in tests (tests/bed/mariadb.py), stopped by pid at the end.

    Its directory is not under pytest's tmp (0700 root: mysqld could not enter it).
    """
    from bed.mariadb import MariaDB  # pylint: disable=import-outside-toplevel
    workdir = tempfile.mkdtemp(prefix='standin-mariadb-')
    os.chmod(workdir, 0o755)
    server = MariaDB(workdir)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def backend(standin_mariadb, tmp_path, request):
    """A fresh database and its -d credentials file: (mariadb, creds_path)."""
    name = 'standin_' + re.sub(r'[^a-z0-9]', '_', request.node.name.lower())[-40:]
    conn = standin_mariadb.connect()
    try:
        with conn.cursor() as cur:
            cur.execute('DROP DATABASE IF EXISTS `%s`' % name)
    finally:
        conn.close()
    standin_mariadb.ensure_database(name=name, user='looker')
    creds = str(tmp_path / 'looker-db.yml')
    standin_mariadb.creds_yaml(creds)
    return standin_mariadb, creds
