# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of lookerops.encryption for the decisions of a rekey; the decisions live in plugins/plugin_utils/."""

from __future__ import annotations

from ansible_collections.lookerops.encryption.plugins.module_utils._cluster_names import next_escrow_path
from ansible_collections.lookerops.encryption.plugins.module_utils._escrow_files import retired_path
from ansible_collections.lookerops.encryption.plugins.plugin_utils._escrow_placement import escrow_placement
from ansible_collections.lookerops.encryption.plugins.plugin_utils._rekey_plan import rekey_plan


class FilterModule:
    """rekey_plan: the plan of a rekey; escrow_placement: the escrows that would not outlive an AWX job;
    retired_escrow_path: where the escrow of a retired local key is kept beside the escrow in force;
    next_escrow_path: where a rekey escrows its new local key until the key is in force."""

    def filters(self):
        return {'rekey_plan': rekey_plan, 'escrow_placement': escrow_placement, 'retired_escrow_path': retired_path,
                'next_escrow_path': next_escrow_path}
