# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the byte streams of a backup (hashing while writing or reading, gzip on
every core).

This is not a public API; it may change without notice. The sha256 of an archive is computed over the compressed
bytes while they are written, and again while they are read back.
"""

from __future__ import annotations

import collections
import concurrent.futures
import gzip
import hashlib
import os


CHUNK = 1024 * 1024
GZIP_LEVEL = 6


class HashingWriter:
    """File-like wrapper that hashes (sha256) and counts every byte written through it."""

    def __init__(self, fileobj):
        self.fileobj = fileobj
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self.sha.update(data)
        self.size += len(data)
        return self.fileobj.write(data)

    def flush(self):
        self.fileobj.flush()

    def hexdigest(self):
        return self.sha.hexdigest()


class HashingReader:
    """File-like wrapper that hashes (sha256) and counts every byte read through it."""

    def __init__(self, fileobj):
        self.fileobj = fileobj
        self.sha = hashlib.sha256()
        self.size = 0

    def read(self, size=-1):
        data = self.fileobj.read(size)
        self.sha.update(data)
        self.size += len(data)
        return data

    def drain(self):
        while self.read(CHUNK):
            pass

    def hexdigest(self):
        return self.sha.hexdigest()


class ParallelGzipWriter:
    """gzip in parallel, as pigz does: the stream is cut into blocks that threads compress into gzip members, written
    in order (a concatenation of members is one valid gzip file for gzip, zcat and Python alike).

    zlib releases the GIL while it compresses, so the blocks are compressed on several cores while the dump client
    runs; memory stays bounded (at most ``2 * threads`` blocks in flight) whatever the size of the dump.
    """

    def __init__(self, fileobj, level=GZIP_LEVEL, block_size=CHUNK, threads=None):
        self.fileobj = fileobj
        self.level = level
        self.block_size = block_size
        self.threads = max(1, min(8, threads or os.cpu_count() or 1))
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=self.threads)
        self._pending = collections.deque()
        self._buffer = bytearray()
        self.raw_bytes = 0

    def _compress(self, block):
        return gzip.compress(block, compresslevel=self.level, mtime=0)

    def _submit(self, block):
        self._pending.append(self._pool.submit(self._compress, block))
        while len(self._pending) > 2 * self.threads:
            self.fileobj.write(self._pending.popleft().result())

    def write(self, data):
        self.raw_bytes += len(data)
        self._buffer += data
        while len(self._buffer) >= self.block_size:
            block = bytes(self._buffer[:self.block_size])
            del self._buffer[:self.block_size]
            self._submit(block)
        return len(data)

    def close(self):
        """Compress what is left and write every member in order (the file gets at least one member)."""
        if self._buffer or not self.raw_bytes:
            self._submit(bytes(self._buffer))
            self._buffer = bytearray()
        try:
            while self._pending:
                self.fileobj.write(self._pending.popleft().result())
        finally:
            self._pool.shutdown(wait=True)

    def abort(self):
        for future in self._pending:
            future.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False


class NullWriter:
    """A sink for a dry-run dump."""

    @staticmethod
    def write(data):
        return len(data)
