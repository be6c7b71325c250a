# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption (controller side): a node task run on every node at once.

Not a public API. Exposed to the playbooks as the filters ``lookerops.encryption.fan_out_async``,
``lookerops.encryption.backup_async``,
``lookerops.encryption.fan_out_result``, ``lookerops.encryption.node_start_result``,
``lookerops.encryption.start_gate_started``, ``lookerops.encryption.any_was_running`` and
``lookerops.encryption.last_down_by``. With more nodes than Ansible's
forks, a plain task runs in one batch of forks after the other; launched with ``async`` and ``poll: 0`` it is dispatched
to every node in one round, and ``lk_job_wait`` then waits for each node's result. The stop and start roles use it.
"""

from __future__ import annotations

# Seconds an async job may outlive the task's own timeout before Ansible's async wrapper ends it: the module's own
# timeout always answers first, with its own message.
ASYNC_MARGIN = 120


def _positive(value):
    try:
        return float(value) > 0
    except (TypeError, ValueError):
        return False


def fan_out_async(timeout, hosts, forks, check_mode=False, enabled=True, progress_interval=None):
    """Seconds of ``async`` for a node task whose own timeout is ``timeout``; 0 (a plain task) unless it must fan out.

    The task fans out when the play has more nodes (``hosts``) than forks, or whatever the forks when it is a long job whose
    progress is shown while it runs (``progress_interval`` above 0: lk_job_wait prints a line that often); never in check
    mode (an async task reports nothing useful there) or when fanning out is turned off (``enabled``, the role's parallel
    setting).
    """
    if check_mode or not enabled:
        return 0
    if int(hosts) <= int(forks) and not _positive(progress_interval):
        return 0
    return int(timeout) + ASYNC_MARGIN


def _expected_backup_seconds(forecast, node):
    """The forecast's seconds for the home backup of ``node``, or for the backend dump when ``node`` is None; None when
    the forecast could not say (no forecast, a node not measured)."""
    if not isinstance(forecast, dict):
        return None
    seconds = forecast.get('backend_seconds') if node is None else (forecast.get('backup_nodes') or {}).get(node)
    try:
        return float(seconds)
    except (TypeError, ValueError):
        return None


def backup_async(timeout, forecast, node, hosts, forks, check_mode=False, progress_interval=None):
    """Seconds of ``async`` for a backup (a home's when ``node`` names it, the backend dump's when it is None), 0 for a
    plain task.

    A backup fans out beyond forks as any node task does; it also runs async, so that lk_job_wait prints its progress,
    when the downtime forecast expects it to outlast one ``progress_interval`` or could not forecast it. A backup expected
    to end before the first line would be printed runs as a plain task: the async launch costs more than it shows.
    """
    expected = _expected_backup_seconds(forecast, node)
    shows_progress = _positive(progress_interval) and (expected is None or expected > float(progress_interval))
    return fan_out_async(timeout, hosts, forks, check_mode, progress_interval=progress_interval if shows_progress else None)


def _ran(result):
    return isinstance(result, dict) and bool(result) and not result.get('skipped')


def fan_out_result(launch, waited=None, empty_when_skipped=False):
    """One node's result of a task that may have fanned out: the wait's result when it ran, else the task's own (an empty
    dict instead of a skipped task's result when ``empty_when_skipped``)."""
    if _ran(waited):
        return waited
    if not isinstance(launch, dict) or (empty_when_skipped and not _ran(launch)):
        return {}
    return launch


def start_gate_started(waited):
    """Whether a node's start at the start gate (lk_start with ``after_url``) brought it up, from its lk_job_wait result:
    False when it was not launched, was cancelled, failed or could not be waited for; the node is then started the
    usual way."""
    return (_ran(waited) and not waited.get('failed') and not waited.get('unreachable') and not waited.get('cancelled')
            and waited.get('alive_after_seconds') is not None)


def node_start_result(first, launch, waited=None, is_first=False, gated=None):
    """One node's start result: the first node's own start (``first``) when this is the first node; else its start at
    the start gate (``gated``, its lk_job_wait result) when that brought it up; else the start of the others, which may
    have fanned out (``launch`` and ``waited``, as in :func:`fan_out_result`)."""
    if is_first:
        return first if _ran(first) else {}
    if start_gate_started(gated):
        return gated
    return fan_out_result(launch, waited)


def any_was_running(launches, waits):
    """Whether any node's stop (``launches`` and ``waits``, one entry per node, in the same order) found Looker running."""
    waits = list(waits or [])
    waits += [{}] * (len(launches or []) - len(waits))
    return any(fan_out_result(launch, waited).get('was_running') for launch, waited in zip(launches or [], waits))


def last_down_by(launches, waits):
    """When the last node that was running was down at the latest: the latest ``returned_at`` (the controller's clock,
    noted when each node's stop result came back: by lk_stop_cluster's action plugin, or by lk_job_wait's for a stop
    launched with async) over the nodes whose stop found Looker running. None when no node was running, or when any such
    node's result has no ``returned_at``: the stop's end as the controller noted it after the whole task then stands."""
    waits = list(waits or [])
    waits += [{}] * (len(launches or []) - len(waits))
    latest = None
    for launch, waited in zip(launches or [], waits):
        result = fan_out_result(launch, waited)
        if not result.get('was_running'):
            continue
        try:
            returned = float(result['returned_at'])
        except (KeyError, TypeError, ValueError):
            return None
        latest = returned if latest is None else max(latest, returned)
    return latest
