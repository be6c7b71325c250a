# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of a long job's progress file (plugins/module_utils/_progress.py): written, read, said in one line."""

from __future__ import annotations

import io
import json
import os
import stat

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils import _progress as pg


class Clock:
    def __init__(self):
        self.now = 50.0

    def __call__(self):
        return self.now


def _read(path):
    with open(path, encoding='utf-8') as handle:
        return json.load(handle)


def test_a_phase_is_written_at_once_0600_with_counts_only(tmp_path):
    path = str(tmp_path / 'p.json')
    clock = Clock()
    progress = pg.ProgressFile(path, 'archiving', clock=clock)
    progress.phase('archiving', 1000)
    assert _read(path) == {'what': 'archiving', 'done_bytes': 0, 'total_bytes': 1000, 'seconds': 0.0}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_bytes_are_written_at_most_every_interval(tmp_path):
    path = str(tmp_path / 'p.json')
    clock = Clock()
    progress = pg.ProgressFile(path, 'archiving', interval=1.0, clock=clock)
    progress.phase('archiving', 1000)
    clock.now += 0.5
    progress.add(100)
    assert _read(path)['done_bytes'] == 0  # half a second after the last write: not yet
    clock.now += 0.6
    progress.add(100)
    assert _read(path) == {'what': 'archiving', 'done_bytes': 200, 'total_bytes': 1000, 'seconds': 1.1}


def test_a_new_phase_counts_from_zero(tmp_path):
    path = str(tmp_path / 'p.json')
    clock = Clock()
    progress = pg.ProgressFile(path, 'archiving', clock=clock)
    progress.phase('archiving', 10)
    progress.add(10)
    clock.now += 3
    progress.phase('reading back', 4)
    assert _read(path) == {'what': 'reading back', 'done_bytes': 0, 'total_bytes': 4, 'seconds': 0.0}


def test_close_removes_the_file_and_stops_writing(tmp_path):
    path = str(tmp_path / 'p.json')
    progress = pg.ProgressFile(path, 'archiving', clock=Clock())
    progress.phase('archiving', 10)
    progress.close()
    progress.add(5)
    progress.close()
    assert not os.path.exists(path)


def test_no_path_writes_nothing_and_never_fails():
    progress = pg.ProgressFile(None, 'archiving', clock=Clock())
    progress.phase('archiving', 10)
    progress.add(10)
    progress.close()
    assert progress.done == 10


def test_a_file_that_cannot_be_written_never_fails_the_job(tmp_path):
    progress = pg.ProgressFile(str(tmp_path / 'no' / 'such' / 'dir' / 'p.json'), 'archiving', clock=Clock())
    progress.phase('archiving', 10)
    progress.add(10)
    progress.close()
    assert progress.path is None and progress.done == 10


def test_the_counting_reader_counts_what_is_read(tmp_path):
    progress = pg.ProgressFile(None, 'archiving', clock=Clock())
    reader = pg.CountingReader(io.BytesIO(b'x' * 300), progress)
    assert reader.read(100) == b'x' * 100 and reader.read() == b'x' * 200 and reader.read(5) == b''
    assert progress.done == 300


@pytest.mark.parametrize('text', [None, '', 'not json', '[1]', '{"what": "x"}', '{"done_bytes": 1}'])
def test_no_progress_is_read_from_a_missing_or_foreign_file(tmp_path, text):
    path = tmp_path / 'p.json'
    if text is not None:
        path.write_text(text)
    assert pg.read_progress(str(path)) is None
    assert pg.read_progress(None) is None


def test_progress_is_read_back(tmp_path):
    path = tmp_path / 'p.json'
    path.write_text(json.dumps({'what': 'archiving', 'done_bytes': 5, 'total_bytes': None, 'seconds': 1}))
    assert pg.read_progress(str(path))['done_bytes'] == 5


@pytest.mark.parametrize('record, text', [
    (None, None),
    ({'what': 'archiving', 'done_bytes': 3 * 1024 ** 3, 'total_bytes': 12 * 1024 ** 3, 'seconds': 30.0},
     'archiving: 3.0 GiB of 12.0 GiB (25 %), 102.4 MiB/s'),
    ({'what': 'reading back', 'done_bytes': 512, 'total_bytes': None, 'seconds': 0},
     'reading back: 512 B'),
    ({'what': 'archiving', 'done_bytes': 2048, 'total_bytes': 1024, 'seconds': 2},
     'archiving: 2.0 KiB of 1.0 KiB (100 %), 1.0 KiB/s'),
])
def test_the_progress_line(record, text):
    assert pg.progress_text(record) == text


def test_human_bytes_stops_at_the_largest_unit():
    assert pg.human_bytes(5 * 1024 ** 5) == '5120.0 TiB'
