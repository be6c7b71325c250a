# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the cluster-wide run lock on a node. Not a public API.

One run per cluster at a time. The lock is a small JSON file created with O_EXCL, holding the run id
(unique per run), the controller (user@host) and the time it was taken. A run that finds another
run's lock names it and stops; it never overrides it. The run that holds it (also when resumed with
the same run id) takes it again, and removes it when it ends. Standard library only: runs on the node.
"""

from __future__ import annotations

import datetime
import json
import os


class RunLockError(Exception):
    """The lock is held by another run, or cannot be read or written."""


def read_lock(path):
    """The lock's content (dict), or None when there is none."""
    try:
        with open(path, encoding='utf-8') as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return {'run_id': None, 'controller': None, 'error': 'unreadable: %s' % exc}
    return data if isinstance(data, dict) else {'run_id': None, 'controller': None, 'error': 'not a JSON object'}


def held_by_msg(path, lock):
    return ('%s is held by lookerops.encryption run %s from %s (taken %s UTC). One run per cluster at a time: wait for '
            'that run to end. If it died, resume it with -e lookerops_run_id=%s (a resume takes its own lock again); remove '
            'the file by hand only when you are sure that run is gone. Nothing was changed by this run.'
            % (path, lock.get('run_id') or '?', lock.get('controller') or '?', lock.get('taken') or '?', lock.get('run_id') or '<run id>'))


def acquire(path, run_id, controller, check_mode=False):
    """Take the lock for ``run_id`` (or find it ours). Returns a result dict; raises RunLockError when held by another."""
    current = read_lock(path)
    if current is not None:
        if current.get('run_id') == run_id:
            return {'changed': False, 'path': path, 'lock': current, 'ours': True}
        raise RunLockError(held_by_msg(path, current))
    lock = {'run_id': run_id, 'controller': controller,
            'taken': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S')}
    if check_mode:
        return {'changed': True, 'path': path, 'lock': lock, 'ours': True}
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise RunLockError('Cannot take the run lock %s: the directory %s does not exist.' % (path, directory))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        # Another run took it between the read and the create.
        raise RunLockError(held_by_msg(path, read_lock(path) or {})) from None
    try:
        os.write(fd, (json.dumps(lock, sort_keys=True) + '\n').encode('utf-8'))
        os.fsync(fd)
    finally:
        os.close(fd)
    return {'changed': True, 'path': path, 'lock': lock, 'ours': True}


def release(path, run_id, check_mode=False):
    """Remove the lock when ``run_id`` holds it; another run's lock is left alone (and reported)."""
    current = read_lock(path)
    if current is None:
        return {'changed': False, 'path': path, 'lock': None, 'ours': False}
    if current.get('run_id') != run_id:
        return {'changed': False, 'path': path, 'lock': current, 'ours': False}
    if not check_mode:
        os.unlink(path)
    return {'changed': True, 'path': path, 'lock': None, 'ours': True}
