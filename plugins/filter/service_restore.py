# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of a failed run's service restore: whether it gives service back (service_restore), and how
(restore_service_plan, restore_service_env_failed, restore_service_outcome)."""

from __future__ import annotations

from ansible_collections.lookerops.encryption.plugins.plugin_utils._service_restore import (
    restore_service_env_failed,
    restore_service_outcome,
    restore_service_plan,
    service_restore,
    service_state_line,
)


class FilterModule:
    """lookerops.encryption failure handling."""

    def filters(self):
        return {
            'service_restore': service_restore,
            'service_state_line': service_state_line,
            'restore_service_plan': restore_service_plan,
            'restore_service_env_failed': restore_service_env_failed,
            'restore_service_outcome': restore_service_outcome,
        }
