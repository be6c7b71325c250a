# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: names that become parts of paths. Not a public API.

A run id names the backup directory (``<backup_dir>/<run id>``), an inventory host name names the node's
home archive (``<name>-looker-home.tar.gz``). Either is one path component: letters, digits, ``_``, ``.``
and ``-``, never ``.`` or ``..`` alone (they name the directory itself or its parent). Standard library only.
"""

from __future__ import annotations

import re

SAFE_NAME_RE = re.compile(r'^[A-Za-z0-9_.-]+$')
MAX_NAME_LENGTH = 200


def name_problem(value, what):
    """Why ``value`` cannot be one path component (a sentence naming ``what``), or None when it can."""
    if not isinstance(value, str) or not value:
        return '%s is empty; it becomes a directory or file name' % what
    if len(value) > MAX_NAME_LENGTH:
        return '%s %r is longer than %d characters; it becomes a directory or file name' % (what, value[:40] + '...', MAX_NAME_LENGTH)
    if not SAFE_NAME_RE.match(value):
        return '%s %r may only hold letters, digits, "_", "." and "-"; it becomes a directory or file name' % (what, value)
    if value in ('.', '..'):
        return '%s %r names a directory itself or its parent, not a directory of its own; choose another' % (what, value)
    return None


def check_name(value, what, error=ValueError):
    """Raise ``error`` with the reason when ``value`` cannot be one path component; return it otherwise."""
    problem = name_problem(value, what)
    if problem is not None:
        raise error(problem)
    return value
