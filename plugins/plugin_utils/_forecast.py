# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption (controller side): the downtime forecast, made in preflight before any change.

Not a public API. Exposed to the playbooks as the filter ``lookerops.encryption.downtime_forecast``. The downtime window
(first node stopped to the last node answering /alive) holds, in order: the stop round; the backups, which overlap
Looker's live window (the offline task cannot run until no node counts as live); the offline task once; the first
node's start; the start of the others, together. What preflight measured on the nodes (each home's size, how fast each
node compresses its own files, the backend's size) gives the backups; what Looker's documents do not say and nothing
here can measure before the change (how long a node takes to stop and start, how long the task takes) comes from the
settings, and the forecast names each part's source.
"""

from __future__ import annotations

# The offline task of each job that has a downtime window.
TASKS = {'migrate': 'migrate_encryption', 'rekey': 'rekey'}
# The backup reads its archive back (gzip CRCs, sha256) after writing it: decompressing takes a fraction of the time
# compressing took at gzip level 6, counted here as a fifth.
READ_BACK_FACTOR = 1.2


def _number(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _false(value):
    return value is False or str(value).strip().lower() in ('false', 'no', '0')


def _backup_seconds(check, rate):
    """Seconds a backup of ``check['estimate_bytes']`` takes at ``rate`` bytes per second, or None when unknown."""
    estimate = _number((check or {}).get('estimate_bytes'))
    rate = _number(rate)
    if estimate is None or not rate:
        return None
    return estimate / rate * READ_BACK_FACTOR


def downtime_forecast(run, hosts, backups, backend, settings):
    """The expected downtime window of the run ``run`` (its record) and its parts; None for a run without one: a rollback
    or a new install (their own kind of window), a migrate that finds every node migrated, a rekey already done.

    ``hosts`` are the nodes in inventory order (the first dumps the backend), ``backups`` each node's home backup check
    (lk_backup in check mode: ``estimate_bytes``, ``probe_bytes_per_second``; an empty dict when it did not run),
    ``backend`` the backend dump check on the first node (``estimate_bytes``; empty when there is none to dump) and
    ``settings`` the stated times: ``stop_seconds``, ``start_seconds``, ``task_seconds``, ``live_window_seconds``.

    Returns ``window_seconds``, ``parts`` (``stop``, ``backup``, ``live_window``, ``task``, ``start_first``,
    ``start_rest``), ``task`` (the offline task's name), ``backup_nodes`` (each node's home backup seconds, None when
    unknown), ``backend_seconds``, ``unmeasured`` (the nodes whose backup could not be forecast) and ``text`` (one line).
    """
    run = run or {}
    job = run.get('job')
    if job not in TASKS:
        return None
    if job == 'migrate' and _false(run.get('migration_needed')):
        return None
    if job == 'rekey' and _false((run.get('rekey_plan') or {}).get('needed', True)):
        return None
    hosts = list(hosts or [])
    checks = dict(zip(hosts, list(backups or []) + [{}] * len(hosts)))
    settings = settings or {}
    stop = _number(settings.get('stop_seconds')) or 0.0
    start = _number(settings.get('start_seconds')) or 0.0
    task = _number(settings.get('task_seconds')) or 0.0
    live_window = _number(settings.get('live_window_seconds')) or 0.0
    backup_nodes = {}
    for host in hosts:
        check = checks[host] or {}
        backup_nodes[host] = _backup_seconds(check, check.get('probe_bytes_per_second'))
    first_rate = (checks[hosts[0]] or {}).get('probe_bytes_per_second') if hosts else None
    backend_seconds = _backup_seconds(backend, first_rate) if (backend or {}).get('estimate_bytes') else 0.0
    unmeasured = [host for host in hosts if backup_nodes[host] is None]
    homes = max([seconds for seconds in backup_nodes.values() if seconds is not None] or [0.0])
    backup = homes + (backend_seconds or 0.0)
    parts = {
        'stop': stop,
        'backup': backup,
        'live_window': live_window,
        'task': task,
        'start_first': start,
        'start_rest': start if len(hosts) > 1 else 0.0,
    }
    window = stop + max(backup, live_window) + task + parts['start_first'] + parts['start_rest']
    text = ('%.0f s = stop %.0f + max(backup %.0f, live window %.0f) + %s %.0f + start of the first node %.0f'
            % (window, stop, backup, live_window, TASKS[job], task, start))
    if parts['start_rest']:
        text += ' + start of the others %.0f' % parts['start_rest']
    if unmeasured or backend_seconds is None:
        text += ' (backup not measured on %s: counted as 0)' % ', '.join(unmeasured + (['the backend'] if backend_seconds is None else []))
    return {
        'window_seconds': window,
        'parts': parts,
        'task': TASKS[job],
        'backup_nodes': backup_nodes,
        'backend_seconds': backend_seconds,
        'unmeasured': unmeasured,
        'text': text,
    }


def forecast_error(forecast, actual_seconds):
    """How far the forecast was from the actual window, as a fraction of the actual (0.1 = 10 %); None when unknown."""
    actual = _number(actual_seconds)
    if not forecast or not actual:
        return None
    return (forecast['window_seconds'] - actual) / actual
