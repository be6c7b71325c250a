# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Progress of a long job on a node (a backup of many GB: a home or the backend dump), for the lines the controller prints while it waits.

Private to lookerops.encryption; not a public API. The job (lk_backup, launched with ``async``) writes a small JSON file
(``ProgressFile``): what it does, how many bytes it has done and of how many. lk_job_wait reads it (``read_progress``)
each time its controller side prints a line, and ``progress_text`` makes that line. The file holds counts only, never
data, and is removed when the job ends.
"""

from __future__ import annotations

import json
import os
import time

from ansible_collections.lookerops.encryption.plugins.module_utils._files import atomic_write

# How often the job rewrites the file at most: a line is printed every few seconds, not more often.
WRITE_INTERVAL = 1.0
_UNITS = ('B', 'KiB', 'MiB', 'GiB', 'TiB')


class ProgressFile:
    """Counts a job's bytes and writes them to ``path`` (0600, atomically), at most every ``interval`` seconds.

    ``path`` None counts nothing and writes nothing. A file that cannot be written never fails the job: progress is a
    courtesy to the operator, the job's own result is what counts.
    """

    def __init__(self, path, what, total=None, interval=WRITE_INTERVAL, clock=time.monotonic):
        self.path = path
        self.what = what
        self.total = total
        self.done = 0
        self.interval = interval
        self.clock = clock
        self.began = clock()
        self._written = None

    def phase(self, what, total=None):
        """A new phase (``archiving``, ``reading back``): its bytes count from 0, and it is written at once."""
        self.what = what
        self.total = total
        self.done = 0
        self.began = self.clock()
        self._write()

    def add(self, count):
        """``count`` more bytes done; written when the last write is ``interval`` seconds old."""
        self.done += count
        if self._written is None or self.clock() - self._written >= self.interval:
            self._write()

    def _write(self):
        if not self.path:
            return
        self._written = self.clock()
        record = {'what': self.what, 'done_bytes': self.done, 'total_bytes': self.total,
                  'seconds': round(self._written - self.began, 3)}
        try:
            atomic_write(self.path, json.dumps(record).encode('utf-8'), mode=0o600)
        except OSError:
            self.path = None

    def close(self):
        """The job ended (done or failed): the file goes."""
        if not self.path:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass
        self.path = None


class CountingReader:
    """A file-like wrapper that adds every byte read to a ``ProgressFile``."""

    def __init__(self, fileobj, progress):
        self.fileobj = fileobj
        self.progress = progress

    def read(self, size=-1):
        data = self.fileobj.read(size)
        self.progress.add(len(data))
        return data


class CountingWriter:
    """A file-like wrapper that adds every byte written through it to a ``ProgressFile``."""

    def __init__(self, fileobj, progress):
        self.fileobj = fileobj
        self.progress = progress

    def write(self, data):
        written = self.fileobj.write(data)
        self.progress.add(len(data))
        return written


def read_progress(path):
    """The progress a job wrote at ``path``, or None (no path, no file yet, gone, or not a progress record)."""
    if not path:
        return None
    try:
        with open(path, encoding='utf-8') as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get('done_bytes'), int) or not data.get('what'):
        return None
    return data


def human_bytes(count):
    """``count`` bytes in binary units, one decimal (``1.5 GiB``)."""
    value = float(count)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            return ('%d %s' % (value, unit)) if unit == 'B' else ('%.1f %s' % (value, unit))
        value /= 1024
    return '%d B' % count  # not reached


def progress_text(progress):
    """One line from a progress record: ``archiving: 1.2 GiB of 3.4 GiB (35 %), 40.0 MiB/s``; None without one."""
    if not progress:
        return None
    done = progress.get('done_bytes') or 0
    total = progress.get('total_bytes')
    text = '%s: %s' % (progress['what'], human_bytes(done))
    if isinstance(total, int) and total > 0:
        text += ' of %s (%d %%)' % (human_bytes(total), min(100, done * 100 // total))
    seconds = progress.get('seconds')
    if isinstance(seconds, (int, float)) and seconds > 0:
        text += ', %s/s' % human_bytes(done / seconds)
    return text
