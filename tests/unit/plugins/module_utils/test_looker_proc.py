# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one rule for "is Looker's pid alive" (_looker_proc.pid_alive), as the node layer and the restore use it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils._backup import home as backup_home
from ansible_collections.lookerops.encryption.plugins.module_utils._looker import proc as lproc
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.node import LookerNode

NO_SUCH_PID = 4194305  # above the largest pid_max: never a process


def _proc_state(pid):
    try:
        with open('/proc/%d/stat' % pid, 'rb') as handle:
            return handle.read().rsplit(b')', 1)[-1].split()[0]
    except OSError:
        return None


def _until(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def _write_pid(home, text):
    os.makedirs(os.path.join(home, '.tmp'), exist_ok=True)
    with open(os.path.join(home, '.tmp', 'looker.pid'), 'w', encoding='ascii') as handle:
        handle.write(text)


@pytest.fixture
def looker_like(tmp_path):
    """A live process whose command line runs looker.jar (as ``java -jar looker.jar start`` would)."""
    proc = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', '-jar', 'looker.jar', 'start'], cwd=str(tmp_path))
    try:
        assert _until(lambda: any('looker.jar' in a for a in lproc.read_cmdline(proc.pid) or []))
        yield proc
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize('text, pid', [
    ('1234\n', 1234), ('  77 extra words\n', 77), ('0\n', None), ('-3\n', None), ('', None), ('\n', None), ('abc\n', None),
])
def test_read_pid_file(tmp_path, text, pid):
    _write_pid(str(tmp_path), text)
    assert lproc.read_pid_file(str(tmp_path / '.tmp' / 'looker.pid')) == pid


def test_read_pid_file_missing(tmp_path):
    assert lproc.read_pid_file(str(tmp_path / 'absent.pid')) is None


@pytest.mark.parametrize('pid', [None, 0, -1, NO_SUCH_PID])
def test_no_process_is_not_alive(pid):
    assert lproc.pid_alive(pid) is False
    assert lproc.pid_alive(pid, looker_only=False) is False


def test_live_process_not_running_looker_is_only_alive_as_any_process(tmp_path):
    proc = subprocess.Popen(['sleep', '60'])
    try:
        assert _until(lambda: _proc_state(proc.pid) in (b'S', b'R'))
        assert lproc.pid_alive(proc.pid) is False  # pid reuse: a stale Looker pid file naming another program
        assert lproc.pid_alive(proc.pid, looker_only=False) is True
        _write_pid(str(tmp_path), '%d\n' % proc.pid)
        assert backup_home.looker_pid_alive(str(tmp_path)) == proc.pid  # the restore refuses on any live process
        assert LookerNode(str(tmp_path), 'root').pid_state() == {'pid': proc.pid, 'pid_alive': False, 'stale': True}
    finally:
        proc.kill()
        proc.wait()


def test_live_looker_process_is_alive_for_both(tmp_path, looker_like):
    assert lproc.pid_alive(looker_like.pid) is True
    _write_pid(str(tmp_path), '%d\n' % looker_like.pid)
    assert backup_home.looker_pid_alive(str(tmp_path)) == looker_like.pid
    assert LookerNode(str(tmp_path), 'root').pid_state() == {'pid': looker_like.pid, 'pid_alive': True, 'stale': False}


def test_zombie_is_dead_for_both(tmp_path, looker_like):
    looker_like.kill()  # not reaped yet: a zombie whose /proc/<pid>/stat says Z
    assert _until(lambda: _proc_state(looker_like.pid) == b'Z')
    assert lproc.pid_alive(looker_like.pid) is False
    assert lproc.pid_alive(looker_like.pid, looker_only=False) is False
    _write_pid(str(tmp_path), '%d\n' % looker_like.pid)
    assert backup_home.looker_pid_alive(str(tmp_path)) is None
    assert LookerNode(str(tmp_path), 'root').pid_state() == {'pid': looker_like.pid, 'pid_alive': False, 'stale': True}


def test_unreadable_proc_entry_is_dead(monkeypatch):
    real_open = open

    def no_stat(path, *args, **kwargs):
        if str(path) == '/proc/%d/stat' % os.getpid():
            raise PermissionError(13, 'Permission denied', path)
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr('builtins.open', no_stat)
    assert lproc.pid_alive(os.getpid(), looker_only=False) is False
