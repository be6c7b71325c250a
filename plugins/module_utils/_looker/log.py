# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: a Looker node's text log (rotated files, positions, lines since a time).

This is not a public API; it may change without notice. Standard library only: it runs on the node.
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import os
import re
import time

from ansible_collections.lookerops.encryption.plugins.module_utils._looker.home import LookerNodeError

LOG_TS_RE = re.compile(r'^(\d{4}-\d{2}-\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))? ([+-])(\d{2})(\d{2})(?=\s|$)')
HEAD_BYTES = 4096
ROTATED_RE = re.compile(r'^looker\.log\.(\d{8})(\.gz)?$')


def parse_since(value):
    """Parse 'YYYY-MM-DD HH:MM:SS[.fff]' (UTC) or ISO 8601 (with Z or an offset) into an aware UTC datetime."""
    if isinstance(value, datetime.datetime):
        dt = value
    else:
        text = str(value).strip()
        if text.endswith('Z') or text.endswith('z'):
            text = text[:-1] + '+00:00'
        try:
            dt = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise LookerNodeError("cannot read the time %r: give UTC as 'YYYY-MM-DD HH:MM:SS' or ISO 8601 "
                                  "(for example 2026-11-28T01:50:00Z)" % value) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return dt.astimezone(datetime.timezone.utc)


def log_line_time(line):
    """The UTC datetime at the start of a Looker text log line, or None for a continuation line."""
    match = LOG_TS_RE.match(line)
    if not match:
        return None
    day, hh, mm, ss, frac, sign, oh, om = match.groups()
    try:
        base = datetime.datetime.strptime('%s %s:%s:%s' % (day, hh, mm, ss), '%Y-%m-%d %H:%M:%S')
    except ValueError:
        return None
    micro = int((frac or '0').ljust(6, '0'))
    offset = datetime.timedelta(hours=int(oh), minutes=int(om))
    if sign == '-':
        offset = -offset
    return (base.replace(microsecond=micro) - offset).replace(tzinfo=datetime.timezone.utc)


class LookerLog:
    """The log of one Looker home: ``log_dir`` holds looker.log and its rotated files looker.log.YYYYMMDD[.gz]."""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.log_file = os.path.join(log_dir, 'looker.log')

    def log_files(self, since=None):
        """Rotated logs oldest first (skipping ones older than the day before ``since``), then looker.log."""
        files = []
        try:
            names = os.listdir(self.log_dir)
        except OSError:
            names = []
        rotated = []
        for name in names:
            match = ROTATED_RE.match(name)
            if not match:
                continue
            if since is not None:
                try:
                    day = datetime.datetime.strptime(match.group(1), '%Y%m%d').date()
                except ValueError:
                    continue
                if day < since.date() - datetime.timedelta(days=1):
                    continue
            rotated.append((match.group(1), 1 if match.group(2) else 0, name))
        files.extend(os.path.join(self.log_dir, n) for _d, _g, n in sorted(rotated))
        if os.path.isfile(self.log_file):
            files.append(self.log_file)
        return files

    @staticmethod
    def _read_text(path, offset=0):
        opener = gzip.open if path.endswith('.gz') else open
        with opener(path, 'rb') as handle:
            if offset:
                handle.seek(offset)
            return handle.read().decode('utf-8', 'replace')

    @staticmethod
    def _entries(text):
        """Group lines into entries: (time or None, [lines]) with continuation lines under their parent."""
        entries = []
        for line in text.splitlines():
            ts = log_line_time(line)
            if ts is not None or not entries:
                entries.append((ts, [line]))
            else:
                entries[-1][1].append(line)
        return entries

    def log_lines_since(self, since):
        """Lines (with continuations) of all log files whose leading timestamp is >= ``since``, in time order."""
        since = parse_since(since)
        files = self.log_files(since)
        collected = []
        scanned = []
        for path in files:
            try:
                text = self._read_text(path)
            except (OSError, EOFError, gzip.BadGzipFile) as exc:
                scanned.append({'path': path, 'error': str(exc)})
                continue
            scanned.append({'path': path, 'error': None})
            for ts, lines in self._entries(text):
                if ts is not None and ts >= since:
                    collected.append((ts, len(collected), lines))
        collected.sort(key=lambda item: (item[0], item[1]))
        out = []
        for _ts, _n, lines in collected:
            out.extend(lines)
        return out, scanned

    @staticmethod
    def _head(path, size):
        """sha256 of the first ``size`` bytes of a (possibly gzipped) file, or None."""
        opener = gzip.open if path.endswith('.gz') else open
        try:
            with opener(path, 'rb') as handle:
                data = handle.read(size)
        except (OSError, EOFError, gzip.BadGzipFile):
            return None
        if len(data) < size:
            return None
        return hashlib.sha256(data).hexdigest()

    def log_position(self):
        """Where looker.log ends now: inode, offset and a digest of its first bytes (inode numbers get reused)."""
        try:
            st = os.stat(self.log_file)
        except OSError:
            return {'inode': None, 'offset': 0, 'head': None, 'path': self.log_file, 'time': time.time()}
        offset = st.st_size
        return {'inode': st.st_ino, 'offset': offset, 'head': self._head(self.log_file, min(offset, HEAD_BYTES)),
                'path': self.log_file, 'time': time.time()}

    def _same_file(self, path, position, st=None):
        try:
            st = st or os.stat(path)
        except OSError:
            return False
        if path.endswith('.gz'):
            return False
        return st.st_ino == position['inode'] and self._head(path, min(position['offset'], HEAD_BYTES)) == position['head']

    def _find_rotated(self, position):
        """The file that held the log at ``position`` after a rotation: same inode and head, else a rotated file
        (also gzipped) whose first bytes match."""
        rotated = [path for path in self.log_files() if path != self.log_file]
        for path in reversed(rotated):
            if self._same_file(path, position):
                return path
        for path in reversed(rotated):
            if self._head(path, min(position['offset'], HEAD_BYTES)) == position['head']:
                return path
        return None

    def lines_after(self, position):
        """Log lines written after ``position`` (from :meth:`log_position`), across one rotation."""
        text = ''
        try:
            st = os.stat(self.log_file)
        except OSError:
            st = None
        same = st is not None and (position.get('inode') is None or self._same_file(self.log_file, position, st))
        if position.get('inode') is not None and not same:
            rotated = self._find_rotated(position)
            if rotated:
                try:
                    text += self._read_text(rotated, position['offset'])
                except (OSError, EOFError, gzip.BadGzipFile):
                    pass
            start = 0
        elif position.get('inode') is None:
            start = 0
        else:
            start = position['offset'] if st.st_size >= position['offset'] else 0
        if st is not None:
            try:
                text += self._read_text(self.log_file, start)
            except OSError:
                pass
        return text.splitlines()

    def tail(self, count=50):
        try:
            return self._read_text(self.log_file).splitlines()[-count:]
        except OSError:
            return []
