# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: verified backups of the Looker home and the backend database.

This is not a public API; it may change without notice.

Archives are streamed (bounded buffers) through gzip into an AtomicFile (0600 from the first byte);
the sha256 is computed over the compressed bytes while they are written. A backup counts as verified
only after it was read back: sha256 recomputed and every tar member (or the whole dump) decompressed,
so the gzip CRCs are checked.
"""

from __future__ import annotations

import collections
import concurrent.futures
import datetime
import errno
import glob
import fnmatch
import gzip
import hashlib
import json
import os
import re
import shutil
import socket
import stat
import tarfile
import zlib

from ansible_collections.lookerops.encryption.plugins.module_utils._mysql import client as mysql_client
from ansible_collections.lookerops.encryption.plugins.module_utils._mysql import server as mysql_server
from ansible_collections.lookerops.encryption.plugins.module_utils import _node_env
from ansible_collections.lookerops.encryption.plugins.module_utils._files import AtomicFile, atomic_write, fsync_dir, is_atomic_temp_name
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.home import FENCE_NAME
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.proc import pid_alive, read_pid_file
from ansible_collections.lookerops.encryption.plugins.module_utils._names import SAFE_NAME_RE, check_name

TOOL_VERSION = 'lookerops.encryption backup 1'
DEFAULT_EXCLUDES = ['.cache', 'log', '.tmp', '.snapshots', 'looker.jar', 'authorized_keys', 'dr-log', 'core']
BACKUP_ID_RE = SAFE_NAME_RE
CHUNK = 1024 * 1024
GZIP_LEVEL = 6
TAR_BLOCK = 512


class BackupError(Exception):
    """An operator-facing failure (message says what is wrong and what to do)."""


# -- excludes -------------------------------------------------------------------------------------


def is_excluded(rel_parts, excludes):
    """GNU-tar-like ``--exclude=PATTERN`` for a member below the top directory.

    A pattern without '/' excludes a path when any one of its components matches it (shell wildcards
    allowed, like tar's default unanchored matching); a pattern with '/' matches any trailing run of
    components. ``rel_parts`` are the path components below the home.
    """
    for pattern in excludes:
        if '/' in pattern:
            pat_parts = [p for p in pattern.strip('/').split('/') if p]
            width = len(pat_parts)
            for start in range(0, len(rel_parts) - width + 1):
                if all(fnmatch.fnmatchcase(rel_parts[start + i], pat_parts[i]) for i in range(width)):
                    return True
        else:
            for part in rel_parts:
                if fnmatch.fnmatchcase(part, pattern):
                    return True
    return False


def _norm_paths(paths):
    return [os.path.normpath(os.path.abspath(p)) for p in (paths or [])]


def _under(path, roots):
    for root in roots:
        if path == root or path.startswith(root.rstrip('/') + '/'):
            return True
    return False


def is_write_leftover(name, st):
    """A regular file left by an interrupted atomic write (``.<name>.XXXXXXXX.tmp``): it may hold what its
    destination holds (``lookerstart.cfg`` with LKR_MASTER_KEY_ENV, a key file), so no backup ever takes it."""
    return stat.S_ISREG(st.st_mode) and is_atomic_temp_name(name)


def walk_home(home, excludes, exclude_paths=None, skipped=None):
    """Yield ``(abs_path, rel_parts, lstat)`` for the home and every entry below it that the backup covers.

    Sorted, depth-first, never follows symlinks; excluded directories are not descended into. Temp files
    of interrupted atomic writes are never covered (their paths go into ``skipped`` when it is a list).
    """
    home = os.path.normpath(os.path.abspath(home))
    skip = _norm_paths(exclude_paths)
    yield home, [], os.lstat(home)
    stack = [(home, [])]
    while stack:
        directory, parts = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            raise BackupError('cannot list %s: %s; run the module as root (become: true)' % (directory, exc.strerror)) from None
        subdirs = []
        for entry in entries:
            rel = parts + [entry.name]
            if is_excluded(rel, excludes) or _under(entry.path, skip):
                continue
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISSOCK(st.st_mode):
                continue  # like tar: sockets cannot be archived
            if is_write_leftover(entry.name, st):
                if skipped is not None:
                    skipped.append(entry.path)
                continue
            yield entry.path, rel, st
            if stat.S_ISDIR(st.st_mode):
                subdirs.append((entry.path, rel))
        stack.extend(reversed(subdirs))


def estimate_home(home, excludes, exclude_paths=None):
    """(estimated archive bytes as an uncompressed tar, number of entries, regular-file bytes)."""
    total = 0
    entries = 0
    file_bytes = 0
    for _path, _rel, st in walk_home(home, excludes, exclude_paths):
        entries += 1
        total += TAR_BLOCK * 3  # header (+ PAX/long-name header for long names)
        if stat.S_ISREG(st.st_mode):
            file_bytes += st.st_size
            total += (st.st_size + TAR_BLOCK - 1) // TAR_BLOCK * TAR_BLOCK
    return total + 20 * TAR_BLOCK, entries, file_bytes


# -- free space -------------------------------------------------------------------------------------


def _existing_ancestor(path):
    path = os.path.abspath(path)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def free_bytes(directory):
    """Bytes available to this user in the filesystem that holds (or will hold) ``directory``."""
    st = os.statvfs(_existing_ancestor(directory))
    return st.f_bavail * st.f_frsize


def check_free_space(directory, estimate, margin):
    """(free, needed, ok)."""
    free = free_bytes(directory)
    needed = estimate + margin
    return free, needed, free >= needed


def disk_full_message(directory, dest, free_before, needed):
    """The filesystem filled up while writing ``dest``: say truthfully whether a partial file is left."""
    leftovers = sorted(glob.glob(os.path.join(directory, '.%s.*.tmp' % glob.escape(os.path.basename(dest)))))
    left = ('the partial file was removed' if not leftovers and not os.path.lexists(dest)
            else 'a partial file is left and must be removed by hand: %s' % ', '.join(leftovers or [dest]))
    return ('the filesystem of %s filled up while writing the backup (%d bytes were free when it began, %d needed '
            'by the estimate: something else wrote there meanwhile, or another node writes to the same filesystem); %s. '
            'Free space there or choose another directory with lookerops_backup_dir, then run again.'
            % (directory, free_before, needed, left))


def free_space_message(directory, free, needed, what):
    return ('not enough free space for the %s backup in %s: %d bytes free, %d bytes needed (estimate plus '
            'free_space_margin_mb). Nothing was written. Free space in that filesystem, or choose another directory '
            'with lookerops_backup_dir (module option dest_dir).' % (what, directory, free, needed))


# -- hashing streams ---------------------------------------------------------------------------------


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


# -- manifests -----------------------------------------------------------------------------------------


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def utc_stamp(now=None):
    return (now or utc_now()).strftime('%Y%m%dT%H%M%SZ')


def _write_json(path, data):
    with AtomicFile(path, mode=0o600) as handle:
        handle.file.write((json.dumps(data, indent=2, sort_keys=True) + '\n').encode('utf-8'))


def read_manifest(path):
    try:
        with open(path, 'rb') as handle:
            data = json.loads(handle.read().decode('utf-8'))
    except (OSError, ValueError) as exc:
        raise BackupError('cannot read the backup manifest %s (%s); a backup is only usable with its manifest'
                          % (path, getattr(exc, 'strerror', None) or exc)) from None
    if not isinstance(data, dict) or 'sha256' not in data:
        raise BackupError('the backup manifest %s is not a lookerops.encryption manifest (no sha256)' % path)
    return data


def validate_backup_id(backup_id):
    check_name(backup_id, 'backup_id', BackupError)


def validate_node_name(name):
    """The node's name (the inventory host name) becomes part of its archive's file name."""
    return check_name(name, 'the node name (inventory_hostname)', BackupError)


def ensure_dir(path, mode=0o700):
    """Create ``path`` (and parents) with ``mode``; an existing directory keeps its mode."""
    if not os.path.isdir(path):
        os.makedirs(path, mode=mode, exist_ok=True)
        os.chmod(path, mode)
        fsync_dir(os.path.dirname(os.path.abspath(path)))


def home_paths(dest_dir, backup_id, name):
    directory = os.path.join(dest_dir, backup_id)
    return (directory, os.path.join(directory, '%s-looker-home.tar.gz' % name),
            os.path.join(directory, '%s-looker-home.manifest.json' % name))


def backend_paths(dest_dir, backup_id, database):
    directory = os.path.join(dest_dir, backup_id)
    safe = re.sub(r'[^A-Za-z0-9_.-]', '_', database)
    return (directory, os.path.join(directory, 'backend-%s.sql.gz' % safe),
            os.path.join(directory, 'backend-%s.manifest.json' % safe))


def validate_backup_path(backup_path):
    """A backup path given to a restore is used as written: no component may be '.' or '..' (a run id or node name
    that slipped through would name another directory than the run's own)."""
    if any(part in ('.', '..') for part in str(backup_path).split('/')):
        raise BackupError('the backup path %s has a "." or ".." component; name the backup of a run as '
                          '<backup dir>/<run id>/<file>, with a run id and node name of letters, digits, "_", "." and "-"'
                          % backup_path)
    return backup_path


def manifest_path_for(backup_path):
    """The manifest that belongs to an archive or dump path (a manifest path is its own manifest)."""
    if backup_path.endswith('.manifest.json'):
        return backup_path
    for suffix in ('.tar.gz', '.sql.gz'):
        if backup_path.endswith(suffix):
            return backup_path[:-len(suffix)] + '.manifest.json'
    raise BackupError('%s is not a lookerops.encryption backup (expected a name ending in .tar.gz or .sql.gz)' % backup_path)


# -- home archive -----------------------------------------------------------------------------------------


def write_home_archive(home, dest, excludes, exclude_paths=None, skipped=None):
    """Stream the home into ``dest`` (.tar.gz, 0600, atomic). Returns (sha256, size, files, total_bytes)."""
    home = os.path.normpath(os.path.abspath(home))
    top = os.path.basename(home)
    files = 0
    total = 0
    with AtomicFile(dest, mode=0o600) as handle:
        hasher = HashingWriter(handle.file)
        # Compressed on every core (as pigz does), while this thread reads the files and hashes the output.
        with ParallelGzipWriter(hasher) as gz:
            with tarfile.open(fileobj=gz, mode='w|', format=tarfile.PAX_FORMAT, bufsize=CHUNK) as tar:
                for path, rel, st in walk_home(home, excludes, exclude_paths, skipped):
                    arcname = '/'.join([top] + rel)
                    try:
                        info = tar.gettarinfo(path, arcname=arcname)
                    except OSError as exc:
                        raise BackupError('cannot read %s: %s' % (path, exc.strerror)) from None
                    if info is None:
                        continue
                    if info.isreg():
                        try:
                            with open(path, 'rb') as src:
                                tar.addfile(info, src)
                        except OSError as exc:
                            raise BackupError('cannot read %s while archiving it: %s; is Looker stopped and does '
                                              'the module run as root?' % (path, exc.strerror or exc)) from None
                        files += 1
                        total += st.st_size
                    else:
                        tar.addfile(info)
        handle.file.flush()
    return hasher.hexdigest(), hasher.size, files, total


def verify_home_archive(path, manifest=None):
    """Read the archive back: sha256 and every member (gzip CRC). Returns (sha256, size, files)."""
    files = 0
    try:
        with open(path, 'rb') as raw:
            reader = HashingReader(raw)
            with gzip.GzipFile(fileobj=reader, mode='rb') as gz:
                with tarfile.open(fileobj=gz, mode='r|', bufsize=CHUNK) as tar:
                    for member in tar:
                        if member.isreg():
                            src = tar.extractfile(member)
                            while src.read(CHUNK):
                                pass
                            files += 1
                while gz.read(CHUNK):
                    pass
            reader.drain()
    except (OSError, EOFError, tarfile.TarError, gzip.BadGzipFile, zlib.error, ValueError) as exc:
        raise BackupError('the backup %s is damaged: %s: %s' % (path, type(exc).__name__, exc)) from None
    digest = reader.hexdigest()
    if manifest is not None:
        if digest != manifest.get('sha256'):
            raise BackupError('the backup %s does not match its manifest: sha256 %s, manifest says %s'
                              % (path, digest, manifest.get('sha256')))
        if manifest.get('files') is not None and files != manifest['files']:
            raise BackupError('the backup %s does not match its manifest: %d files, manifest says %d'
                              % (path, files, manifest['files']))
    return digest, reader.size, files


def verify_dump_file(path, manifest=None):
    """Decompress the whole dump (gzip CRC), check the client's header and its completion trailer; (sha256, size)."""
    head = b''
    tail = b''
    raw = 0
    try:
        with open(path, 'rb') as fileobj:
            reader = HashingReader(fileobj)
            with gzip.GzipFile(fileobj=reader, mode='rb') as gz:
                while True:
                    block = gz.read(CHUNK)
                    if not block:
                        break
                    raw += len(block)
                    if len(head) < 512:
                        head += block[:512 - len(head)]
                    tail = (tail + block)[-512:]
            reader.drain()
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error, ValueError) as exc:
        raise BackupError('the backend dump %s is damaged: %s: %s' % (path, type(exc).__name__, exc)) from None
    if not mysql_client.dump_header_ok(head):
        raise BackupError('%s is not a dump written by mysqldump or mariadb-dump (it does not start with "-- MySQL dump" '
                          'or "-- MariaDB dump")' % path)
    lines = [ln for ln in tail.split(b'\n') if ln.strip()]
    if not lines or not lines[-1].startswith(mysql_client.DUMP_TRAILER):
        raise BackupError('the backend dump %s is truncated: it does not end with the client\'s "-- Dump completed" line' % path)
    digest = reader.hexdigest()
    if manifest is not None:
        if digest != manifest.get('sha256'):
            raise BackupError('the backend dump %s does not match its manifest: sha256 %s, manifest says %s'
                              % (path, digest, manifest.get('sha256')))
        if manifest.get('uncompressed_size') is not None and raw != manifest['uncompressed_size']:
            raise BackupError('the backend dump %s does not match its manifest: %d bytes uncompressed, manifest says %d'
                              % (path, raw, manifest['uncompressed_size']))
    return digest, reader.size


def _existing(path, manifest_path, verifier, what):
    """For a re-run: (manifest, verified) if both files exist and agree; raise if only a part exists or they disagree."""
    have_file = os.path.exists(path)
    have_manifest = os.path.exists(manifest_path)
    if not have_file and not have_manifest:
        return None
    if have_file and have_manifest:
        manifest = read_manifest(manifest_path)
        try:
            verifier(path, manifest)
        except BackupError as exc:
            raise BackupError('%s. The existing %s backup was left untouched; move it away (or delete it once you are '
                              'sure it is not needed) or use another backup_id, then run again.' % (exc, what)) from None
        return manifest
    present, absent = (path, manifest_path) if have_file else (manifest_path, path)
    raise BackupError('%s exists but %s does not: an earlier run did not finish. The file was left untouched; move it '
                      'away or use another backup_id, then run again.' % (present, absent))


class HomeBackup:
    """Backup of one node's Looker home (decisions for the lk_backup module)."""

    def __init__(self, looker_home, dest_dir, backup_id, name, excludes, exclude_paths=None, margin_bytes=0):
        validate_backup_id(backup_id)
        self.home = os.path.normpath(os.path.abspath(looker_home))
        self.dest_dir = dest_dir
        self.backup_id = backup_id
        self.name = validate_node_name(name or socket.gethostname())
        # The fence never goes into an archive, whatever the excludes say: a home restored from it (by hand too) must
        # start once the fence of the restore itself is gone. Excluded, it is also what a restore keeps from the home
        # it replaces (the fence of the run that restores).
        self.excludes = list(excludes) + ([FENCE_NAME] if FENCE_NAME not in excludes else [])
        self.exclude_paths = _norm_paths(exclude_paths)
        self.margin = margin_bytes
        self.directory, self.path, self.manifest_path = home_paths(dest_dir, backup_id, self.name)

    def run(self, check_mode=False):
        if not os.path.isdir(self.home):
            raise BackupError('the Looker home %s is not a directory; set looker_home' % self.home)
        result = {'path': self.path, 'manifest_path': self.manifest_path, 'changed': False}
        manifest = _existing(self.path, self.manifest_path, verify_home_archive, 'home')
        if manifest is not None:
            result.update(sha256=manifest['sha256'], size=manifest['size'], files=manifest['files'], verified=True,
                          estimate_bytes=None, free_bytes=free_bytes(self.directory))
            return result
        estimate, _entries, _bytes = estimate_home(self.home, self.excludes, self.exclude_paths)
        free, needed, ok = check_free_space(self.directory, estimate, self.margin)
        result.update(estimate_bytes=estimate, free_bytes=free, needed_bytes=needed, changed=True)
        if not ok:
            raise BackupError(free_space_message(self.directory, free, needed, 'Looker home'))
        if check_mode:
            result.update(sha256=None, size=None, files=None, verified=False)
            return result
        ensure_dir(self.directory)
        created = utc_now()
        skipped = []
        try:
            sha, size, files, total = write_home_archive(self.home, self.path, self.excludes, self.exclude_paths, skipped)
        except OSError as exc:
            if not is_enospc(exc):
                raise
            raise BackupError(disk_full_message(self.directory, self.path, free, needed)) from None
        result['temp_files_left_out'] = skipped
        manifest = {
            'kind': 'looker-home', 'backup_id': self.backup_id, 'created_utc': created.strftime('%Y-%m-%dT%H:%M:%SZ'),
            'host': socket.gethostname(), 'name': self.name, 'source': self.home, 'excludes': self.excludes,
            'exclude_paths': self.exclude_paths, 'files': files, 'total_bytes': total, 'size': size, 'sha256': sha,
            'archive': os.path.basename(self.path), 'tool_version': TOOL_VERSION,
        }
        verify_home_archive(self.path, manifest)
        _write_json(self.manifest_path, manifest)
        result.update(sha256=sha, size=size, files=files, total_bytes=total, verified=True)
        return result


class BackendBackup:
    """Logical backup of the backend database with the database's own dump client (decisions for lk_backup)."""

    def __init__(self, cfg, dest_dir, backup_id, margin_bytes=0, key_check_value=None):
        validate_backup_id(backup_id)
        self.cfg = cfg
        self.dest_dir = dest_dir
        self.backup_id = backup_id
        self.margin = margin_bytes
        self.key_check_value = key_check_value
        self.directory, self.path, self.manifest_path = backend_paths(dest_dir, backup_id, cfg.database)

    def _probe(self):
        """Server version, objects and data size (PyMySQL)."""
        with mysql_server.connect(self.cfg) as conn:
            version = mysql_server.server_version(conn)
            objects = mysql_server.object_counts(conn, self.cfg.database)
            size = mysql_server.data_bytes(conn, self.cfg.database)
            foreign = mysql_server.foreign_definers(conn, self.cfg.database)
            if foreign and not mysql_server.may_set_any_definer(conn):
                raise BackupError(
                    'the backend database %s holds %d object(s) defined by another account (%s): the dump would hold them, '
                    'but user %s could not restore them (that needs SUPER or SET_USER_ID), so a rollback would fail '
                    'halfway. Nothing was written. What to do: recreate those objects as %s (or ALTER ... DEFINER), or grant '
                    'that user SET_USER_ID (MySQL 8) / SUPER, or back the backend up yourself and set '
                    'lookerops_backend_backup=none.'
                    % (self.cfg.database, len(foreign), ', '.join('%s %s by %s' % f for f in foreign[:10]), self.cfg.user,
                       self.cfg.user))
        return version, objects, size

    def run(self, check_mode=False):
        result = {'path': self.path, 'manifest_path': self.manifest_path, 'changed': False,
                  'backend': self.cfg.to_result()}
        manifest = _existing(self.path, self.manifest_path, verify_dump_file, 'backend')
        if manifest is not None:
            result.update(sha256=manifest['sha256'], size=manifest['size'], objects=manifest.get('objects'), verified=True,
                          estimate_bytes=None, free_bytes=free_bytes(self.directory), tool=manifest.get('tool'),
                          server_version=manifest.get('server_version'))
            return result
        version, objects, data_size = self._probe()
        tool = mysql_client.find_tool('dump', self.cfg.tools_dir, version)
        estimate = data_size + 64 * 1024
        free, needed, ok = check_free_space(self.directory, estimate, self.margin)
        result.update(estimate_bytes=estimate, free_bytes=free, needed_bytes=needed, changed=True, tool=tool.to_result(),
                      server_version=version, objects=objects)
        if not ok:
            raise BackupError(free_space_message(self.directory, free, needed, 'backend database'))
        if check_mode:
            # Prove the client, the credentials and the privileges for every object type without writing a file:
            # the whole schema (routines, triggers, events, views) is dumped to nowhere.
            mysql_client.run_dump(self.cfg, _NullWriter(), tool=tool, server_version=version, no_data=True)
            result.update(sha256=None, size=None, verified=False)
            return result
        ensure_dir(self.directory)
        created = utc_now()
        with AtomicFile(self.path, mode=0o600) as handle:
            hasher = HashingWriter(handle.file)
            with ParallelGzipWriter(hasher) as gz:
                dumped = mysql_client.run_dump(self.cfg, gz, tool=tool, server_version=version)
        manifest = {
            'kind': 'backend', 'format': 'mysqldump', 'backup_id': self.backup_id,
            'created_utc': created.strftime('%Y-%m-%dT%H:%M:%SZ'), 'host': socket.gethostname(),
            'server': '%s:%s' % (self.cfg.host, self.cfg.port), 'database': self.cfg.database, 'user': self.cfg.user,
            'server_version': version, 'tool': tool.to_result(), 'dump_options': dumped.options, 'objects': objects,
            'size': hasher.size, 'uncompressed_size': dumped.raw_bytes, 'sha256': hasher.hexdigest(),
            'dump': os.path.basename(self.path), 'key_check_value': self.key_check_value, 'tool_version': TOOL_VERSION,
            'restore_hint': 'gunzip -c %s | mysql --defaults-extra-file=<0600 file with [client] user/password/host/port> '
                            '--default-character-set=utf8mb4 --binary-mode %s' % (os.path.basename(self.path), self.cfg.database),
        }
        verify_dump_file(self.path, manifest)
        _write_json(self.manifest_path, manifest)
        result.update(sha256=manifest['sha256'], size=manifest['size'], uncompressed_size=dumped.raw_bytes, verified=True)
        return result


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


class _NullWriter:
    """A sink for a dry-run dump."""

    @staticmethod
    def write(data):
        return len(data)


# -- restore -------------------------------------------------------------------------------------------------


def looker_pid_alive(home):
    """The pid in ``<home>/.tmp/looker.pid`` when that process is alive, else None.

    Any live process counts here, not only one running looker.jar (``pid_alive``'s ``looker_only=False``): a
    restore under a live Looker loses data, so a pid file naming some other live process refuses it too.
    """
    pid = read_pid_file(os.path.join(home, '.tmp', 'looker.pid'))
    return pid if pid_alive(pid, looker_only=False) else None


def refuse_if_running(home):
    pid = looker_pid_alive(home)
    if pid is not None:
        raise BackupError('Looker is running from %s (pid %d in .tmp/looker.pid is alive): never restore under a live '
                          'Looker. Stop Looker on this node (and every node of a cluster) and run again.' % (home, pid))


def _safe_members(tar, top):
    """Validate member names of an archive we are about to extract (no absolute paths, no '..', all under top,
    nothing below a symlink member, links only within the archive)."""
    members = []
    links = set()
    for member in tar:
        name = member.name.rstrip('/')
        parts = name.split('/')
        if name.startswith('/') or '..' in parts or parts[0] != top:
            raise BackupError('refusing to restore: archive member %r is outside %s/' % (member.name, top))
        for i in range(1, len(parts)):
            if '/'.join(parts[:i]) in links:
                raise BackupError('refusing to restore: archive member %r lies below a symlink' % member.name)
        if member.issym():
            links.add(name)
        if member.islnk():
            target = member.linkname.split('/')
            if member.linkname.startswith('/') or '..' in target or target[0] != top:
                raise BackupError('refusing to restore: hard link %r points outside the archive' % member.name)
        if not (member.isreg() or member.isdir() or member.issym() or member.islnk() or member.isfifo()):
            raise BackupError('refusing to restore: archive member %r has an unsupported type' % member.name)
        members.append(member)
    return members


def _extract(path, staging, top):
    with tarfile.open(path, mode='r:gz') as tar:
        members = _safe_members(tar, top)
        kwargs = {}
        if hasattr(tarfile, 'fully_trusted_filter'):
            kwargs['filter'] = 'fully_trusted'  # names validated above; keep modes/owners exactly
        tar.extractall(staging, members=members, numeric_owner=True, **kwargs)  # nosec - members validated
    return len([m for m in members if m.isreg()])


def _move(src, dst):
    parent = os.path.dirname(dst)
    if not os.path.isdir(parent):
        os.makedirs(parent, mode=0o700)
    os.rename(src, dst)


_KEY_FILE_SETTING = re.compile(r"LKR_MASTER_KEY_FILE='([^']*)'")
_KEY_ENV_LINE = re.compile(r'(?<![A-Za-z0-9_])LKR_MASTER_KEY_ENV=')
KEY_ENV_REMOVED = '# LKR_MASTER_KEY_ENV removed by lookerops.encryption (lk_restore): the escrow holds the key\n'


def _strip_cfg(cfg_path, check_mode):
    """Remove the managed key settings block (and any other line setting LKR_MASTER_KEY_ENV) from a lookerstart.cfg.
    Returns (what was removed or None, key file path the block named or None)."""
    try:
        st = os.lstat(cfg_path)
    except FileNotFoundError:
        return None, None
    if not stat.S_ISREG(st.st_mode):
        return None, None
    with open(cfg_path, 'rb') as handle:
        lines = handle.read().decode('utf-8', 'surrogateescape').splitlines(True)
    key_file = None
    removed = []
    try:
        start, end = _node_env.split_cfg(lines, cfg_path)
    except _node_env.NodeEnvError:
        start = end = None  # damaged markers: the key lines below still go
    if start is not None:
        match = _KEY_FILE_SETTING.search(''.join(lines[start:end]))
        key_file = match.group(1) if match else None
        lines = lines[:start] + lines[end:]
        removed.append('managed key settings block')
    kept = []
    for line in lines:
        if _KEY_ENV_LINE.search(line) and not line.lstrip().startswith('#'):
            kept.append(KEY_ENV_REMOVED)
            if 'other LKR_MASTER_KEY_ENV lines' not in removed:
                removed.append('other LKR_MASTER_KEY_ENV lines')
        else:
            kept.append(line)
    if not removed:
        return None, key_file
    if not check_mode:
        atomic_write(cfg_path, ''.join(kept).encode('utf-8', 'surrogateescape'), mode=stat.S_IMODE(st.st_mode),
                     uid=st.st_uid, gid=st.st_gid)
    return '%s (%s)' % (os.path.basename(cfg_path), ', '.join(removed)), key_file


def strip_key_material(copy, original_home, check_mode=False):
    """A kept copy of a Looker home (``<home>.pre-restore-*``) loses its key settings: the managed block of its
    lookerstart.cfg, the key file that block names when it lies inside the home, and the temp files interrupted
    writes of either left. The escrow holds the key. Returns what was (in check mode: would be) removed,
    relative to ``copy``; never reads a key."""
    removed = []
    cfg_path = os.path.join(copy, _node_env.CFG_NAME)
    what, key_file = _strip_cfg(cfg_path, check_mode)
    if what:
        removed.append(what)
    leftovers = [(copy, _node_env.CFG_NAME)]
    if key_file and os.path.isabs(key_file) and _under(os.path.normpath(key_file), [original_home]):
        in_copy = os.path.join(copy, os.path.relpath(os.path.normpath(key_file), original_home))
        try:
            if stat.S_ISREG(os.lstat(in_copy).st_mode):
                if not check_mode:
                    os.unlink(in_copy)
                removed.append(os.path.relpath(in_copy, copy))
        except FileNotFoundError:
            pass
        leftovers.append((os.path.dirname(in_copy), os.path.basename(in_copy)))
    for directory, dest_name in leftovers:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            path = os.path.join(directory, name)
            if is_atomic_temp_name(name, dest_name) and stat.S_ISREG(os.lstat(path).st_mode):
                if not check_mode:
                    os.unlink(path)
                removed.append(os.path.relpath(path, copy))
    return removed


class HomeRestore:
    """Restore a Looker home from a verified archive; the old home is moved aside, never deleted."""

    def __init__(self, backup_path, looker_home):
        self.backup_path = os.path.abspath(validate_backup_path(backup_path))
        self.home = os.path.normpath(os.path.abspath(looker_home))
        self.manifest_path = manifest_path_for(self.backup_path)

    def _verified(self):
        if not os.path.exists(self.backup_path):
            raise BackupError('the backup %s does not exist; check backup_path' % self.backup_path)
        manifest = read_manifest(self.manifest_path)
        if manifest.get('archive') not in (None, os.path.basename(self.backup_path)):
            raise BackupError('the manifest %s belongs to %s, not to %s; nothing was touched'
                              % (self.manifest_path, manifest.get('archive'), self.backup_path))
        sha, _size, files = verify_home_archive(self.backup_path, manifest)
        return manifest, sha, files

    def verify(self):
        """Check the archive against its manifest; touch nothing (Looker may run)."""
        manifest, sha, files = self._verified()
        return {'changed': False, 'verified': True, 'sha256': sha, 'files': files, 'backup_id': manifest.get('backup_id'),
                'created_utc': manifest.get('created_utc')}

    def run(self, check_mode=False, now=None):
        manifest, sha, files = self._verified()
        refuse_if_running(self.home)
        top = os.path.basename(self.home)
        stamp = utc_stamp(now)
        aside = '%s.pre-restore-%s-%s' % (self.home, manifest.get('backup_id', 'unknown'), stamp)
        result = {'changed': True, 'sha256': sha, 'files': files, 'moved_aside': aside if os.path.lexists(self.home) else None,
                  'backup_id': manifest.get('backup_id'), 'kept_in_place': []}
        if os.path.lexists(aside):
            raise BackupError('%s already exists; wait a second and run again' % aside)
        if check_mode:
            if os.path.isdir(self.home) and not os.path.islink(self.home):
                result['aside_key_material_removed'] = strip_key_material(self.home, self.home, check_mode=True)
            return result
        parent = os.path.dirname(self.home)
        staging = os.path.join(parent, '.%s.restore-%s-%s' % (top, manifest.get('backup_id', 'unknown'), stamp))
        os.mkdir(staging, 0o700)
        try:
            _extract(self.backup_path, staging, top)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)  # only our own staging copy of the archive
            raise
        excludes = manifest.get('excludes') or []
        exclude_paths = _norm_paths(manifest.get('exclude_paths'))
        if os.path.lexists(self.home):
            os.rename(self.home, aside)
        os.rename(os.path.join(staging, top), self.home)
        os.rmdir(staging)
        fsync_dir(parent)
        if os.path.isdir(aside) and not os.path.islink(aside):
            result['kept_in_place'] = self._move_back_excluded(aside, excludes, exclude_paths)
            result['aside_key_material_removed'] = strip_key_material(aside, self.home)
        return result

    def _move_back_excluded(self, aside, excludes, exclude_paths):
        """Paths the backup did not cover (excluded) go back from the moved-aside home into the restored home."""
        moved = []
        aside_paths = [p.replace(self.home, aside, 1) if _under(p, [self.home]) else None for p in exclude_paths]
        stack = [(aside, [])]
        while stack:
            directory, parts = stack.pop()
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
            for entry in entries:
                rel = parts + [entry.name]
                if is_write_leftover(entry.name, entry.stat(follow_symlinks=False)):
                    continue  # stays aside, where strip_key_material() removes it
                if is_excluded(rel, excludes) or _under(entry.path, [p for p in aside_paths if p]):
                    dst = os.path.join(self.home, *rel)
                    if os.path.lexists(dst):
                        continue  # the backup has something there; keep the old one aside
                    _move(entry.path, dst)
                    moved.append(os.path.join(*rel))
                elif entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, rel))
        return sorted(moved)


