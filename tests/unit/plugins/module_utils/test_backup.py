# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of _backup: excludes, manifest, verification, free-space refusal, idempotent re-run, restore."""

from __future__ import annotations

import collections
import hashlib
import json
import os
import stat
import tarfile

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils._backup import errors as backup_errors
from ansible_collections.lookerops.encryption.plugins.module_utils._backup import home as backup_home
from ansible_collections.lookerops.encryption.plugins.module_utils._backup import manifest as backup_manifest
from ansible_collections.lookerops.encryption.plugins.module_utils._backup import space as backup_space


def _make_home(root):
    home = os.path.join(root, 'looker')
    files = {
        'looker.jar': b'jar',
        'looker-dependencies.jar': b'deps' * 100,
        'lookerstart.cfg': b'LOOKERARGS="--no-ssl"\n',
        '.db/looker.script': os.urandom(5000),
        'log/looker.log': b'log line\n',
        '.tmp/looker.pid': b'4194305\n',  # above pid_max: never a live process
        '.cache/x': b'c',
        '.snapshots/s': b's',
        'deploy_keys/k': b'k',
        'models-user-1/a/log': b'a file named log',
        'models-user-1/a/view.lkml': b'view: x {}',
        '.ssh/authorized_keys': b'ssh-ed25519 AAAA',
        '.ssh/known_hosts': b'h',
        'dr-log/d': b'd',
        'core': b'core dump',
        'secret/cmk.key': b'key',
    }
    for rel, data in files.items():
        path = os.path.join(home, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as handle:
            handle.write(data)
    os.symlink('looker.jar', os.path.join(home, 'current.jar'))
    return home


@pytest.mark.parametrize('rel, excluded', [
    (['log'], True),
    (['log', 'looker.log'], True),
    (['models', 'log'], True),
    (['logs'], False),
    (['catalog'], False),
    (['.ssh', 'authorized_keys'], True),
    (['.ssh', 'authorized_keys2'], False),
    (['looker.jar'], True),
    (['looker-dependencies.jar'], False),
    (['x', 'core'], True),
    (['core.1'], False),
    (['.db', 'looker.script'], False),
])
def test_is_excluded_default_list(rel, excluded):
    assert backup_home.is_excluded(rel, backup_home.DEFAULT_EXCLUDES) is excluded


def test_is_excluded_wildcards_and_slash_patterns():
    assert backup_home.is_excluded(['a', 'b.tmp'], ['*.tmp'])
    assert not backup_home.is_excluded(['a', 'b.tmpx'], ['*.tmp'])
    assert backup_home.is_excluded(['x', 'models', 'cache'], ['models/cache'])
    assert not backup_home.is_excluded(['models', 'x', 'cache'], ['models/cache'])


def _members(path):
    with tarfile.open(path, 'r:gz') as tar:
        return {m.name: m for m in tar.getmembers()}


def test_home_backup_archive_manifest_and_rerun(tmp_path):
    home = _make_home(str(tmp_path / 'src'))
    dest = str(tmp_path / 'dest')
    job = backup_home.HomeBackup(home, dest, 'run-1', 'node1', backup_home.DEFAULT_EXCLUDES, [os.path.join(home, 'secret')], 0)
    res = job.run()
    assert res['changed'] and res['verified']
    assert res['path'] == os.path.join(dest, 'run-1', 'node1-looker-home.tar.gz')
    assert stat.S_IMODE(os.stat(res['path']).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(res['manifest_path']).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.join(dest, 'run-1')).st_mode) == 0o700
    names = set(_members(res['path']))
    assert names == {
        'looker', 'looker/looker-dependencies.jar', 'looker/lookerstart.cfg', 'looker/.db', 'looker/.db/looker.script',
        'looker/deploy_keys', 'looker/deploy_keys/k', 'looker/models-user-1', 'looker/models-user-1/a',
        'looker/models-user-1/a/view.lkml', 'looker/.ssh', 'looker/.ssh/known_hosts', 'looker/current.jar',
    }
    assert _members(res['path'])['looker/current.jar'].issym()
    with open(res['path'], 'rb') as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == res['sha256']
    with open(res['manifest_path'], encoding='utf-8') as handle:
        manifest = json.load(handle)
    assert manifest['sha256'] == res['sha256']
    assert manifest['size'] == os.path.getsize(res['path'])
    assert manifest['files'] == 6 == res['files']
    assert manifest['backup_id'] == 'run-1' and manifest['source'] == home
    assert manifest['excludes'] == backup_home.DEFAULT_EXCLUDES + ['.deploying']
    assert manifest['total_bytes'] == sum(os.path.getsize(os.path.join(home, n[len('looker/'):]))
                                          for n, m in _members(res['path']).items() if m.isreg())
    mtime = os.stat(res['path']).st_mtime_ns
    again = backup_home.HomeBackup(home, dest, 'run-1', 'node1', backup_home.DEFAULT_EXCLUDES, [os.path.join(home, 'secret')], 0).run()
    assert not again['changed'] and again['verified'] and again['sha256'] == res['sha256']
    assert os.stat(res['path']).st_mtime_ns == mtime


