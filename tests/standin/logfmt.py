# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Looker-format log lines in log/looker.log (reopened for every line, so rotation is safe)."""

from __future__ import annotations

import datetime
import os
import threading

_LOCK = threading.Lock()
_THREAD_IDS = {}


def thread_tag():
    """A short hex thread name like Looker's 007d0; stable per thread."""
    ident = threading.get_ident()
    if ident not in _THREAD_IDS:
        _THREAD_IDS[ident] = '%05x' % ((ident ^ os.getpid()) & 0xfffff)
    return _THREAD_IDS[ident]


def clock_offset():
    """Seconds the node's clock is off (stand-in tunable clock_offset_seconds; the bed sets it per node)."""
    from standin.config import load_config  # pylint: disable=import-outside-toplevel
    try:
        return float(load_config().get('clock_offset_seconds') or 0)
    except (OSError, ValueError):
        return 0.0


def timestamp(now=None):
    """``YYYY-MM-DD HH:MM:SS.mmm +0000`` in UTC, by the node's clock (which may be off)."""
    now = now or datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=clock_offset())
    return now.strftime('%Y-%m-%d %H:%M:%S.') + '%03d +0000' % (now.microsecond // 1000)


def log_path(home):
    """Path of the live log file."""
    return os.path.join(home, 'log', 'looker.log')


def log(home, level, source, message, thread=None):
    """Append one line; the file is opened by name each time (a renamed file is never written again)."""
    line = '%s [%s|%s|%s] :: %s\n' % (timestamp(), level, thread or thread_tag(), source, message)
    with _LOCK:
        os.makedirs(os.path.join(home, 'log'), exist_ok=True)
        with open(log_path(home), 'a', encoding='utf-8') as handle:
            handle.write(line)


def rotate(home):
    """Rename looker.log to looker.log.YYYYMMDD (appending if that file already exists)."""
    src = log_path(home)
    dst = src + '.' + datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%d')
    with _LOCK:
        if not os.path.exists(src):
            return dst
        if os.path.exists(dst):
            with open(src, encoding='utf-8') as inp, open(dst, 'a', encoding='utf-8') as out:
                out.write(inp.read())
            os.unlink(src)
        else:
            os.rename(src, dst)
    return dst