class BackendRestore:
    """Restore the backend database from a verified dump with the database's own client."""

    def __init__(self, cfg, backup_path, looker_home):
        self.cfg = cfg
        self.manifest_path = manifest_path_for(os.path.abspath(validate_backup_path(backup_path)))
        self.backup_path = os.path.abspath(backup_path)
        self.home = looker_home

    def verify(self):
        """Check the dump against its manifest and the backend settings' database name; touch nothing (Looker may run)."""
        manifest, sha = self._verified()
        return {'changed': False, 'verified': True, 'sha256': sha, 'backup_id': manifest.get('backup_id'),
                'backup_path': self.backup_path, 'created_utc': manifest.get('created_utc'),
                'key_check_value': manifest.get('key_check_value')}

    def _verified(self):
        if not os.path.exists(self.backup_path):
            raise BackupError('the backup %s does not exist; check backup_path' % self.backup_path)
        manifest = read_manifest(self.manifest_path)
        if self.backup_path == self.manifest_path:
            if not manifest.get('dump') or '/' in manifest['dump']:
                raise BackupError('the manifest %s names no dump file; it is not a backend manifest' % self.manifest_path)
            self.backup_path = os.path.join(os.path.dirname(self.manifest_path), manifest['dump'])
        if manifest.get('kind') != 'backend' or manifest.get('format') != 'mysqldump':
            raise BackupError('%s is not the manifest of a backend dump written by mysqldump/mariadb-dump (kind %r, format %r); '
                              'restore it by hand as docs/operator-guide.md describes'
                              % (self.manifest_path, manifest.get('kind'), manifest.get('format')))
        if manifest.get('database') != self.cfg.database:
            raise BackupError('the backup %s holds database %r but the backend settings now name database %r. Nothing was '
                              'touched. Point the settings back at %r, or restore by hand (docs/operator-guide.md)'
                              % (self.backup_path, manifest.get('database'), self.cfg.database, manifest.get('database')))
        sha, _size = verify_dump_file(self.backup_path, manifest)
        return manifest, sha

    def run(self, check_mode=False):
        manifest, sha = self._verified()
        if self.home:
            refuse_if_running(self.home)
        with mysql_server.connect(self.cfg) as conn:
            sessions = mysql_server.list_sessions(conn, self.cfg.user)
            version = mysql_server.server_version(conn)
        if sessions:
            raise BackupError('refusing to restore the backend: %d other session(s) of user %s are connected (%s). A '
                              'Looker node may still be running: stop every node (and anything else using this user), '
                              'then run again.' % (len(sessions), self.cfg.user,
                                                   ', '.join('id %s from %s' % (s['id'], s['host']) for s in sessions[:10])))
        tool = mysql_client.find_tool('client', self.cfg.tools_dir, version)
        result = {'changed': True, 'sha256': sha, 'backup_id': manifest.get('backup_id'), 'backup_path': self.backup_path,
                  'objects': manifest.get('objects'), 'backend': self.cfg.to_result(), 'tool': tool.to_result(),
                  'key_check_value': manifest.get('key_check_value')}
        if check_mode:
            return result
        with gzip.open(self.backup_path, 'rb') as gz:
            mysql_client.run_restore(self.cfg, gz, tool=tool, server_version=version)
        with mysql_server.connect(self.cfg) as conn:
            loaded = mysql_server.object_counts(conn, self.cfg.database)
        expected = manifest.get('objects') or {}
        short = dict((k, (loaded.get(k), v)) for k, v in expected.items() if loaded.get(k, 0) < v)
        if short:
            raise BackupError('the restore finished but the database holds fewer objects than the backup (%s as (now, '
                              'backup)); check the client and server logs' % short)
        result['objects'] = loaded
        return result


