# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: verified backup and restore of the Looker backend database, with the
database's own clients.

This is not a public API; it may change without notice.
"""

from __future__ import annotations

import gzip
import os
import socket
import zlib

from ansible_collections.lookerops.encryption.plugins.module_utils._backup.errors import BackupError
from ansible_collections.lookerops.encryption.plugins.module_utils._backup.home import refuse_if_running
from ansible_collections.lookerops.encryption.plugins.module_utils._backup.manifest import (
    TOOL_VERSION,
    backend_paths,
    check_against_manifest,
    ensure_dir,
    existing_backup,
    manifest_path_for,
    read_manifest,
    utc_now,
    validate_backup_id,
    validate_backup_path,
    write_manifest,
)
from ansible_collections.lookerops.encryption.plugins.module_utils._backup.space import check_free_space, free_bytes, free_space_message
from ansible_collections.lookerops.encryption.plugins.module_utils._backup.streams import (
    CHUNK,
    HashingReader,
    HashingWriter,
    NullWriter,
    ParallelGzipWriter,
)
from ansible_collections.lookerops.encryption.plugins.module_utils._files import AtomicFile
from ansible_collections.lookerops.encryption.plugins.module_utils._mysql import client as mysql_client
from ansible_collections.lookerops.encryption.plugins.module_utils._mysql import server as mysql_server
from ansible_collections.lookerops.encryption.plugins.module_utils._progress import CountingReader, CountingWriter, ProgressFile


def verify_dump_file(path, manifest=None, progress=None):
    """Decompress the whole dump (gzip CRC), check the client's header and its completion trailer; (sha256, size).

    ``progress`` (a ProgressFile) counts the dump file's bytes read."""
    head = b''
    tail = b''
    raw = 0
    try:
        with open(path, 'rb') as fileobj:
            reader = HashingReader(CountingReader(fileobj, progress) if progress else fileobj)
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
    check_against_manifest('the backend dump %s' % path, digest, manifest, 'uncompressed_size', raw, 'bytes uncompressed')
    return digest, reader.size


class BackendBackup:
    """Logical backup of the backend database with the database's own dump client (decisions for lk_backup)."""

    def __init__(self, cfg, dest_dir, backup_id, margin_bytes=0, key_check_value=None, progress_file=None):
        validate_backup_id(backup_id)
        self.cfg = cfg
        self.progress_file = progress_file
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
        manifest = existing_backup(self.path, self.manifest_path, verify_dump_file, 'backend')
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
            mysql_client.run_dump(self.cfg, NullWriter(), tool=tool, server_version=version, no_data=True)
            result.update(sha256=None, size=None, verified=False)
            return result
        ensure_dir(self.directory)
        progress = ProgressFile(self.progress_file, 'dumping')
        try:
            # The data's size as the server counts it: the dump's text is about as large.
            progress.phase('dumping', data_size)
            result.update(self._dump(tool, version, objects, progress))
        finally:
            progress.close()
        return result

    def _dump(self, tool, version, objects, progress):
        """The dump written, read back against its manifest, and the manifest written; the result's new keys."""
        created = utc_now()
        with AtomicFile(self.path, mode=0o600) as handle:
            hasher = HashingWriter(handle.file)
            with ParallelGzipWriter(hasher) as gz:
                dumped = mysql_client.run_dump(self.cfg, CountingWriter(gz, progress), tool=tool, server_version=version)
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
        progress.phase('reading back', manifest['size'])
        verify_dump_file(self.path, manifest, progress)
        write_manifest(self.manifest_path, manifest)
        return {'sha256': manifest['sha256'], 'size': manifest['size'], 'uncompressed_size': dumped.raw_bytes, 'verified': True}


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
