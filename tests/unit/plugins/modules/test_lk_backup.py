# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the lk_backup and lk_restore modules (argument handling, results, failures)."""

from __future__ import annotations

import collections
import os

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils._backup import space as backup_space
from ansible_collections.lookerops.encryption.plugins.modules import lk_backup, lk_restore
from ansible_collections.lookerops.encryption.tests.unit.plugins.modules.utils import run_main


def _run(module, args, monkeypatch, check_mode=False):
    return run_main(module, args, monkeypatch, check_mode=check_mode, diff=True)


@pytest.fixture(name='home')
def home_fixture(tmp_path):
    home = tmp_path / 'src' / 'looker'
    (home / 'log').mkdir(parents=True)
    (home / 'log' / 'looker.log').write_bytes(b'log')
    (home / 'looker.jar').write_bytes(b'jar')
    (home / '.db').mkdir()
    (home / '.db' / 'looker.script').write_bytes(b'INSERT INTO x VALUES (1)\n' * 100)
    (home / 'lookerstart.cfg').write_bytes(b'LOOKERARGS=""\n')
    return str(home)


def test_backup_home_check_apply_rerun(home, tmp_path, monkeypatch):
    dest = str(tmp_path / 'dest')
    args = {'what': 'home', 'looker_home': home, 'dest_dir': dest, 'backup_id': 'b1', 'name': 'n1'}
    res = _run(lk_backup, args, monkeypatch, check_mode=True)
    assert res['changed'] and not res['verified'] and not os.path.exists(dest)
    assert res['estimate_bytes'] > 0 and res['free_bytes'] > 0
    res = _run(lk_backup, args, monkeypatch)
    assert res['changed'] and res['verified'] and res['files'] == 2
    assert res['diff']['after']['sha256'] == res['sha256']
    res2 = _run(lk_backup, args, monkeypatch, check_mode=True)
    assert not res2['changed']
    res2 = _run(lk_backup, args, monkeypatch)
    assert not res2['changed'] and res2['sha256'] == res['sha256'] and 'diff' not in res2


def test_backup_free_space_failure(home, tmp_path, monkeypatch):
    fake = collections.namedtuple('statvfs', 'f_bavail f_frsize')
    monkeypatch.setattr(backup_space.os, 'statvfs', lambda path: fake(1, 4096))
    res = _run(lk_backup, {'what': 'home', 'looker_home': home, 'dest_dir': str(tmp_path / 'd'), 'backup_id': 'b1'}, monkeypatch)
    assert res['failed'] and 'not enough free space' in res['msg'] and '4096 bytes free' in res['msg']


def test_backup_backend_requires_backend_option(tmp_path, monkeypatch):
    res = _run(lk_backup, {'what': 'backend', 'dest_dir': str(tmp_path), 'backup_id': 'b1'}, monkeypatch)
    assert res['failed'] and 'backend' in res['msg']


def test_backup_backend_unreachable_message(tmp_path, monkeypatch):
    res = _run(lk_backup, {'what': 'backend', 'dest_dir': str(tmp_path), 'backup_id': 'b1',
                           'backend': {'host': '127.0.0.1', 'port': 1, 'user': 'looker', 'password': 'pw-secret'}}, monkeypatch)
    assert res['failed'] and '127.0.0.1:1' in res['msg'] and '2003' in res['msg'] and 'pw-secret' not in res['msg']


def test_restore_home_roundtrip_and_keep_replaced(home, tmp_path, monkeypatch):
    res = _run(lk_backup, {'what': 'home', 'looker_home': home, 'dest_dir': str(tmp_path / 'd'), 'backup_id': 'b1', 'name': 'n'},
               monkeypatch)
    with open(os.path.join(home, 'lookerstart.cfg'), 'wb') as handle:
        handle.write(b'broken\n')
    out = _run(lk_restore, {'what': 'home', 'backup_path': res['path'], 'looker_home': home, 'keep_replaced': False}, monkeypatch)
    assert out['failed'] and 'never deletes' in out['msg']
    out = _run(lk_restore, {'what': 'home', 'backup_path': res['path'], 'looker_home': home}, monkeypatch, check_mode=True)
    assert out['changed'] and os.path.exists(home) and not os.path.exists(out['moved_aside'])
    out = _run(lk_restore, {'what': 'home', 'backup_path': res['path'], 'looker_home': home}, monkeypatch)
    assert out['changed'] and os.path.isdir(out['moved_aside'])
    with open(os.path.join(home, 'lookerstart.cfg'), 'rb') as handle:
        assert handle.read() == b'LOOKERARGS=""\n'
    assert sorted(out['kept_in_place']) == ['log', 'looker.jar']


def test_restore_missing_manifest(home, tmp_path, monkeypatch):
    res = _run(lk_backup, {'what': 'home', 'looker_home': home, 'dest_dir': str(tmp_path / 'd'), 'backup_id': 'b1', 'name': 'n'},
               monkeypatch)
    os.unlink(res['manifest_path'])
    out = _run(lk_restore, {'what': 'home', 'backup_path': res['path'], 'looker_home': home}, monkeypatch)
    assert out['failed'] and 'manifest' in out['msg']
