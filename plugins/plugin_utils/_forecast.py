# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption (controller side): the downtime forecast, made in preflight before any change.

Not a public API. Exposed to the playbooks as the filter ``lookerops.encryption.downtime_forecast``. The downtime window
(first node stopped to the last node answering /alive) holds, in order: the stop round; the backups, which overlap
Looker's live window (the offline task cannot run until no node counts as live); the offline task once; the first
node's start; the start of the others, together. What preflight measured on the nodes (each home's size, how fast each
node compresses its own files, the backend's size) gives the backups; how long each node takes to stop and to start
comes from its own last restarts, as the collection's modules measured them there (lk_stop_cluster, lk_start: the
node's restart history, which lk_node_info returns), else from the stated settings; what nothing here can measure
before the change (how long the task takes, Looker's live window) comes from the settings. The forecast names each
part's source.
"""

from __future__ import annotations

# The offline task of each job that has a downtime window.
TASKS = {'migrate': 'migrate_encryption', 'rekey': 'rekey'}
# The backup reads its archive back (gzip CRCs, sha256) after writing it: decompressing takes a fraction of the time
# compressing took at gzip level 6, counted here as a fifth.
READ_BACK_FACTOR = 1.2
# The settings whose stated times a node without a measured restart gets (named in the forecast's text).
STATED = {'stop': 'lookerops_forecast_stop_seconds', 'start': 'lookerops_forecast_start_seconds'}


def _number(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _false(value):
    return value is False or str(value).strip().lower() in ('false', 'no', '0')


def _measured(history, kind):
    """The seconds of each well-formed ``kind`` (stops or starts) measurement in a node's restart history."""
    entries = (history or {}).get(kind) if isinstance(history, dict) else None
    seconds = []
    for entry in entries if isinstance(entries, list) else []:
        value = _number(entry.get('seconds')) if isinstance(entry, dict) else None
        if value is not None and not isinstance(entry.get('seconds'), bool):
            seconds.append(value)
    return seconds


def node_times(history, stop_seconds, start_seconds):
    """A node's stop and start seconds: the longest of its measured stops (starts), else the stated ``stop_seconds``
    (``start_seconds``); with each one's source (``measured`` or ``stated``) and how many restarts measured it."""
    times = {}
    for part, kind, stated in (('stop', 'stops', stop_seconds), ('start', 'starts', start_seconds)):
        seconds = _measured(history, kind)
        times[part] = max(seconds) if seconds else stated
        times[part + '_source'] = 'measured' if seconds else 'stated'
        times[part + '_measured'] = len(seconds)
    return times


def _source(nodes, part):
    """Where the ``part`` (stop or start) seconds of ``nodes`` (their node_times) come from, in words."""
    measured = [times for times in nodes if times[part + '_source'] == 'measured']
    stated = 'stated: %s' % STATED[part]
    if not measured:
        return stated
    if len(nodes) == 1:
        count = measured[0][part + '_measured']
        return 'measured: longest of its last %d %s%s' % (count, part, 's' if count != 1 else '')
    text = 'measured on %d of %d nodes' % (len(measured), len(nodes))
    if len(measured) < len(nodes):
        text += ', the others %s' % stated
    return text


def _backup_seconds(check, rate):
    """Seconds a backup of ``check['estimate_bytes']`` takes at ``rate`` bytes per second, or None when unknown."""
    estimate = _number((check or {}).get('estimate_bytes'))
    rate = _number(rate)
    if estimate is None or not rate:
        return None
    return estimate / rate * READ_BACK_FACTOR


def downtime_forecast(run, hosts, backups, backend, settings, restarts=None):
    """The expected downtime window of the run ``run`` (its record) and its parts; None for a run without one: a rollback
    or a new install (their own kind of window), a migrate that finds every node migrated, a rekey already done.

    ``hosts`` are the nodes in inventory order (the first dumps the backend), ``backups`` each node's home backup check
    (lk_backup in check mode: ``estimate_bytes``, ``probe_bytes_per_second``; an empty dict when it did not run),
    ``backend`` the backend dump check on the first node (``estimate_bytes``; empty when there is none to dump) and
    ``settings`` the stated times: ``stop_seconds``, ``start_seconds``, ``task_seconds``, ``live_window_seconds``;
    ``restarts`` each node's restart history in the same order (lk_node_info's ``restarts``: ``stops`` and ``starts``,
    each a list of ``{'utc', 'seconds'}``; an empty dict, or none at all, for a node without one).

    A node's stop (start) is the longest of its measured stops (starts), else the stated ``stop_seconds``
    (``start_seconds``). The nodes stop together: the stop part is the longest node's; the first node starts alone,
    then the others together: ``start_first`` is the first node's start, ``start_rest`` the longest of the others'.

    Returns ``window_seconds``, ``parts`` (``stop``, ``backup``, ``live_window``, ``task``, ``start_first``,
    ``start_rest``), ``task`` (the offline task's name), ``backup_nodes`` (each node's home backup seconds, None when
    unknown), ``backend_seconds``, ``unmeasured`` (the nodes whose backup could not be forecast), ``nodes`` (each
    node's ``stop`` and ``start`` seconds, their sources ``stop_source`` and ``start_source``, measured or stated,
    and ``stop_measured`` and ``start_measured``, how many restarts measured them) and ``text`` (one line).
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
    histories = dict(zip(hosts, list(restarts or []) + [{}] * len(hosts)))
    settings = settings or {}
    stated_stop = _number(settings.get('stop_seconds')) or 0.0
    stated_start = _number(settings.get('start_seconds')) or 0.0
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
    nodes = dict((host, node_times(histories[host], stated_stop, stated_start)) for host in hosts)
    first = [nodes[host] for host in hosts[:1]]
    others = [nodes[host] for host in hosts[1:]]
    stop = max([times['stop'] for times in nodes.values()] or [stated_stop])
    start_first = first[0]['start'] if first else stated_start
    parts = {
        'stop': stop,
        'backup': backup,
        'live_window': live_window,
        'task': task,
        'start_first': start_first,
        'start_rest': max(times['start'] for times in others) if others else 0.0,
    }
    window = stop + max(backup, live_window) + task + parts['start_first'] + parts['start_rest']
    text = ('%.0f s = stop %.0f (%s) + max(backup %.0f, live window %.0f) + %s %.0f + start of the first node %.0f (%s)'
            % (window, stop, _source(list(nodes.values()) or [node_times({}, stated_stop, stated_start)], 'stop'),
               backup, live_window, TASKS[job], task, start_first,
               _source(first or [node_times({}, stated_stop, stated_start)], 'start')))
    if others:
        text += ' + start of the others %.0f (%s)' % (parts['start_rest'], _source(others, 'start'))
    if unmeasured or backend_seconds is None:
        text += ' (backup not measured on %s: counted as 0)' % ', '.join(unmeasured + (['the backend'] if backend_seconds is None else []))
    return {
        'window_seconds': window,
        'parts': parts,
        'task': TASKS[job],
        'backup_nodes': backup_nodes,
        'backend_seconds': backend_seconds,
        'unmeasured': unmeasured,
        'nodes': nodes,
        'text': text,
    }


def forecast_error(forecast, actual_seconds):
    """How far the forecast was from the actual window, as a fraction of the actual (0.1 = 10 %); None when unknown."""
    actual = _number(actual_seconds)
    if not forecast or not actual:
        return None
    return (forecast['window_seconds'] - actual) / actual
