# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter lookerops.encryption.api_proof: Looker's connection tests before the stop against those after the start."""

from __future__ import annotations

from ansible_collections.lookerops.encryption.plugins.plugin_utils._api_proof import (
    api_check_lines, api_proof, api_proof_due, api_proof_result, api_proof_text,
)


class FilterModule:
    """lookerops.encryption proof through Looker's API."""

    def filters(self):
        return {'api_proof': api_proof, 'api_proof_result': api_proof_result, 'api_check_lines': api_check_lines,
                'api_proof_due': api_proof_due, 'api_proof_text': api_proof_text}
