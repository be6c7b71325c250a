# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption (controller side): the stop gate, one instant at which every node stops.

Not a public API. Exposed to the playbooks as the filters ``lookerops.encryption.round_spread`` (preflight),
``lookerops.encryption.stop_gate`` and ``lookerops.encryption.gate_delay`` (the stop role).

The controller reaches the nodes of a task one after the other: on a 2-core controller with 30 nodes the last node's
stop began 9 s after the first one's, and those 9 s were downtime (the first node was down, the last one still ran).
Instead, every node's stop is given the same instant, far enough ahead for the controller to reach the last node: the
nodes keep serving until then and stop together.

How far ahead comes from a measurement, never a guess: preflight's no-op round to every node (lk_transport_probe) notes
when the controller reached each node, and the spread of those times is how long a round to every node takes. A gate
that turns out too early costs what the stop cost before (a late node stops when reached); one too late costs only run
time, while Looker still serves.
"""

from __future__ import annotations

import math

# A round to every node may take longer than the no-op did (a bigger module, async launch beyond forks): twice the
# measured spread, plus a second for the controller's own tasks before the stop.
SPREAD_FACTOR = 2.0
MARGIN_SECONDS = 1.0
# Never keep a cluster waiting longer than this for its stop, whatever was measured.
MAX_AHEAD_SECONDS = 120.0


def _float(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number  # NaN is no measurement


def probe_spread(probe_results):
    """Seconds between the first and the last node the controller reached in preflight's no-op round, from the
    ``dispatched_at`` of each node's registered lk_transport_probe result; None without two nodes that answered."""
    times = []
    for result in probe_results or []:
        if isinstance(result, dict) and not result.get('failed') and not result.get('skipped'):
            stamp = _float(result.get('dispatched_at'))
            if stamp is not None:
                times.append(stamp)
    if len(times) < 2:
        return None
    return max(times) - min(times)


def stop_gate(now, spread, check_mode=False):
    """The stop gate: ``{'at': epoch seconds, 'ahead': seconds after now, 'spread': the measured spread or None}``.

    ``spread`` is preflight's measured round (:func:`probe_spread`, kept in the run record as ``round_spread``). ``at`` is
    ``now`` (no gate: each node stops when reached) in check mode, when preflight measured no round (the stop role run
    on its own, a single node) or the round took no time.
    """
    now = float(now)
    spread = _float(spread)
    if check_mode or spread is None or spread <= 0:
        return {'at': now, 'ahead': 0.0, 'spread': spread}
    ahead = min(MAX_AHEAD_SECONDS, round(SPREAD_FACTOR * spread + MARGIN_SECONDS, 3))
    return {'at': now + ahead, 'ahead': ahead, 'spread': round(spread, 3)}


def gate_delay(gate_at, now):
    """Seconds a node reached at ``now`` waits for the gate ``gate_at`` (0 once it has passed or without a gate)."""
    gate_at = _float(gate_at)
    if gate_at is None:
        return 0.0
    return round(max(0.0, min(MAX_AHEAD_SECONDS, gate_at - float(now))), 3)