def test_verify_fails_on_corrupted_archive_and_rerun_refuses_to_overwrite(tmp_path):
    home = _make_home(str(tmp_path / 'src'))
    res = backup_home.HomeBackup(home, str(tmp_path / 'dest'), 'r', 'n', backup_home.DEFAULT_EXCLUDES, [], 0).run()
    with open(res['path'], 'r+b') as handle:
        handle.seek(res['size'] // 2)
        byte = handle.read(1)
        handle.seek(res['size'] // 2)
        handle.write(bytes([byte[0] ^ 0xFF]))
    manifest = backup_manifest.read_manifest(res['manifest_path'])
    with pytest.raises(backup_errors.BackupError, match='damaged|does not match'):
        backup_home.verify_home_archive(res['path'], manifest)
    # even without the manifest, the walk over every member catches the gzip CRC / deflate error
    with pytest.raises(backup_errors.BackupError, match='damaged'):
        backup_home.verify_home_archive(res['path'])
    corrupted = open(res['path'], 'rb').read()  # pylint: disable=consider-using-with
    with pytest.raises(backup_errors.BackupError, match='left untouched'):
        backup_home.HomeBackup(home, str(tmp_path / 'dest'), 'r', 'n', backup_home.DEFAULT_EXCLUDES, [], 0).run()
    assert open(res['path'], 'rb').read() == corrupted  # pylint: disable=consider-using-with


def test_truncated_archive_fails_verification(tmp_path):
    home = _make_home(str(tmp_path / 'src'))
    res = backup_home.HomeBackup(home, str(tmp_path / 'dest'), 'r', 'n', backup_home.DEFAULT_EXCLUDES, [], 0).run()
    with open(res['path'], 'r+b') as handle:
        handle.truncate(res['size'] - 10)
    with pytest.raises(backup_errors.BackupError, match='damaged'):
        backup_home.verify_home_archive(res['path'])


def test_archive_without_manifest_is_refused(tmp_path):
    home = _make_home(str(tmp_path / 'src'))
    res = backup_home.HomeBackup(home, str(tmp_path / 'dest'), 'r', 'n', backup_home.DEFAULT_EXCLUDES, [], 0).run()
    os.unlink(res['manifest_path'])
    with pytest.raises(backup_errors.BackupError, match='did not finish'):
        backup_home.HomeBackup(home, str(tmp_path / 'dest'), 'r', 'n', backup_home.DEFAULT_EXCLUDES, [], 0).run()


def test_free_space_refusal_creates_nothing(tmp_path, monkeypatch):
    home = _make_home(str(tmp_path / 'src'))
    dest = str(tmp_path / 'dest')
    fake = collections.namedtuple('statvfs', 'f_bavail f_frsize')
    monkeypatch.setattr(backup_space.os, 'statvfs', lambda path: fake(10, 4096))
    job = backup_home.HomeBackup(home, dest, 'r', 'n', backup_home.DEFAULT_EXCLUDES, [], 64 * 1024 * 1024)
    with pytest.raises(backup_errors.BackupError) as err:
        job.run()
    msg = str(err.value)
    assert dest + '/r' in msg and '40960 bytes free' in msg and 'lookerops_backup_dir' in msg
    estimate = backup_home.estimate_home(home, backup_home.DEFAULT_EXCLUDES)[0]
    assert '%d bytes needed' % (estimate + 64 * 1024 * 1024) in msg
    assert not os.path.exists(dest)


def test_check_mode_writes_nothing(tmp_path):
    home = _make_home(str(tmp_path / 'src'))
    dest = str(tmp_path / 'dest')
    res = backup_home.HomeBackup(home, dest, 'r', 'n', backup_home.DEFAULT_EXCLUDES, [], 0).run(check_mode=True)
    assert res['changed'] and not res['verified'] and res['estimate_bytes'] > 5000
    assert not os.path.exists(dest)


def test_check_mode_probes_the_throughput_when_asked(tmp_path):
    home = _make_home(str(tmp_path / 'src'))
    dest = str(tmp_path / 'dest')
    res = backup_home.HomeBackup(home, dest, 'r', 'n', backup_home.DEFAULT_EXCLUDES, [], 0, probe_seconds=5).run(check_mode=True)
    assert res['probe_bytes_per_second'] > 0
    assert not os.path.exists(dest)
    res = backup_home.HomeBackup(home, dest, 'r', 'n', backup_home.DEFAULT_EXCLUDES, [], 0).run(check_mode=True)
    assert res['probe_bytes_per_second'] is None, 'no probe unless asked'


class _Clock:
    """A clock that advances one second per reading: the probe's deadline is reached after a known number of reads."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 1.0
        return self.now


def test_probe_stops_at_its_deadline_and_reads_only_what_the_backup_takes(tmp_path):
    home = _make_home(str(tmp_path / 'src'))
    with open(os.path.join(home, 'big'), 'wb') as handle:
        handle.write(os.urandom(3 * 1024 * 1024))
    # The clock reads 1 at the start (deadline 4); only the readings 2 and 3 come before the deadline, so at most two
    # chunks are read, whatever the home holds; the elapsed time is the last reading (5) minus the first (1).
    rate = backup_home.probe_throughput(home, backup_home.DEFAULT_EXCLUDES, seconds=3, clock=_Clock())
    assert 0 < rate * 4.0 <= 2 * backup_home.CHUNK, 'the probe read past its deadline'


@pytest.mark.parametrize('case, files, seconds', [
    ('no probe asked', {'a': b'x'}, 0),
    ('a home without file data', {}, 1),
    ('only excluded files', {'log/looker.log': b'x' * 100, '.cache/c': b'y'}, 1),
])
def test_probe_measures_nothing(tmp_path, case, files, seconds):
    home = tmp_path / 'looker'
    home.mkdir()
    for name, data in files.items():
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        (home / name).write_bytes(data)
    assert backup_home.probe_throughput(str(home), backup_home.DEFAULT_EXCLUDES, seconds=seconds) is None, case


def test_estimate_covers_archive_size(tmp_path):
    home = _make_home(str(tmp_path / 'src'))
    with open(os.path.join(home, 'big'), 'wb') as handle:
        handle.write(os.urandom(300000))
    res = backup_home.HomeBackup(home, str(tmp_path / 'dest'), 'r', 'n', backup_home.DEFAULT_EXCLUDES, [], 0).run()
    assert res['estimate_bytes'] >= res['size']


def test_bad_backup_id():
    with pytest.raises(backup_errors.BackupError, match='backup_id'):
        backup_manifest.validate_backup_id('../x')


def test_restore_home_moves_aside_and_keeps_excluded(tmp_path):
    home = _make_home(str(tmp_path / 'src'))
    res = backup_home.HomeBackup(home, str(tmp_path / 'dest'), 'r1', 'n', backup_home.DEFAULT_EXCLUDES, [os.path.join(home, 'secret')], 0).run()
    # change the home after the backup
    with open(os.path.join(home, 'lookerstart.cfg'), 'wb') as handle:
        handle.write(b'changed\n')
    with open(os.path.join(home, 'new-file'), 'wb') as handle:
        handle.write(b'new')
    with open(os.path.join(home, 'log', 'looker.log'), 'wb') as handle:
        handle.write(b'newer log\n')
    os.unlink(os.path.join(home, 'deploy_keys', 'k'))
    out = backup_home.HomeRestore(res['path'], home).run()
    assert out['changed']
    aside = out['moved_aside']
    assert aside.startswith(home + '.pre-restore-r1-')
    with open(os.path.join(home, 'lookerstart.cfg'), 'rb') as handle:
        assert handle.read() == b'LOOKERARGS="--no-ssl"\n'
    assert os.path.exists(os.path.join(home, 'deploy_keys', 'k'))
    assert not os.path.exists(os.path.join(home, 'new-file'))
    with open(os.path.join(aside, 'new-file'), 'rb') as handle:
        assert handle.read() == b'new'
    with open(os.path.join(aside, 'lookerstart.cfg'), 'rb') as handle:
        assert handle.read() == b'changed\n'
    # excluded paths stay as they were
    with open(os.path.join(home, 'log', 'looker.log'), 'rb') as handle:
        assert handle.read() == b'newer log\n'
    for rel in ('looker.jar', '.tmp/looker.pid', '.cache/x', 'secret/cmk.key', '.ssh/authorized_keys', 'core'):
        assert os.path.exists(os.path.join(home, rel)), rel
    assert os.path.islink(os.path.join(home, 'current.jar'))


def test_restore_refuses_corrupted_backup_and_live_looker(tmp_path):
    home = _make_home(str(tmp_path / 'src'))
    res = backup_home.HomeBackup(home, str(tmp_path / 'dest'), 'r1', 'n', backup_home.DEFAULT_EXCLUDES, [], 0).run()
    with open(os.path.join(home, '.tmp', 'looker.pid'), 'w', encoding='ascii') as handle:
        handle.write('%d\n' % os.getpid())
    with pytest.raises(backup_errors.BackupError, match='Looker is running'):
        backup_home.HomeRestore(res['path'], home).run()
    os.unlink(os.path.join(home, '.tmp', 'looker.pid'))
    with open(res['path'], 'ab') as handle:
        handle.write(b'x')
    with pytest.raises(backup_errors.BackupError, match='does not match|damaged'):
        backup_home.HomeRestore(res['path'], home).run()
    assert not [p for p in os.listdir(str(tmp_path / 'src')) if 'pre-restore' in p or 'restore-' in p]


def test_restore_refuses_member_outside_top(tmp_path):
    evil = str(tmp_path / 'evil.tar.gz')
    src = tmp_path / 'f'
    src.write_bytes(b'x')
    with tarfile.open(evil, 'w:gz') as tar:
        tar.add(str(src), arcname='looker/../../etc/x')
    with tarfile.open(evil, 'r:gz') as tar:
        with pytest.raises(backup_errors.BackupError, match='outside'):
            backup_home._safe_members(tar, 'looker')  # pylint: disable=protected-access


@pytest.mark.parametrize('manifest, count, msg', [
    (None, 1, None),
    ({'sha256': 'ab', 'files': 3}, 3, None),
    ({'sha256': 'ab'}, 7, None),
    ({'sha256': 'cd', 'files': 3}, 3, 'the backup /b.tar.gz does not match its manifest: sha256 ab, manifest says cd'),
    ({'sha256': 'ab', 'files': 3}, 2, 'the backup /b.tar.gz does not match its manifest: 2 files, manifest says 3'),
])
def test_check_against_manifest(manifest, count, msg):
    check = backup_manifest.check_against_manifest
    if msg is None:
        check('the backup /b.tar.gz', 'ab', manifest, 'files', count, 'files')
    else:
        with pytest.raises(backup_errors.BackupError) as excinfo:
            check('the backup /b.tar.gz', 'ab', manifest, 'files', count, 'files')
        assert str(excinfo.value) == msg


def test_home_backup_keeps_its_progress_in_the_progress_file_then_removes_it(tmp_path, monkeypatch):
    """Every phase and its byte counts go to the progress file while the backup runs (for lk_job_wait's lines); the
    file is gone once the backup ended, and no other file is left beside the backup."""
    home = _make_home(str(tmp_path / 'src'))
    dest = str(tmp_path / 'dest')
    progress_file = os.path.join(dest, 'run-1', '.progress-home-node1.json')
    written = []
    real_write = backup_home.ProgressFile._write

    def spy(self):
        real_write(self)
        if self.path:
            with open(self.path, encoding='utf-8') as handle:
                written.append(json.load(handle))
            assert stat.S_IMODE(os.stat(self.path).st_mode) == 0o600
    monkeypatch.setattr(backup_home.ProgressFile, '_write', spy)

    def add_and_write(self, count):
        self.done += count
        self._write()
    # Every count written, whatever the interval: the test sees each step.
    monkeypatch.setattr(backup_home.ProgressFile, 'add', add_and_write)
    res = backup_home.HomeBackup(home, dest, 'run-1', 'node1', backup_home.DEFAULT_EXCLUDES, [], 0,
                                 progress_file=progress_file).run()
    assert res['verified'] and not os.path.exists(progress_file)
    assert sorted(os.listdir(os.path.join(dest, 'run-1'))) == ['node1-looker-home.manifest.json', 'node1-looker-home.tar.gz']
    archiving = [w for w in written if w['what'] == 'archiving']
    reading = [w for w in written if w['what'] == 'reading back']
    assert archiving[0]['done_bytes'] == 0 and archiving[-1]['done_bytes'] == res['total_bytes']
    assert archiving[0]['total_bytes'] >= res['total_bytes']
    assert reading[0]['total_bytes'] == res['size'] and reading[-1]['done_bytes'] == res['size']


def test_a_failed_home_backup_leaves_no_progress_file(tmp_path, monkeypatch):
    home = _make_home(str(tmp_path / 'src'))
    dest = str(tmp_path / 'dest')
    progress_file = os.path.join(dest, 'r', '.progress-home-n.json')

    def damaged(path, manifest=None, progress=None):
        raise backup_errors.BackupError('the backup %s is damaged' % path)
    monkeypatch.setattr(backup_home, 'verify_home_archive', damaged)
    with pytest.raises(backup_errors.BackupError, match='damaged'):
        backup_home.HomeBackup(home, dest, 'r', 'n', backup_home.DEFAULT_EXCLUDES, [], 0, progress_file=progress_file).run()
    assert not os.path.exists(progress_file)
