# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lk_cmk and lk_node_env remove the temp files an interrupted write of their file left, and say so (without the key)."""

from __future__ import annotations

import base64
import os
import pwd

from ansible.module_utils import basic

from ansible_collections.lookerops.encryption.plugins.module_utils._files import AtomicFile
from ansible_collections.lookerops.encryption.plugins.modules import lk_cmk, lk_node_env
from ansible_collections.lookerops.encryption.tests.unit.plugins.modules.utils import run_main_json

KEY = base64.b64encode(bytes(range(32))).decode()
OWNER = pwd.getpwuid(os.getuid()).pw_name


def leftover(dest, data):
    """The temp file of an atomic write of ``dest`` whose process died before the rename."""
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    handle = AtomicFile(dest)
    handle.__enter__()
    handle.file.write(data)
    handle.file.close()
    return handle.tmp_path


def test_lk_cmk_removes_and_reports(tmp_path, capsys, monkeypatch):
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, msg: warnings.append(msg))
    path = str(tmp_path / 'keys' / 'cmk.key')
    stale = leftover(path, KEY.encode())
    check = run_main_json(lk_cmk, capsys, {'path': path, 'owner': OWNER, 'key': KEY, '_ansible_check_mode': True}, secrets=(KEY,))
    assert check['stale_temp_files_removed'] == [stale] and os.path.exists(stale)
    assert len(warnings) == 1 and warnings.pop().startswith('Would remove 1 temporary file')
    result = run_main_json(lk_cmk, capsys, {'path': path, 'owner': OWNER, 'key': KEY}, secrets=(KEY,))
    assert result['stale_temp_files_removed'] == [stale] and not os.path.exists(stale)
    assert len(warnings) == 1 and warnings[0].startswith('Removed 1 temporary file') and stale in warnings.pop()
    again = run_main_json(lk_cmk, capsys, {'path': path, 'owner': OWNER, 'key': KEY}, secrets=(KEY,))
    assert again['changed'] is False and again['stale_temp_files_removed'] == [] and warnings == []


def test_lk_node_env_removes_and_reports(tmp_path, capsys):
    home = tmp_path / 'looker'
    home.mkdir()
    stale = leftover(str(home / 'lookerstart.cfg'), ("export LKR_MASTER_KEY_ENV='%s'\n" % KEY).encode())
    args = {'looker_home': str(home), 'owner': OWNER, 'mode': 'key_env', 'key': KEY}
    run_main_json(lk_node_env, capsys, args, secrets=(KEY,))
    assert not os.path.exists(stale)
    stale = leftover(str(home / 'lookerstart.cfg'), b'x')
    result = run_main_json(lk_node_env, capsys, args, secrets=(KEY,))
    assert result['changed'] is True and result['stale_temp_files_removed'] == [stale]
    assert os.listdir(str(home)) == ['lookerstart.cfg']
