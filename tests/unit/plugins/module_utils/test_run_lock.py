# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster-wide run lock: taken once, reported by name, never overridden."""

from __future__ import annotations

import json

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils import _run_lock as rl


def test_take_find_ours_release(tmp_path):
    path = str(tmp_path / 'run.lock')
    first = rl.acquire(path, 'run-a', 'alice@laptop')
    assert first['changed'] is True and first['lock']['run_id'] == 'run-a'
    assert rl.acquire(path, 'run-a', 'alice@laptop')['changed'] is False  # a resume finds its own lock
    assert rl.release(path, 'run-a')['changed'] is True
    assert rl.read_lock(path) is None


def test_another_run_is_named_and_never_overridden(tmp_path):
    path = str(tmp_path / 'run.lock')
    rl.acquire(path, 'run-a', 'alice@laptop')
    with open(path, encoding='utf-8') as handle:
        held = handle.read()
    with pytest.raises(rl.RunLockError) as excinfo:
        rl.acquire(path, 'run-b', 'bob@awx')
    assert 'run-a' in str(excinfo.value) and 'alice@laptop' in str(excinfo.value) and 'lookerops_run_id=run-a' in str(excinfo.value)
    assert rl.release(path, 'run-b')['changed'] is False  # bob's run never removes alice's lock
    with open(path, encoding='utf-8') as handle:
        assert handle.read() == held


def test_check_mode_writes_nothing(tmp_path):
    path = str(tmp_path / 'run.lock')
    assert rl.acquire(path, 'run-a', 'x', check_mode=True)['changed'] is True
    assert rl.read_lock(path) is None


def test_unreadable_lock_is_still_a_lock(tmp_path):
    path = tmp_path / 'run.lock'
    path.write_text('not json')
    with pytest.raises(rl.RunLockError):
        rl.acquire(str(path), 'run-a', 'x')
    assert path.read_text() == 'not json'


def test_lock_content_is_json(tmp_path):
    path = str(tmp_path / 'run.lock')
    rl.acquire(path, 'run-a', 'alice@laptop')
    with open(path, encoding='utf-8') as handle:
        data = json.load(handle)
    assert set(data) == {'run_id', 'controller', 'taken'}
