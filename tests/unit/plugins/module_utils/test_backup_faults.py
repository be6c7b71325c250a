# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A disk that fills during a backup, and nodes that share one backup filesystem."""

from __future__ import annotations

import errno
import os

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils._backup import errors as backup_errors
from ansible_collections.lookerops.encryption.plugins.module_utils._backup import home as backup_home
from ansible_collections.lookerops.encryption.plugins.module_utils._backup import space as backup_space
from ansible_collections.lookerops.encryption.plugins.module_utils import _files


class _FullDisk:
    """A file object whose writes and close fail like a full disk."""

    def __init__(self, real):
        self.real = real
        self.closed = False

    def write(self, data):
        raise OSError(errno.ENOSPC, 'No space left on device')

    def flush(self):
        raise OSError(errno.ENOSPC, 'No space left on device')

    def fileno(self):
        return self.real.fileno()

    def close(self):
        self.real.close()
        self.closed = True
        raise OSError(errno.ENOSPC, 'No space left on device')


def test_abort_removes_the_temp_file_even_when_close_fails(tmp_path):
    dest = tmp_path / 'archive.tar.gz'
    handle = _files.AtomicFile(str(dest))
    handle.__enter__()
    handle.file = _FullDisk(handle.file)
    # The with statement re-raises the write error; leaving it must not fail on the close and must leave nothing.
    assert handle.__exit__(OSError, OSError(errno.ENOSPC, 'full'), None) is False
    assert os.listdir(tmp_path) == []


def test_disk_full_during_the_home_backup_says_what_is_left(tmp_path, monkeypatch):
    home = tmp_path / 'looker'
    home.mkdir()
    (home / 'looker.jar').write_bytes(b'x' * 10)
    dest = tmp_path / 'backups'

    def full(home_, dest_path, *args, **kwargs):
        with _files.AtomicFile(dest_path) as handle:
            handle.file = _FullDisk(handle.file)
            handle.file.write(b'data')
    monkeypatch.setattr(backup_home, 'write_home_archive', full)
    job = backup_home.HomeBackup(str(home), str(dest), 'run1', 'node1', [], margin_bytes=0)
    with pytest.raises(backup_errors.BackupError) as excinfo:
        job.run()
    message = str(excinfo.value)
    assert 'filled up while writing the backup' in message and 'the partial file was removed' in message
    assert 'lookerops_backup_dir' in message
    assert os.listdir(dest / 'run1') == []


def test_disk_full_message_names_a_partial_file_that_is_left(tmp_path):
    dest = tmp_path / 'node1-looker-home.tar.gz'
    partial = tmp_path / '.node1-looker-home.tar.gz.abc123.tmp'
    partial.write_bytes(b'partial')
    message = backup_space.disk_full_message(str(tmp_path), str(dest), 100, 200)
    assert 'a partial file is left' in message and str(partial) in message


def test_probe_finds_the_nodes_sharing_a_filesystem(tmp_path):
    shared, own = tmp_path / 'shared', tmp_path / 'own'
    shared.mkdir()
    own.mkdir()
    for name, directory in (('n1', shared), ('n2', shared), ('n3', own)):
        backup_space.probe_step(str(directory / 'backups'), 'run1', name, 'mark')
    assert backup_space.probe_step(str(shared / 'backups'), 'run1', 'n1', 'list')['seen'] == ['n1', 'n2']
    assert backup_space.probe_step(str(own / 'backups'), 'run1', 'n3', 'list')['seen'] == ['n3']
    for name, directory in (('n1', shared), ('n2', shared), ('n3', own)):
        backup_space.probe_step(str(directory / 'backups'), 'run1', name, 'clear')
    assert os.listdir(shared) == [] and os.listdir(own) == []
    with pytest.raises(backup_errors.BackupError):
        backup_space.probe_step(str(shared), '../x', 'n1', 'mark')
