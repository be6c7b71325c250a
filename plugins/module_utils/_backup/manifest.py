# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: a backup's names, paths and manifest.

This is not a public API; it may change without notice. A backup counts as verified only after it was read back
against its manifest (sha256 recomputed, every tar member or the whole dump decompressed, so the gzip CRCs are
checked).
"""

from __future__ import annotations

import datetime
import json
import os
import re

from ansible_collections.lookerops.encryption.plugins.module_utils._backup.errors import BackupError
from ansible_collections.lookerops.encryption.plugins.module_utils._files import AtomicFile, fsync_dir
from ansible_collections.lookerops.encryption.plugins.module_utils._names import check_name


TOOL_VERSION = 'lookerops.encryption backup 1'


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def utc_stamp(now=None):
    return (now or utc_now()).strftime('%Y%m%dT%H%M%SZ')


def write_manifest(path, data):
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


def check_against_manifest(what, digest, manifest, count_key, count, unit):
    """Raise unless a file read back has the sha256 its manifest records and the count it records under ``count_key``
    (when it records one). ``what`` names the file, ``unit`` the count; without a manifest there is nothing to check."""
    if manifest is None:
        return
    if digest != manifest.get('sha256'):
        raise BackupError('%s does not match its manifest: sha256 %s, manifest says %s' % (what, digest, manifest.get('sha256')))
    if manifest.get(count_key) is not None and count != manifest[count_key]:
        raise BackupError('%s does not match its manifest: %d %s, manifest says %d' % (what, count, unit, manifest[count_key]))


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


def existing_backup(path, manifest_path, verifier, what):
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
