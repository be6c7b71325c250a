# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: verified backup and restore of a Looker home.

This is not a public API; it may change without notice. The archive is streamed (bounded buffers) through gzip into an
AtomicFile (0600 from the first byte); a restore verifies it first, moves the old home aside (never deletes it) and
strips the key settings from the copy it keeps.
"""

from __future__ import annotations

import fnmatch
import gzip
import os
import shutil
import socket
import stat
import tarfile
import time
import zlib

from ansible_collections.lookerops.encryption.plugins.module_utils._backup.errors import BackupError, is_enospc
from ansible_collections.lookerops.encryption.plugins.module_utils._backup.manifest import (
    TOOL_VERSION,
    check_against_manifest,
    ensure_dir,
    existing_backup,
    home_paths,
    manifest_path_for,
    read_manifest,
    utc_now,
    utc_stamp,
    validate_backup_id,
    validate_backup_path,
    validate_node_name,
    write_manifest,
)
from ansible_collections.lookerops.encryption.plugins.module_utils._backup.space import (
    check_free_space,
    disk_full_message,
    free_bytes,
    free_space_message,
)
from ansible_collections.lookerops.encryption.plugins.module_utils._backup.streams import CHUNK, HashingReader, HashingWriter, ParallelGzipWriter
from ansible_collections.lookerops.encryption.plugins.module_utils._files import AtomicFile, fsync_dir, is_atomic_temp_name, path_is_under
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.home import FENCE_NAME
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.proc import pid_alive, read_pid_file
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.settings import strip_key_material
from ansible_collections.lookerops.encryption.plugins.module_utils._progress import CountingReader, ProgressFile


DEFAULT_EXCLUDES = ['.cache', 'log', '.tmp', '.snapshots', 'looker.jar', 'authorized_keys', 'dr-log', 'core']

TAR_BLOCK = 512


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
            if is_excluded(rel, excludes) or path_is_under(entry.path, skip):
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


class _CountingSink:
    """Where the probe's compressed bytes go: counted, never kept."""

    def __init__(self):
        self.size = 0

    def write(self, data):
        self.size += len(data)
        return len(data)


def probe_throughput(home, excludes, exclude_paths=None, seconds=0.5, clock=time.monotonic):
    """Bytes per second at which this node reads and compresses its home as the backup does (gzip on every core), measured
    on the home's own files for at most ``seconds``; None when the home has no file data to measure. Nothing is written.
    """
    if not seconds or seconds <= 0:
        return None
    began = clock()
    deadline = began + seconds
    read = 0
    with ParallelGzipWriter(_CountingSink()) as gz:
        for path, _rel, st in walk_home(home, excludes, exclude_paths):
            if not stat.S_ISREG(st.st_mode):
                continue
            try:
                with open(path, 'rb') as src:
                    while clock() < deadline:
                        chunk = src.read(CHUNK)
                        if not chunk:
                            break
                        gz.write(chunk)
                        read += len(chunk)
            except OSError:
                continue  # a file that cannot be read now is the backup's to report, not the probe's
            if clock() >= deadline:
                break
    elapsed = clock() - began
    if read == 0 or elapsed <= 0:
        return None
    return read / elapsed


def write_home_archive(home, dest, excludes, exclude_paths=None, skipped=None, progress=None):
    """Stream the home into ``dest`` (.tar.gz, 0600, atomic). Returns (sha256, size, files, total_bytes).

    ``progress`` (a ProgressFile) counts the file bytes read, for the lines the controller prints while it waits."""
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
                                tar.addfile(info, CountingReader(src, progress) if progress else src)
                        except OSError as exc:
                            raise BackupError('cannot read %s while archiving it: %s; is Looker stopped and does '
                                              'the module run as root?' % (path, exc.strerror or exc)) from None
                        files += 1
                        total += st.st_size
                    else:
                        tar.addfile(info)
        handle.file.flush()
    return hasher.hexdigest(), hasher.size, files, total


def verify_home_archive(path, manifest=None, progress=None):
    """Read the archive back: sha256 and every member (gzip CRC). Returns (sha256, size, files).

    ``progress`` (a ProgressFile) counts the archive bytes read."""
    files = 0
    try:
        with open(path, 'rb') as raw:
            reader = HashingReader(CountingReader(raw, progress) if progress else raw)
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
    check_against_manifest('the backup %s' % path, digest, manifest, 'files', files, 'files')
    return digest, reader.size, files


