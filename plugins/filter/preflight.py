# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of lookerops.encryption for preflight's decisions; the decisions live in plugins/plugin_utils/."""

from __future__ import annotations

from ansible_collections.lookerops.encryption.plugins.module_utils._cluster_names import rekey_state_path
from ansible_collections.lookerops.encryption.plugins.plugin_utils._preflight_facts import carries_gcm_marker
from ansible_collections.lookerops.encryption.plugins.plugin_utils._preflight_plan import cluster_problems, key_plan, node_problems
from ansible_collections.lookerops.encryption.plugins.plugin_utils._preflight_record import (
    backend_plan,
    backend_record,
    cluster_names,
    run_opening,
    run_summary,
)


class FilterModule:
    """run_opening, cluster_names, key_plan, node_problems, cluster_problems, backend_record, backend_plan, run_summary:
    preflight's decisions, each from one dict of gathered facts; carries_gcm_marker: whether a node was migrated;
    rekey_state_path: where a rekey keeps its state, beside the Looker home."""

    def filters(self):
        return {'run_opening': run_opening, 'cluster_names': cluster_names, 'key_plan': key_plan, 'node_problems': node_problems,
                'cluster_problems': cluster_problems, 'backend_record': backend_record, 'backend_plan': backend_plan,
                'run_summary': run_summary, 'carries_gcm_marker': carries_gcm_marker, 'rekey_state_path': rekey_state_path}
