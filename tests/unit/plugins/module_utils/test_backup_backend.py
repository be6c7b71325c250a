# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the backend parts of _backup: the parallel gzip stream and the dump file checks."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import stat
import subprocess

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils._backup import backend as backup_backend
from ansible_collections.lookerops.encryption.plugins.module_utils._backup import errors as backup_errors
from ansible_collections.lookerops.encryption.plugins.module_utils._backup import streams as backup_streams
from ansible_collections.lookerops.encryption.plugins.module_utils._mysql import client as mysql_client
from ansible_collections.lookerops.encryption.plugins.module_utils._mysql.config import BackendConfig
from ansible_collections.lookerops.encryption.plugins.module_utils._progress import ProgressFile

HEAD = b'/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB\n'
TAIL = b'\n-- Dump completed on 2026-01-01 00:00:00\n'


@pytest.mark.parametrize('size, threads', [(0, 2), (1, 1), (3 * 1024 * 1024 + 17, 3), (5 * 65536, 4)])
def test_parallel_gzip_is_one_valid_gzip_file(tmp_path, size, threads):
    data = os.urandom(size // 2) + b'compressible ' * (size // 26)
    path = tmp_path / 'out.gz'
    with open(path, 'wb') as handle:
        with backup_streams.ParallelGzipWriter(handle, block_size=65536, threads=threads) as gz:
            for i in range(0, len(data), 100000):
                gz.write(data[i:i + 100000])
    assert gz.raw_bytes == len(data)
    with gzip.open(path, 'rb') as handle:
        assert handle.read() == data
    assert subprocess.run(['gzip', '-t', str(path)], check=False).returncode == 0
    assert subprocess.run(['gzip', '-dc', str(path)], stdout=subprocess.PIPE, check=True).stdout == data


def test_parallel_gzip_abort_writes_no_more(tmp_path):
    buf = io.BytesIO()
    with pytest.raises(RuntimeError):
        with backup_streams.ParallelGzipWriter(buf, block_size=1024, threads=2) as gz:
            gz.write(b'x' * 100)
            raise RuntimeError('dump failed')
    assert buf.getvalue() == b''


def _dump_file(path, body):
    with open(path, 'wb') as handle:
        with backup_streams.ParallelGzipWriter(handle, block_size=4096) as gz:
            gz.write(body)


def test_verify_dump_file_header_trailer_and_manifest(tmp_path):
    path = str(tmp_path / 'backend-x.sql.gz')
    body = HEAD + b'INSERT INTO t VALUES (1);\n' * 1000 + TAIL
    _dump_file(path, body)
    with open(path, 'rb') as handle:
        sha = hashlib.sha256(handle.read()).hexdigest()
    assert backup_backend.verify_dump_file(path, {'sha256': sha, 'uncompressed_size': len(body)})[0] == sha
    with pytest.raises(backup_errors.BackupError, match='does not match its manifest'):
        backup_backend.verify_dump_file(path, {'sha256': sha, 'uncompressed_size': len(body) + 1})
    _dump_file(path, body[:-len(TAIL)])
    with pytest.raises(backup_errors.BackupError, match='truncated'):
        backup_backend.verify_dump_file(path)
    _dump_file(path, b'-- something else\n' + TAIL)
    with pytest.raises(backup_errors.BackupError, match='not a dump written by mysqldump or mariadb-dump'):
        backup_backend.verify_dump_file(path)


def test_restore_needs_a_backend_manifest(tmp_path):
    dump = tmp_path / 'backend-looker.sql.gz'
    _dump_file(str(dump), HEAD + TAIL)
    (tmp_path / 'backend-looker.manifest.json').write_text('{"sha256": "x", "kind": "backend", "dump": "backend-looker.sql.gz"}')

    class Cfg:  # pylint: disable=too-few-public-methods
        database = 'looker'

    with pytest.raises(backup_errors.BackupError, match='not the manifest of a backend dump written by mysqldump'):
        backup_backend.BackendRestore(Cfg(), str(tmp_path / 'backend-looker.manifest.json'), None).run()


def test_the_backend_dump_keeps_its_progress_in_the_progress_file_then_removes_it(tmp_path, monkeypatch):
    """Dumping, then reading back: each phase and its counts go to the progress file (0600) while the dump runs, for
    lk_job_wait's lines; the file is gone when the dump ended. The dump client is replaced: it writes a dump in blocks."""
    body = HEAD + b'INSERT INTO t VALUES (1);\n' * 5000 + TAIL
    blocks = [body[i:i + 20000] for i in range(0, len(body), 20000)]

    def fake_dump(cfg, out, tool=None, server_version=None, **_kwargs):
        result = mysql_client.DumpResult(tool, ['--single-transaction'])
        for block in blocks:
            out.write(block)
            result.feed(block)
        return result
    monkeypatch.setattr(backup_backend.BackendBackup, '_probe', lambda self: ('10.11.6-MariaDB', {'tables': 1}, len(body)))
    monkeypatch.setattr(mysql_client, 'find_tool',
                        lambda *a, **k: mysql_client.ClientTool('/usr/bin/mariadb-dump', 'Ver 10.19 Distrib 10.11.6-MariaDB'))
    monkeypatch.setattr(mysql_client, 'run_dump', fake_dump)
    written = []

    class EveryWrite(ProgressFile):
        """Writes at every count (whatever the interval) and keeps what it wrote."""

        def add(self, count):
            self.done += count
            self._write()

        def _write(self):
            super()._write()
            if self.path:
                with open(self.path, encoding='utf-8') as handle:
                    written.append(json.load(handle))
                assert stat.S_IMODE(os.stat(self.path).st_mode) == 0o600
    monkeypatch.setattr(backup_backend, 'ProgressFile', EveryWrite)
    dest = str(tmp_path / 'dest')
    progress_file = os.path.join(dest, 'run-1', '.progress-backend.json')
    cfg = BackendConfig(host='db', port=3306, user='looker', password='pw', database='looker')
    res = backup_backend.BackendBackup(cfg, dest, 'run-1', progress_file=progress_file).run()
    assert res['verified'] and res['uncompressed_size'] == len(body) and not os.path.exists(progress_file)
    dumping = [w for w in written if w['what'] == 'dumping']
    reading = [w for w in written if w['what'] == 'reading back']
    assert dumping[0] == {'what': 'dumping', 'done_bytes': 0, 'total_bytes': len(body), 'seconds': dumping[0]['seconds']}
    assert [w['done_bytes'] for w in dumping[1:]] == [min(len(body), 20000 * (i + 1)) for i in range(len(blocks))]
    assert reading[0]['total_bytes'] == res['size'] and reading[-1]['done_bytes'] == res['size']
