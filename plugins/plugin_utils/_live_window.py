# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption (controller side): how long Looker's offline task waits before its first try.

Not a public API. Looker refuses migrate_encryption and rekey while it counts other nodes as live, and its error says
only: "If Looker was shutdown within the last minute, try again shortly". Its own rule is not documented. So the first
attempt waits for what remains of that minute after the stop round proved the last running node down, then the task
retries only while Looker still answers that nodes are live. When no node was running at the stop (a resumed run),
nothing this run did opened a window: the first attempt goes at once.
"""

from __future__ import annotations

LIVE_WINDOW_SECONDS = 60.0


class LiveWindowError(ValueError):
    """The stop record or the window given is not usable."""


def live_window_wait(stop, live_window=LIVE_WINDOW_SECONDS, now=None):
    """Seconds to wait before the first attempt, from the stop phase of the run record (``last_down_by``, epoch seconds
    on the controller by which the last running node was down, when known, else ``stopped_at``, when the stop task
    ended; and ``any_was_running``)."""
    try:
        window = float(live_window)
    except (TypeError, ValueError):
        raise LiveWindowError('the live window must be a number of seconds, not %r' % (live_window,)) from None
    if window < 0:
        raise LiveWindowError('the live window must not be negative (%s)' % window)
    stop = stop or {}
    # The latest moment each running node's stop came back (last_down_by) bounds the last stop more tightly than the end
    # of the whole stop task (stopped_at); both are upper bounds, so the first attempt never goes early.
    down = stop.get('last_down_by')
    if down is None:
        down = stop.get('stopped_at')
    if not stop.get('any_was_running') or down is None:
        return 0.0
    if now is None:
        raise LiveWindowError('now (epoch seconds on the controller) is required')
    return round(max(0.0, float(down) + window - float(now)), 3)