def is_enospc(exc):
    return isinstance(exc, OSError) and exc.errno == errno.ENOSPC


# -- which nodes share one backup filesystem -------------------------------------------------------------

PROBE_PREFIX = '.lookerops-fs-probe-'


def probe_dir(dest_dir):
    """The directory a probe is written in: dest_dir, or its nearest existing ancestor (same filesystem)."""
    return _existing_ancestor(dest_dir)


def probe_step(dest_dir, token, name, step):
    """One step of the shared-filesystem probe. Every node ``mark``s ``<dir>/.lookerops-fs-probe-<token>.<name>``, then
    every node ``list``s the names it sees (the nodes whose backups land on the same filesystem), then ``clear`` removes
    its own marker. Returns {'directory', 'seen', 'free_bytes'}."""
    check_name(token, 'the probe token (the run id)', BackupError)
    check_name(name, 'the node name (inventory_hostname)', BackupError)
    directory = probe_dir(dest_dir)
    own = os.path.join(directory, '%s%s.%s' % (PROBE_PREFIX, token, name))
    if step == 'mark':
        fd = os.open(own, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, 'O_NOFOLLOW', 0), 0o600)
        os.close(fd)
    elif step == 'clear':
        if os.path.lexists(own):
            os.unlink(own)
    prefix = '%s%s.' % (PROBE_PREFIX, token)
    seen = sorted(entry[len(prefix):] for entry in os.listdir(directory) if entry.startswith(prefix))
    return {'directory': directory, 'seen': seen, 'free_bytes': free_bytes(directory)}
