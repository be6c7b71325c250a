# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter lookerops.encryption.service_restore: whether a failed run gives service back by itself, and why."""

from __future__ import annotations

from ansible_collections.lookerops.encryption.plugins.plugin_utils._service_restore import service_restore


class FilterModule:
    """lookerops.encryption failure handling."""

    def filters(self):
        return {'service_restore': service_restore}
