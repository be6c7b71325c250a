# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in facts: the startup script (dash quirks), the server endpoints, the java entry."""

from __future__ import annotations

import http.client
import os
import pwd
import ssl
import stat
import subprocess
import zipfile

# pylint: disable=unused-import,redefined-outer-name
import pytest

from standin_fixtures import LOG_LINE, make_node, pid_alive, poll  # noqa: F401
from standin.install import install_node  # noqa: E402  pylint: disable=wrong-import-order

# The stand-in's own tests (test code, exercised by every end-to-end test of the gate): the long tier.
pytestmark = pytest.mark.full


def https_get(port, path):
    """(status, body) over HTTPS without verification (self-signed)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection('127.0.0.1', port, context=ctx, timeout=10)
    try:
        conn.request('GET', path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_install_layout(make_node):
    """looker.jar is a real jar with the manifest; script and java are executable POSIX sh."""
    node = make_node(release='22.16.3')
    with zipfile.ZipFile(node.path('looker.jar')) as jar:
        manifest = jar.read('META-INF/MANIFEST.MF').decode()
    assert 'Implementation-Title: Looker' in manifest and 'Implementation-Version: 22.16.3' in manifest
    assert os.path.exists(node.path('looker-dependencies.jar'))
    for path in (node.path('looker'), os.path.join(node.bin, 'java')):
        with open(path, encoding='ascii') as handle:
            assert handle.readline() == '#!/bin/sh\n'
        assert os.stat(path).st_mode & stat.S_IXUSR
    assert node.java('version').stdout.strip() == '22.16.3'


def test_start_status_stop_cycle(make_node):
    """status 7 when stopped, 0 when running; start does not hold the caller's pipes; clean stop."""
    node = make_node()
    assert node.status() == (7, 'Status:Looker Web Application stopped')
    # capture_output: run() would hang until the timeout if the daemon kept our pipes open
    res = node.looker('start', timeout=20)
    assert res.returncode == 0, res.stderr
    pid = node.pid()
    assert pid and pid_alive(pid)
    node.wait_up()
    assert node.status() == (0, 'Status:Looker Web Application running')
    token_path = node.path('.status_server_token')
    assert stat.S_IMODE(os.stat(token_path).st_mode) == 0o600
    assert https_get(node.port, '/alive')[0] == 200
    assert https_get(node.port, '/control/stop?token=wrong')[0] == 403
    assert node.status()[0] == 0
    res = node.looker('stop')
    assert res.returncode == 0
    assert 'Force Stop' not in res.stdout
    node.wait_down()
    assert node.status() == (7, 'Status:Looker Web Application stopped')
    assert not os.path.exists(token_path) and node.pid() is None
    lines = node.log().splitlines()
    assert lines and all(LOG_LINE.match(line) for line in lines)
    assert 'Looker stopped' in lines[-1]


def test_start_delay_then_alive(make_node):
    """start_seconds: the pid exists at once, /alive refuses until the delay has passed."""
    node = make_node(start_seconds=1.5)
    assert node.looker('start').returncode == 0
    assert pid_alive(node.pid())
    assert node.status()[0] == 7
    node.wait_up()


def test_stop_quirk_kill_when_still_alive(make_node):
    """stop_seconds > 1: the one-pass loop sees /alive answering and sends SIGTERM then SIGKILL at once."""
    node = make_node(stop_seconds=5)
    assert node.looker('start').returncode == 0
    node.wait_up()
    pid = node.pid()
    res = node.looker('stop')
    assert 'Force Stop Looker Web Application' in res.stdout
    poll(lambda: not pid_alive(pid), 10, 'killed server')
    assert node.status()[0] == 7
    assert 'Looker stopped' not in node.log()  # killed, not a clean stop
    # stale pid file and token are left behind; a new start still works
    assert node.pid() == pid
    assert node.looker('start').returncode == 0
    node.wait_up()


def test_stop_without_token_uses_java_stop(make_node):
    """No .status_server_token: ./looker stop runs java -jar looker.jar stop (SIGTERM, wait)."""
    node = make_node()
    assert node.looker('start').returncode == 0
    node.wait_up()
    os.unlink(node.path('.status_server_token'))
    res = node.looker('stop')
    assert res.returncode == 0 and 'Looker stopped' in res.stdout
    node.wait_down()
    assert 'Shutting down Looker (SIGTERM)' in node.log()


