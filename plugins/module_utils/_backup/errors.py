# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the error of the backups and restores.

This is not a public API; it may change without notice.
"""

from __future__ import annotations

import errno


class BackupError(Exception):
    """An operator-facing failure (message says what is wrong and what to do)."""


def is_enospc(exc):
    return isinstance(exc, OSError) and exc.errno == errno.ENOSPC
