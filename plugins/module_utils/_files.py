# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: atomic writes of files whose mode is right from the first byte.

This is not a public API; it may change without notice.
"""

from __future__ import annotations

import os
import tempfile


def fsync_dir(path):
    """fsync a directory so a rename inside it is durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AtomicFile:
    """Write a file atomically: a temp file created with ``mode`` in the destination directory
    (so no other user can ever read it), written, fsynced, chowned, then renamed over ``dest``.

    Use as a context manager; ``.file`` is the binary file object. On an exception the temp file
    is removed and ``dest`` is left untouched.
    """

    def __init__(self, dest, mode=0o600, uid=-1, gid=-1):
        self.dest = dest
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.tmp_path = None
        self.file = None

    def __enter__(self):
        directory = os.path.dirname(os.path.abspath(self.dest))
        # mkstemp creates the file 0600 with O_EXCL; we narrow or set the mode on the fd before
        # writing a single byte.
        fd, self.tmp_path = tempfile.mkstemp(prefix='.%s.' % os.path.basename(self.dest), suffix='.tmp', dir=directory)
        try:
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
