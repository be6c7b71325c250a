# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster-wide run lock: taken once, reported by name, never overridden."""

from __future__ import annotations

import json
import os

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


# --- the holder: one ansible-playbook process of one controller ------------------------------------------------

ME = {'host': 'ctl-a', 'pid': 4242, 'started': 1733300000.25}
OTHER_CONTROLLER = {'host': 'ctl-b', 'pid': 4242, 'started': 1733300000.25}


def test_the_same_holder_finds_its_lock_its_own(tmp_path):
    path = str(tmp_path / 'run.lock')
    assert rl.acquire(path, 'run-a', 'alice@ctl-a', holder=ME)['changed'] is True
    again = rl.acquire(path, 'run-a', 'alice@ctl-a', holder=dict(ME))
    assert again['changed'] is False and again['ours'] and again['lock']['holder'] == ME


def test_a_second_controller_with_the_same_run_id_is_refused_while_the_first_may_live(tmp_path):
    path = str(tmp_path / 'run.lock')
    rl.acquire(path, 'run-a', 'alice@ctl-a', holder=ME)
    with pytest.raises(rl.RunLockError) as excinfo:
        rl.acquire(path, 'run-a', 'bob@ctl-b', holder=OTHER_CONTROLLER)
    assert excinfo.value.result['held_same_run'] is True and excinfo.value.result['lock']['holder'] == ME
    assert 'ansible-playbook pid 4242 on ctl-a' in str(excinfo.value) and 'even with the same run id' in str(excinfo.value)
    assert rl.read_lock(path)['holder'] == ME
    assert rl.release(path, 'run-a', holder=OTHER_CONTROLLER)['changed'] is False  # never removes the first one's lock
    assert rl.read_lock(path)['holder'] == ME


def test_a_second_process_on_the_same_controller_is_refused_too(tmp_path):
    path = str(tmp_path / 'run.lock')
    rl.acquire(path, 'run-a', 'alice@ctl-a', holder=ME)
    with pytest.raises(rl.RunLockError):
        rl.acquire(path, 'run-a', 'alice@ctl-a', holder=dict(ME, pid=4243))


def test_another_run_id_is_refused_whoever_holds_it(tmp_path):
    path = str(tmp_path / 'run.lock')
    rl.acquire(path, 'run-a', 'alice@ctl-a', holder=ME)
    with pytest.raises(rl.RunLockError) as excinfo:
        rl.acquire(path, 'run-b', 'alice@ctl-a', holder=ME, takeover_of=ME)
    assert excinfo.value.result['held_same_run'] is False
    assert rl.read_lock(path)['run_id'] == 'run-a'


def test_a_dead_holders_lock_is_taken_over_by_a_resume_of_the_same_run(tmp_path):
    path = str(tmp_path / 'run.lock')
    rl.acquire(path, 'run-a', 'alice@ctl-a', holder=ME)
    resumed = dict(ME, pid=5000, started=1733309999.0)
    out = rl.acquire(path, 'run-a', 'alice@ctl-a', holder=resumed, takeover_of=ME)
    assert out['changed'] and out['took_over'] and rl.read_lock(path)['holder'] == resumed
    assert not [n for n in os.listdir(str(tmp_path)) if 'takeover' in n]
    # the takeover names the holder it found dead: a lock that changed since is not replaced
    with pytest.raises(rl.RunLockError):
        rl.acquire(path, 'run-a', 'alice@ctl-a', holder=dict(ME, pid=6000), takeover_of=ME)
    assert rl.read_lock(path)['holder'] == resumed
    assert rl.release(path, 'run-a', holder=resumed)['changed'] is True


def test_a_lock_without_a_holder_is_taken_over_by_its_own_run_id(tmp_path):
    path = str(tmp_path / 'run.lock')
    rl.acquire(path, 'run-a', 'alice@ctl-a')  # written before holders were recorded
    out = rl.acquire(path, 'run-a', 'alice@ctl-a', holder=ME)
    assert out['took_over'] and rl.read_lock(path)['holder'] == ME


@pytest.mark.parametrize('holder, started, alive', [
    (ME, ME['started'], True),                      # the same process, still running
    (ME, ME['started'] + 100, False),               # the pid was reused by a later process
    (ME, None, False),                              # the pid is gone
    (OTHER_CONTROLLER, ME['started'], None),        # another controller: nothing here can tell
    (None, ME['started'], None),
    (dict(ME, pid='x'), ME['started'], False),
])
def test_holder_alive(holder, started, alive):
    assert rl.holder_alive(holder, {'host': 'ctl-a'}, lambda pid: started) is alive
