# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters lookerops.encryption.fan_out_async, backup_async, fan_out_result, node_start_result, any_was_running,
round_spread, stop_gate, gate_delay, peer_alive_url, start_gate_plan, start_gate_started, start_gate_launched and last_down_by: a node
task on every node at once."""

from __future__ import annotations

from ansible_collections.lookerops.encryption.plugins.plugin_utils._fan_out import (
    any_was_running, backup_async, fan_out_async, fan_out_result, last_down_by, node_start_result, start_gate_started,
)
from ansible_collections.lookerops.encryption.plugins.plugin_utils._gate import gate_delay, probe_spread, stop_gate
from ansible_collections.lookerops.encryption.plugins.plugin_utils._start_gate import peer_alive_url, start_gate_launched, start_gate_plan


class FilterModule:
    """lookerops.encryption fan-out of node tasks beyond forks."""

    def filters(self):
        return {'fan_out_async': fan_out_async, 'backup_async': backup_async, 'fan_out_result': fan_out_result,
                'node_start_result': node_start_result, 'any_was_running': any_was_running,
                'stop_gate': stop_gate, 'gate_delay': gate_delay, 'round_spread': probe_spread, 'peer_alive_url': peer_alive_url,
                'start_gate_plan': start_gate_plan, 'start_gate_started': start_gate_started,
                'start_gate_launched': start_gate_launched, 'last_down_by': last_down_by}
