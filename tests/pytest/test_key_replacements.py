# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every task that may replace a key file names the key it replaces (lk_cmk refuses a replacement otherwise, and a
rollback of a rekey failed that way with every node down). Reads the roles; no bed."""

from __future__ import annotations

import glob
import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _tasks(node):
    if isinstance(node, list):
        for item in node:
            yield from _tasks(item)
    elif isinstance(node, dict):
        yield node
        for key in ('block', 'rescue', 'always'):
            yield from _tasks(node.get(key) or [])


def test_every_key_file_replacement_names_the_key_it_replaces():
    replacing = []
    for path in sorted(glob.glob(os.path.join(ROOT, 'roles', '*', 'tasks', '*.yml'))):
        with open(path, encoding='utf-8') as handle:
            for task in _tasks(yaml.safe_load(handle) or []):
                args = task.get('lookerops.encryption.lk_cmk')
                if isinstance(args, dict) and args.get('on_different_key') == 'replace':
                    replacing.append(os.path.relpath(path, ROOT))
                    assert args.get('replace_kcv'), '%s: "%s" replaces a key file without replace_kcv' % (
                        os.path.relpath(path, ROOT), task.get('name'))
    # the rollback of a rekey and the check its preflight runs before anything is restored
    assert 'roles/rekey/tasks/rollback.yml' in replacing and 'roles/restore/tasks/check.yml' in replacing
