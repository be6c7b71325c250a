# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to lookerops.encryption; not a public API.

What the controller side of lk_job_wait and of the offline tasks (lk_migrate_encryption, lk_rekey) decides while a long
phase runs: how long the next wait on the node lasts, and the line printed between two waits, so that a backup of many
GB or Looker's live window shows in the output as it happens, not only when it ends.
"""

from __future__ import annotations

import math

from ansible_collections.lookerops.encryption.plugins.module_utils._progress import progress_text

DEFAULT_INTERVAL = 15.0


def _seconds(value, default):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if number >= 0 else default


def next_wait(timeout, elapsed, interval):
    """The arguments of the next wait on the node, ``(timeout, slice_seconds)``: the whole time that is left, and
    ``slice_seconds`` (return with the job still running after that long) when a progress line is due before then; None
    for ``slice_seconds`` when the next wait is the last (no interval, or less than one interval left)."""
    timeout = _seconds(timeout, 3600.0)
    interval = _seconds(interval, 0.0)
    left = max(0.0, timeout - _seconds(elapsed, 0.0))
    module_timeout = max(1, int(math.ceil(left)))
    if interval <= 0 or left <= interval:
        return module_timeout, None
    return module_timeout, interval


def job_wait_line(host, label, seconds, progress):
    """The line printed while a launched job still runs on ``host``: what it is, for how long it has been waited for and,
    when the job writes its progress, how far it is."""
    seconds = max(0.0, float(seconds))
    text = '%s: %s still running after %s s' % (host, label or 'the job', ('%.1f' % seconds) if seconds < 10 else int(seconds))
    detail = progress_text(progress)
    if detail:
        text += ' (%s)' % detail
    return text


def live_window_line(host, task, left):
    """The line printed while the offline task waits for Looker's live window to end before its first attempt."""
    return ('%s: %s waits for Looker\'s live window after the stop: %d s left (Looker refuses it while it counts a node '
            'stopped within the last minute as live)' % (host, task, int(math.ceil(max(0.0, left)))))


def live_window_waits(delay, interval):
    """The waits, in seconds, that make up a wait of ``delay`` with a line before each: one wait when ``interval`` is 0 or
    more than ``delay``, else ``interval`` each and the rest last. An empty list when there is nothing to wait for."""
    delay = _seconds(delay, 0.0)
    interval = _seconds(interval, 0.0)
    if delay <= 0:
        return []
    if interval <= 0 or interval >= delay:
        return [delay]
    waits = [interval] * int(delay // interval)
    rest = round(delay - interval * len(waits), 3)
    if rest > 0:
        waits.append(rest)
    return waits


def wait_for_live_window(module_args, host, task, check_mode, show, sleep, clock):
    """Wait on the controller for the ``first_attempt_delay`` of an offline task's arguments, showing a line before each
    ``progress_interval`` (``show(line)``), then return the arguments for the module (no delay left, its ``timeout``
    shortened by the wait) and the seconds waited. Check mode waits for nothing: the module only reports there."""
    args = dict(module_args)
    delay = _seconds(args.get('first_attempt_delay'), 0.0)
    if check_mode or delay <= 0:
        return args, 0.0
    timeout = _seconds(args.get('timeout'), 3600.0)
    delay = min(delay, timeout)
    began = clock()
    for wait in live_window_waits(delay, args.get('progress_interval', DEFAULT_INTERVAL)):
        show(live_window_line(host, task, delay - (clock() - began)))
        sleep(wait)
    waited = round(clock() - began, 3)
    args['first_attempt_delay'] = 0
    args['timeout'] = max(1, int(math.ceil(timeout - waited)))
    return args, waited


def add_controller_wait(module_result, waited):
    """The offline task's result with the controller's wait counted, as when the module itself waited: ``waited_seconds``
    (before the first attempt) and ``duration_seconds`` (the whole run) both include it."""
    if waited:
        for key in ('waited_seconds', 'duration_seconds'):
            if isinstance(module_result.get(key), (int, float)):
                module_result[key] = round(module_result[key] + waited, 3)
    return module_result
