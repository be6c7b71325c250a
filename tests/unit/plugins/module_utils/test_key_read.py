# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests: reading the key a node gives Looker never writes its text to a file, even when the reader is killed.

The key text is read through a pipe (``LookerUser.read_secret``); the output of every other command run as the
Looker user (which a ``set -x`` in lookerstart.cfg can fill with the key) goes to files that have no name.
"""

from __future__ import annotations

import base64
import os
import pwd
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils._looker import settings as lset
from ansible_collections.lookerops.encryption.plugins.module_utils._looker import user as lu

KEY = base64.b64encode(bytes(range(100, 132))).decode()
USER = pwd.getpwuid(os.getuid()).pw_name
# The collection's import root (the directory holding ansible_collections/), for a child Python.
IMPORT_ROOT = os.path.abspath(os.path.join(os.path.dirname(lset.__file__), *(['..'] * 6)))

READER = r'''
import os, sys
sys.path.insert(0, %(root)r)
from ansible_collections.lookerops.encryption.plugins.module_utils._looker import settings as lset
from ansible_collections.lookerops.encryption.plugins.module_utils._looker import user as lu
runner = lu.LookerUser(%(home)r, %(user)r, path='/usr/bin:/bin')
config = lset.NodeSettings(runner)
config.settings()
open(%(arm)r, 'w').close()
if %(what)r == 'key':
    config.key_identity()
else:
    runner.run(['/bin/sh', '-c', '. ./lookerstart.cfg'], timeout=60, source_cfg=False)
'''


def files_holding(root, needle):
    found = []
    for base, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(base, name)
            try:
                with open(path, 'rb') as handle:
                    if needle in handle.read():
                        found.append(path)
            except OSError:
                pass
    return found


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@pytest.fixture(name='home')
def home_fixture(tmp_path):
    home = tmp_path / 'looker'
    home.mkdir()
    return home


def write_cfg(home, text):
    path = home / 'lookerstart.cfg'
    path.write_text(text)
    os.chmod(str(path), 0o600)


@pytest.mark.parametrize('what', ['key', 'command'])
def test_killed_reader_leaves_no_key_file(tmp_path, home, what):
    """The module is killed while the Looker user's shell has printed the key (and traced it with set -x)."""
    tmpdir = tmp_path / 'tmp'
    tmpdir.mkdir()
    arm, ready = tmp_path / 'arm', tmp_path / 'ready'
    # The EXIT trap holds the shell after it printed: the reader is killed while the output is still open.
    write_cfg(home, "export LKR_MASTER_KEY_ENV='%s'\nset -x\n"
                    "trap '[ -e %s ] && { : > %s; sleep 60; }' EXIT\n" % (KEY, arm, ready))
    script = READER % {'root': IMPORT_ROOT, 'home': str(home), 'user': USER, 'arm': str(arm), 'what': what}
    env = dict(os.environ, TMPDIR=str(tmpdir))
    # pylint: disable-next=consider-using-with
    proc = subprocess.Popen([sys.executable, '-c', script], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_for(ready.exists), proc.stderr.read().decode() if proc.poll() is not None else 'no ready file'
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        # The reader, its shell and the shell's sleep: this test's own process group.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        proc.stderr.close()
    assert os.listdir(str(tmpdir)) == []
    assert files_holding(str(tmp_path), KEY.encode()) == [str(home / 'lookerstart.cfg')]


def test_key_env_read_through_a_pipe(home, tmp_path, monkeypatch):
    write_cfg(home, "export LKR_MASTER_KEY_ENV='%s'\nset -x\n" % KEY)
    tmpdir = tmp_path / 'tmp'
    tmpdir.mkdir()
    monkeypatch.setattr(lu.tempfile, 'tempdir', str(tmpdir))
    calls = []
    real = lu.subprocess.Popen

    def spy(argv, **kwargs):
        calls.append((argv, kwargs.get('stdout'), kwargs.get('stderr')))
        return real(argv, **kwargs)
    monkeypatch.setattr(lu.subprocess, 'Popen', spy)
    config = lset.NodeSettings(lu.LookerUser(str(home), USER, path='/usr/bin:/bin'))
    ident = config.key_identity()
    assert ident['kind'] == 'env' and ident['identity'].startswith('kcv1:') and ident['error'] is None
    key_reads = [c for c in calls if 'LKR_MASTER_KEY_ENV-' in ' '.join(c[0])]
    assert len(key_reads) == 1
    assert key_reads[0][1] == subprocess.PIPE and key_reads[0][2] == subprocess.DEVNULL
    assert os.listdir(str(tmpdir)) == []


def test_key_env_read_failure_is_an_error(home):
    write_cfg(home, "export LKR_MASTER_KEY_ENV='%s'\n" % KEY)
    config = lset.NodeSettings(lu.LookerUser(str(home), USER, path='/usr/bin:/bin'))
    config.settings()
    write_cfg(home, "export LKR_MASTER_KEY_ENV='%s'\nexit 4\n" % KEY)
    with pytest.raises(lset.LookerNodeError, match='rc 4'):
        config.key_text_in_force()


def test_command_output_has_no_name(home, tmp_path, monkeypatch):
    """What the Looker user's commands print is read back, and never lies under a name while they run."""
    tmpdir = tmp_path / 'tmp'
    tmpdir.mkdir()
    monkeypatch.setattr(lu.tempfile, 'tempdir', str(tmpdir))
    runner = lu.LookerUser(str(home), USER, path='/usr/bin:/bin')
    res = runner.run(['/bin/sh', '-c', 'printf "%%s\\n" "$K"; ls -A %s; readlink /proc/$$/fd/1 /proc/$$/fd/2 >&2'
                      % tmpdir], env_extra={'K': KEY}, source_cfg=False, timeout=30)
    assert res['rc'] == 0 and res['stdout'] == KEY + '\n'
    assert [line.endswith('(deleted)') for line in res['stderr'].splitlines()] == [True, True]
    assert os.listdir(str(tmpdir)) == []
    with lu.CapturedOutput() as output:
        output.stdout.write(b'x' * 10 + b'tail')
        assert output.read(limit=4) == {'stdout': 'tail', 'stderr': ''}
