# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: atomic writes of files whose mode is right from the first byte.

This is not a public API; it may change without notice.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import os
import re
import stat
import tempfile
import typing as t

# Temp names of AtomicFile: '.<name of the destination>.' + mkstemp's 8 random characters + '.tmp'.
TEMP_SUFFIX = '.tmp'
_TEMP_NAME = re.compile(r'^\.(?P<dest>.+)\.[a-z0-9_]{8}\.tmp$')


def temp_prefix(dest):
    """The name prefix of AtomicFile temp files for ``dest``."""
    return '.%s.' % os.path.basename(dest)


def is_atomic_temp_name(name, dest=None):
    """True when ``name`` is an AtomicFile temp file name (for ``dest`` when given)."""
    match = _TEMP_NAME.match(name)
    if match is None:
        return False
    return dest is None or match.group('dest') == os.path.basename(dest)


def fsync_dir(path):
    """fsync a directory so a rename inside it is durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _lock_temp(fd):
    """flock a new temp file for as long as it is open: remove_stale_temps() never takes a file that is being written."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        pass  # a file system without flock: the write itself still works


def path_is_under(path, roots):
    """True when ``path`` is one of ``roots`` or lies below one of them (paths compared as written: normalise first)."""
    for root in roots:
        if path == root or path.startswith(root.rstrip('/') + '/'):
            return True
    return False


@dataclasses.dataclass(eq=False)
class AtomicFile:
    """Write a file atomically: a temp file created with ``mode`` in the destination directory
    (so no other user can ever read it), written, fsynced, chowned, then renamed over ``dest``.

    Use as a context manager; ``.file`` is the binary file object. On an exception the temp file
    is removed and ``dest`` is left untouched.
    """

    dest: str
    mode: int = 0o600
    uid: int = -1
    gid: int = -1
    tmp_path: t.Optional[str] = dataclasses.field(default=None, init=False)
    file: t.Optional[t.BinaryIO] = dataclasses.field(default=None, init=False, repr=False)

    def __enter__(self):
        directory = os.path.dirname(os.path.abspath(self.dest))
        # mkstemp creates the file 0600 with O_EXCL; we narrow or set the mode on the fd before
        # writing a single byte.
        fd, self.tmp_path = tempfile.mkstemp(prefix=temp_prefix(self.dest), suffix=TEMP_SUFFIX, dir=directory)
        try:
            _lock_temp(fd)
            os.fchmod(fd, self.mode & 0o600 if self.mode & 0o600 else 0o600)
            if self.uid != -1 or self.gid != -1:
                os.fchown(fd, self.uid, self.gid)
            self.file = os.fdopen(fd, 'wb')
        except BaseException:
            os.close(fd)
            os.unlink(self.tmp_path)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.abort()
            return False
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            os.fchmod(self.file.fileno(), self.mode)
            if self.uid != -1 or self.gid != -1:
                os.fchown(self.file.fileno(), self.uid, self.gid)
            self.file.close()
            os.rename(self.tmp_path, self.dest)
            fsync_dir(os.path.dirname(os.path.abspath(self.dest)))
        except BaseException:
            self.abort()
            raise
        return False

    def abort(self):
        """Remove the temp file; True when nothing of it is left. Closing may fail (a full disk fails the last
        flush): the file is removed all the same."""
        try:
            if self.file is not None and not self.file.closed:
                self.file.close()
        except OSError:
            pass
        finally:
            if self.tmp_path and os.path.lexists(self.tmp_path):
                try:
                    os.unlink(self.tmp_path)
                except OSError:
                    pass
        return not (self.tmp_path and os.path.lexists(self.tmp_path))


def atomic_write(dest, data, mode=0o600, uid=-1, gid=-1):
    """Write ``data`` (bytes) to ``dest`` atomically with ``mode`` and owner from the first byte."""
    with AtomicFile(dest, mode=mode, uid=uid, gid=gid) as handle:
        handle.file.write(data)


def _remove_if_abandoned(path, check_mode):
    """Remove ``path`` when it is a regular file that no live AtomicFile holds (its flock is free). True if (would be) removed."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_CLOEXEC', 0))
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ELOOP):
            return False
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a write is in progress right now
        except OSError:
            pass  # no flock on this file system: nothing tells a live writer apart (runs of one cluster are serialised)
        if check_mode:
            return True
        try:
            current = os.lstat(path)
        except FileNotFoundError:
            return False
        if (current.st_dev, current.st_ino) != (st.st_dev, st.st_ino):
            return False
        os.unlink(path)
        return True
    finally:
        os.close(fd)


def remove_stale_temps(dest, check_mode=False):
    """Remove temp files an interrupted atomic write of ``dest`` left next to it (they may hold what
    ``dest`` holds, for example key material). Returns the sorted paths removed (in check mode: that
    would be removed). Never reads their content."""
    directory = os.path.dirname(os.path.abspath(dest))
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    removed = []
    for name in sorted(names):
        if is_atomic_temp_name(name, dest):
            path = os.path.join(directory, name)
            if _remove_if_abandoned(path, check_mode):
                removed.append(path)
    if removed and not check_mode:
        fsync_dir(directory)
    return removed


def report_stale_temps(module, result, removed):
    """Put the removed temp files into a module result (``stale_temp_files_removed``) and warn about them."""
    result['stale_temp_files_removed'] = list(removed)
    if removed:
        result['changed'] = True
        module.warn('%s %d temporary file(s) that an interrupted write had left and that may hold key material: %s.'
                    % ('Would remove' if module.check_mode else 'Removed', len(removed), ', '.join(removed)))
