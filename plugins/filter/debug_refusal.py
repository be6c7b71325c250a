# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter lookerops.encryption.debug_refusal: why a run must not go on with Ansible's debug output on ('' when it may)."""

from __future__ import annotations

from ansible_collections.lookerops.encryption.plugins.plugin_utils._run_guards import debug_refusal as _debug_refusal


def debug_refusal(debug_setting, what='this run'):
    return _debug_refusal(debug_setting, what) or ''


class FilterModule:
    """lookerops.encryption run guards."""

    def filters(self):
        return {'debug_refusal': debug_refusal}
