# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters lookerops.encryption.run_report and node_stop_text: the report of a run for the change record (HTML and plain text)."""

from __future__ import annotations

from ansible_collections.lookerops.encryption.plugins.plugin_utils._report import node_stop_text, run_report


class FilterModule:
    """lookerops.encryption run report."""

    def filters(self):
        return {'run_report': run_report, 'node_stop_text': node_stop_text}
