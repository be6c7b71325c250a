# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the node's own history of the restarts this collection measured.

``.lookerops-restarts.json`` in the Looker home holds the seconds of the last stops (lk_stop_cluster: from the task's
start until the pid was gone and /alive refused) and the last starts (lk_start: from the startup script until /alive
answered) that the collection's modules measured on this node, each with its UTC time. Preflight reads it (lk_node_info)
so the downtime forecast can use what this node really took instead of a stated time. Looker's own log is not read for
this: its documents name no log line for a stop or a start.

Only real measurements go in: a stop of a node that was running and is down now, a start that ran the startup script
and saw /alive answer, never anything in check mode. The history is advisory: a file that cannot be read is an empty
history, a file that cannot be written is a warning, and neither ever fails the stop or the start. It holds times only,
never key material.

This is not a public API; it may change without notice. Standard library only: it runs on the node.
"""

from __future__ import annotations

import datetime
import json
import math
import os

from ansible_collections.lookerops.encryption.plugins.module_utils._files import atomic_write

# How many measurements of each kind the file keeps (the newest).
KEEP = 5
# The kinds of measurement: the key in the file and in RV(restarts) for each.
KINDS = ('stops', 'starts')
FILE_MODE = 0o600
# A history of 2 x KEEP entries is a few hundred bytes; anything far larger is not ours and is not read.
MAX_BYTES = 65536
FORMAT_VERSION = 1


def empty_history(error=None):
    """The history of a node with no measured restart (``error`` says why a file there could not be used)."""
    return {'stops': [], 'starts': [], 'error': error}


def _seconds(value):
    """``value`` as non-negative finite seconds, or None (booleans and text are not seconds)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) and value >= 0 else None


def _entries(items):
    """The well-formed entries of ``items`` (each ``{'utc': str or None, 'seconds': float}``), the newest KEEP."""
    entries = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        seconds = _seconds(item.get('seconds'))
        if seconds is None:
            continue
        utc = item.get('utc')
        entries.append({'utc': utc if isinstance(utc, str) else None, 'seconds': seconds})
    return entries[-KEEP:]


def parse_history(text):
    """The history in ``text`` (the file's content); a malformed one is an empty history with its ``error``."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        return empty_history('not JSON: %s' % exc)
    if not isinstance(data, dict):
        return empty_history('not a JSON object')
    history = empty_history()
    for kind in KINDS:
        history[kind] = _entries(data.get(kind))
    return history


def read_history(path):
    """The history in the file ``path``: missing is empty (no error), unreadable or malformed is empty with ``error``.

    Never follows a symbolic link (the home belongs to the Looker user; the modules read it as root) and never reads
    more than MAX_BYTES. Never raises.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_CLOEXEC', 0))
    except FileNotFoundError:
        return empty_history()
    except OSError as exc:
        return empty_history('unreadable: %s' % (exc.strerror or exc))
    try:
        with os.fdopen(fd, 'rb') as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        return empty_history('unreadable: %s' % (exc.strerror or exc))
    if len(raw) > MAX_BYTES:
        return empty_history('larger than %d bytes: not a history this collection wrote' % MAX_BYTES)
    return parse_history(raw.decode('utf-8', 'replace'))


def add_measurement(history, kind, seconds, utc):
    """A new history: ``history`` with one ``kind`` (stops or starts) measurement added, each kind trimmed to KEEP."""
    if kind not in KINDS:
        raise ValueError('kind must be one of %s, not %r' % (', '.join(KINDS), kind))
    value = _seconds(seconds)
    if value is None:
        raise ValueError('seconds must be a non-negative number, not %r' % (seconds,))
    new = {'version': FORMAT_VERSION}
    for name in KINDS:
        new[name] = _entries((history or {}).get(name))
    new[kind] = (new[kind] + [{'utc': utc, 'seconds': round(value, 3)}])[-KEEP:]
    return new


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def record_measurement(path, kind, seconds, owner=None, utc=None):
    """Append one measurement to the history file ``path``, atomically, mode 0600, owned by ``owner`` (a function that
    returns the pwd entry of the Looker user; used when running as root, as for the other files the modules write in
    the home). Returns None when written, else a warning for the operator. Never raises: the history is advisory."""
    try:
        history = add_measurement(read_history(path), kind, seconds, utc or utc_now())
        uid = gid = -1
        if owner is not None and os.geteuid() == 0:
            info = owner()
            uid, gid = info.pw_uid, info.pw_gid
        atomic_write(path, (json.dumps(history, indent=2, sort_keys=True) + '\n').encode('ascii'), mode=FILE_MODE, uid=uid, gid=gid)
    except Exception as exc:  # pylint: disable=broad-except
        # Whatever went wrong (a full or read-only file system, a missing user, a bad value), the stop or the start
        # itself succeeded: say so and go on. The next downtime forecast uses the stated time for what is missing.
        return ('Could not record this %s (%s s) in the restart history %s: %s. The %s itself succeeded; the downtime '
                'forecast uses the stated time where no measurement is recorded.'
                % (kind[:-1], seconds, path, exc, kind[:-1]))
    return None


def _record(node, result, kind, seconds, warn):
    warning = record_measurement(node.restarts_file, kind, seconds, owner=node.runner.user_info)
    result['restart_recorded'] = warning is None
    if warning:
        warn(warning)
    return result


def record_stop(node, result, check_mode, warn):
    """After a stop (``stop_node``'s ``result``): a node that was running and is down now is one measured stop
    (``stop_seconds``). Sets ``restart_recorded``; a history that could not be written is passed to ``warn`` (the
    module's ``warn``). Returns ``result``."""
    if check_mode or not result.get('was_running') or _seconds(result.get('stop_seconds')) is None:
        result['restart_recorded'] = False
        return result
    return _record(node, result, 'stops', result['stop_seconds'], warn)


def record_start(node, result, check_mode, warn):
    """After a start (``start_node``'s ``result``): a start that ran the startup script and saw /alive answer is one
    measured start (``alive_after_seconds``); a node already up, or only waited for, is not. Sets ``restart_recorded``;
    a history that could not be written is passed to ``warn`` (the module's ``warn``). Returns ``result``."""
    if check_mode or not result.get('started') or _seconds(result.get('alive_after_seconds')) is None:
        result['restart_recorded'] = False
        return result
    return _record(node, result, 'starts', result['alive_after_seconds'], warn)