class HomeBackup:
    """Backup of one node's Looker home (decisions for the lk_backup module)."""

    def __init__(self, looker_home, dest_dir, backup_id, name, excludes, exclude_paths=None, margin_bytes=0, probe_seconds=0,
                 progress_file=None):
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
        self.probe_seconds = probe_seconds
        self.progress_file = progress_file
        self.directory, self.path, self.manifest_path = home_paths(dest_dir, backup_id, self.name)

    def run(self, check_mode=False):
        if not os.path.isdir(self.home):
            raise BackupError('the Looker home %s is not a directory; set looker_home' % self.home)
        result = {'path': self.path, 'manifest_path': self.manifest_path, 'changed': False}
        manifest = existing_backup(self.path, self.manifest_path, verify_home_archive, 'home')
        if manifest is not None:
            result.update(sha256=manifest['sha256'], size=manifest['size'], files=manifest['files'], verified=True,
                          estimate_bytes=None, free_bytes=free_bytes(self.directory))
            return result
        estimate, _entries, file_bytes = estimate_home(self.home, self.excludes, self.exclude_paths)
        free, needed, ok = check_free_space(self.directory, estimate, self.margin)
        result.update(estimate_bytes=estimate, free_bytes=free, needed_bytes=needed, changed=True)
        if not ok:
            raise BackupError(free_space_message(self.directory, free, needed, 'Looker home'))
        if check_mode:
            result.update(sha256=None, size=None, files=None, verified=False,
                          probe_bytes_per_second=probe_throughput(self.home, self.excludes, self.exclude_paths, self.probe_seconds))
            return result
        ensure_dir(self.directory)
        created = utc_now()
        skipped = []
        progress = ProgressFile(self.progress_file, 'archiving')
        try:
            progress.phase('archiving', file_bytes)
            try:
                sha, size, files, total = write_home_archive(self.home, self.path, self.excludes, self.exclude_paths, skipped,
                                                             progress)
            except OSError as exc:
                if not is_enospc(exc):
                    raise
                raise BackupError(disk_full_message(self.directory, self.path, free, needed)) from None
            result.update(self._finish(created, skipped, sha, size, files, total, progress))
        finally:
            progress.close()
        return result

    def _finish(self, created, skipped, sha, size, files, total, progress):
        """The manifest of the archive just written, once the archive read back matches it; the result's new keys."""
        result = {}
        result['temp_files_left_out'] = skipped
        manifest = {
            'kind': 'looker-home', 'backup_id': self.backup_id, 'created_utc': created.strftime('%Y-%m-%dT%H:%M:%SZ'),
            'host': socket.gethostname(), 'name': self.name, 'source': self.home, 'excludes': self.excludes,
            'exclude_paths': self.exclude_paths, 'files': files, 'total_bytes': total, 'size': size, 'sha256': sha,
            'archive': os.path.basename(self.path), 'tool_version': TOOL_VERSION,
        }
        progress.phase('reading back', size)
        verify_home_archive(self.path, manifest, progress)
        write_manifest(self.manifest_path, manifest)
        result.update(sha256=sha, size=size, files=files, total_bytes=total, verified=True)
        return result


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
        aside_paths = [p.replace(self.home, aside, 1) if path_is_under(p, [self.home]) else None for p in exclude_paths]
        stack = [(aside, [])]
        while stack:
            directory, parts = stack.pop()
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
            for entry in entries:
                rel = parts + [entry.name]
                if is_write_leftover(entry.name, entry.stat(follow_symlinks=False)):
                    continue  # stays aside, where strip_key_material() removes it
                if is_excluded(rel, excludes) or path_is_under(entry.path, [p for p in aside_paths if p]):
                    dst = os.path.join(self.home, *rel)
                    if os.path.lexists(dst):
                        continue  # the backup has something there; keep the old one aside
                    _move(entry.path, dst)
                    moved.append(os.path.join(*rel))
                elif entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, rel))
        return sorted(moved)
