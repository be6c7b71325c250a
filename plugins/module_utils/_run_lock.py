# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the cluster-wide run lock on a node. Not a public API.

One run per cluster at a time. The lock is a small JSON file created with O_EXCL, holding the run id
(unique per run), the controller (user@host), the holder (the controller's host name, and the pid and
start time of its ansible-playbook process) and the time it was taken. The decision (``decide``) is:

- no lock: take it;
- the same run id and the same holder: ours (the run takes it on every node);
- the same run id and another holder: a second controller (or a second ansible-playbook) resuming a run
  that may still be alive. Refused, unless the controller proved that holder dead (``holder_alive`` on the
  controller, where the holder ran) and asks to take it over (``takeover_of``, compared before replacing);
- another run id: refused, whoever holds it; never overridden.

A lock written before holders were recorded is taken over by its own run id. Standard library only: runs on the node.
"""

from __future__ import annotations

import datetime
import json
import os

HOLDER_KEYS = ('host', 'pid', 'started')


class RunLockError(Exception):
    """The lock is held by another run, or cannot be read or written. ``result`` goes into the module's failure."""

    def __init__(self, msg, result=None):
        super().__init__(msg)
        self.result = result or {}


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


def same_holder(one, other):
    """Whether two holders are the same ansible-playbook process (host, pid and start time)."""
    if not isinstance(one, dict) or not isinstance(other, dict):
        return False
    return all(one.get(k) == other.get(k) for k in HOLDER_KEYS)


def describe_holder(holder):
    if not isinstance(holder, dict):
        return 'an unrecorded process'
    return 'ansible-playbook pid %s on %s (started %s)' % (holder.get('pid', '?'), holder.get('host', '?'),
                                                           holder.get('started') or 'at an unknown time')


def holder_alive(holder, me, started_at):
    """On the controller: True/False when ``holder`` ran on this host (``me``) and its process is alive/gone;
    None when it ran on another host (nothing here can tell). ``started_at(pid)`` gives a live pid's start time."""
    if not isinstance(holder, dict) or holder.get('host') != me.get('host'):
        return None
    try:
        pid = int(holder.get('pid'))
    except (TypeError, ValueError):
        return False
    started = started_at(pid)
    if started is None:
        return False
    return holder.get('started') is None or abs(float(holder['started']) - float(started)) < 1.0


def decide(current, run_id, holder, takeover_of=None):
    """take, ours, takeover, held_same_run or held."""
    if current is None:
        return 'take'
    if current.get('run_id') != run_id:
        return 'held'
    if holder is None or same_holder(current.get('holder'), holder):
        return 'ours'
    if current.get('holder') is None:
        return 'takeover'  # a lock written before holders were recorded
    if takeover_of is not None and same_holder(current.get('holder'), takeover_of):
        return 'takeover'
    return 'held_same_run'


def held_by_msg(path, lock):
    return ('%s is held by lookerops.encryption run %s from %s (taken %s UTC). One run per cluster at a time: wait for '
            'that run to end. If it died, resume it with -e lookerops_run_id=%s (a resume takes its own lock again); remove '
            'the file by hand only when you are sure that run is gone. Nothing was changed by this run.'
            % (path, lock.get('run_id') or '?', lock.get('controller') or '?', lock.get('taken') or '?', lock.get('run_id') or '<run id>'))


def held_by_live_msg(path, lock, alive):
    where = ('that process is alive' if alive else
             'that process ran on another controller, so this one cannot tell whether it is still alive')
    return ('%s is held by lookerops.encryption run %s from %s, %s; %s. Two controllers never run one cluster at once, '
            'even with the same run id: wait for that run to end (its lock goes with it). If it died, resume from the '
            'controller it ran on (it takes the lock over once it sees the process gone), or remove the file on every '
            'node by hand once you are sure that run is gone, then resume. Nothing was changed by this run.'
            % (path, lock.get('run_id') or '?', lock.get('controller') or '?', describe_holder(lock.get('holder')), where))


def _new_lock(run_id, controller, holder):
    lock = {'run_id': run_id, 'controller': controller,
            'taken': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S')}
    if holder is not None:
        lock['holder'] = dict((k, holder.get(k)) for k in HOLDER_KEYS)
    return lock


def acquire(path, run_id, controller, check_mode=False, holder=None, takeover_of=None):
    """Take the lock for ``run_id`` (or find it ours). Returns a result dict; raises RunLockError when held by another."""
    current = read_lock(path)
    verdict = decide(current, run_id, holder, takeover_of)
    if verdict == 'ours':
        return {'changed': False, 'path': path, 'lock': current, 'ours': True, 'took_over': False}
    if verdict == 'held':
        raise RunLockError(held_by_msg(path, current), {'lock': current, 'held_same_run': False})
    if verdict == 'held_same_run':
        raise RunLockError(held_by_live_msg(path, current, alive=None), {'lock': current, 'held_same_run': True})
    lock = _new_lock(run_id, controller, holder)
    result = {'changed': True, 'path': path, 'lock': lock, 'ours': True, 'took_over': verdict == 'takeover'}
    if check_mode:
        return result
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise RunLockError('Cannot take the run lock %s: the directory %s does not exist.' % (path, directory))
    data = (json.dumps(lock, sort_keys=True) + '\n').encode('utf-8')
    if verdict == 'takeover':
        _replace(path, current, data)
        return result
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        # Another run took it between the read and the create.
        raise RunLockError(held_by_msg(path, read_lock(path) or {})) from None
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return result


def _replace(path, expected, data):
    """Replace the lock of a dead holder, only while it is still the one that was judged dead."""
    temp = '%s.takeover-%d' % (path, os.getpid())
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        if read_lock(path) != expected:
            raise RunLockError(held_by_msg(path, read_lock(path) or {}))
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def release(path, run_id, check_mode=False, holder=None):
    """Remove the lock when ``run_id`` (and ``holder``, when both are known) holds it; another's lock is left alone."""
    current = read_lock(path)
    if current is None:
        return {'changed': False, 'path': path, 'lock': None, 'ours': False}
    if current.get('run_id') != run_id or (holder is not None and current.get('holder') is not None
                                           and not same_holder(current['holder'], holder)):
        return {'changed': False, 'path': path, 'lock': current, 'ours': False}
    if not check_mode:
        os.unlink(path)
    return {'changed': True, 'path': path, 'lock': None, 'ours': True}
