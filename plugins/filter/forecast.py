# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters lookerops.encryption.downtime_forecast and forecast_error: the downtime forecast and how far off it was."""

from __future__ import annotations

from ansible_collections.lookerops.encryption.plugins.plugin_utils._forecast import downtime_forecast, forecast_error


class FilterModule:
    """lookerops.encryption downtime forecast."""

    def filters(self):
        return {'downtime_forecast': downtime_forecast, 'forecast_error': forecast_error}
