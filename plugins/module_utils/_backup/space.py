# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: free space for a backup, and which nodes' backups share one filesystem.

This is not a public API; it may change without notice.
"""

from __future__ import annotations

import glob
import os

from ansible_collections.lookerops.encryption.plugins.module_utils._backup.errors import BackupError
from ansible_collections.lookerops.encryption.plugins.module_utils._names import check_name


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