def test_no_ssl_http(make_node):
    """--no-ssl: plain http on the port; the script uses http."""
    node = make_node()
    node.write_cfg('--no-ssl')
    assert node.looker('start').returncode == 0
    node.wait_up()
    conn = http.client.HTTPConnection('127.0.0.1', node.port, timeout=10)
    conn.request('GET', '/alive')
    assert conn.getresponse().status == 200
    conn.close()
    assert node.looker('stop').returncode == 0
    node.wait_down()


def test_deploying_refuses_start(make_node):
    """.deploying exists: start refuses with a message and non-zero exit; nothing runs."""
    node = make_node()
    open(node.path('.deploying'), 'w', encoding='ascii').close()
    res = node.looker('start')
    assert res.returncode != 0
    assert '.deploying exists' in res.stdout
    assert node.pid() is None and not os.path.exists(node.path('.starting'))
    assert node.status()[0] == 7
    os.unlink(node.path('.deploying'))
    assert node.looker('start').returncode == 0
    node.wait_up()


def test_starting_lock(make_node):
    """.starting holding a live pid refuses start; a dead pid does not."""
    node = make_node()
    with subprocess.Popen(['sleep', '30']) as holder:
        try:
            with open(node.path('.starting'), 'w', encoding='ascii') as handle:
                handle.write('%d\n' % holder.pid)
            res = node.looker('start')
            assert res.returncode != 0
            assert 'already starting' in res.stdout and node.pid() is None
        finally:
            holder.kill()
            holder.wait()
    res = node.looker('start')
    assert res.returncode == 0
    node.wait_up()
    assert not os.path.exists(node.path('.starting'))


def test_start_refused_while_running(make_node):
    """A second start while the server runs does not start another one."""
    node = make_node()
    assert node.looker('start').returncode == 0
    node.wait_up()
    pid = node.pid()
    res = node.java('start')
    assert res.returncode != 0 and 'already running' in res.stderr
    assert node.pid() == pid


def test_unknown_task_and_old_release(make_node):
    """Unknown task text; release < 6.4 has no migrate_encryption."""
    node = make_node()
    res = node.looker('frobnicate')
    assert res.returncode != 0 and res.stderr.strip() == 'Could not find task "frobnicate"'
    old = make_node('old', release='6.2.11')
    res = old.looker('migrate_encryption')
    assert res.returncode != 0 and res.stderr.strip() == 'Could not find task "migrate_encryption"'
    new = make_node('new', release='6.4.0')
    assert 'Could not find task' not in new.looker('migrate_encryption').stderr


def test_java_flags_and_bad_jar(make_node):
    """JVM flags are accepted; a jar that is not the stand-in's is refused like java does."""
    node = make_node()
    res = subprocess.run(['java', '-XX:+UseG1GC', '-Xms1g', '-Xmx1g', '-verbose:gc', '-Xloggc:/tmp/gc.log',
                          '--add-opens', 'java.base/java.lang=ALL-UNNAMED', '-Dfoo=bar', '-jar', 'looker.jar', 'version'],
                         cwd=node.home, env=node.env(), capture_output=True, text=True, check=False)
    assert res.returncode == 0 and res.stdout.strip() == '23.0.0'
    with open(node.path('other.jar'), 'wb') as handle:
        handle.write(b'not a zip')
    res = node.java('version')
    assert res.returncode == 0
    res = subprocess.run(['java', '-jar', 'other.jar', 'version'], cwd=node.home, env=node.env(),
                         capture_output=True, text=True, check=False)
    assert res.returncode != 0 and 'Invalid or corrupt jarfile' in res.stderr


def test_install_chowns_to_user(tmp_path):
    """install_node(user=...) hands the home and the installed files to that user."""
    ent = pwd.getpwnam('looker')
    home = str(tmp_path / 'home')
    paths = install_node(home, str(tmp_path), str(tmp_path / 'conf.json'), '/usr/bin/python3', user='looker')
    for key in ('home', 'jar', 'dependencies', 'script'):
        assert os.stat(paths[key]).st_uid == ent.pw_uid, key


def test_server_log_survives_rotation(make_node):
    """The running server keeps logging to a fresh looker.log after the old one was renamed."""
    node = make_node()
    assert node.looker('start').returncode == 0
    node.wait_up()
    os.rename(node.path('log', 'looker.log'), node.path('log', 'looker.log.20260101'))
    assert node.looker('stop').returncode == 0
    node.wait_down()
    assert 'Looker stopped' in node.log()
    assert 'Looker stopped' not in node.log('looker.log.20260101')
