# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of _looker/restarts.py: the node's history of the restarts the collection measured (read, add and trim,
atomic 0600 write, what counts as a measurement, never a write in check mode, never a failure of the stop or start).

No Looker process is started here: the history functions are called with the results stop_node and start_node return.
"""

from __future__ import annotations

import json
import os
import pwd
import stat

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils import _files
from ansible_collections.lookerops.encryption.plugins.module_utils._looker import restarts as rs
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.home import RESTARTS_NAME, LookerNodeError


class _Node:
    """What record_stop and record_start use of a LookerNode: the history's path and the Looker user."""

    def __init__(self, home, owner=None):
        self.restarts_file = os.path.join(str(home), RESTARTS_NAME)
        self.runner = self
        self._owner = owner or (lambda: pwd.getpwuid(os.getuid()))

    def user_info(self):
        return self._owner()


def write(path, data):
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(data if isinstance(data, str) else json.dumps(data))


def load(path):
    with open(path, encoding='utf-8') as handle:
        return json.load(handle)


# -- reading ---------------------------------------------------------------------------------------

def test_a_missing_file_is_an_empty_history(tmp_path):
    assert rs.read_history(str(tmp_path / RESTARTS_NAME)) == {'stops': [], 'starts': [], 'error': None}


def test_a_history_reads_back_its_entries(tmp_path):
    path = str(tmp_path / RESTARTS_NAME)
    write(path, {'version': 1, 'stops': [{'utc': '2026-01-01T00:00:00Z', 'seconds': 12.5}],
                 'starts': [{'utc': '2026-01-01T00:01:00Z', 'seconds': 95}]})
    assert rs.read_history(path) == {'stops': [{'utc': '2026-01-01T00:00:00Z', 'seconds': 12.5}],
                                     'starts': [{'utc': '2026-01-01T00:01:00Z', 'seconds': 95.0}], 'error': None}


@pytest.mark.parametrize('case, content, error', [
    ('not JSON', '{"stops": [', 'not JSON'),
    ('a list', '[1, 2]', 'not a JSON object'),
    ('empty', '', 'not JSON'),
    ('binary', '\x00\xff', 'not JSON'),
])
def test_a_malformed_file_is_an_empty_history_with_its_error(tmp_path, case, content, error):
    path = str(tmp_path / RESTARTS_NAME)
    write(path, content)
    history = rs.read_history(path)
    assert history['stops'] == [] and history['starts'] == [], case
    assert error in history['error'], case


def test_malformed_entries_are_left_out(tmp_path):
    path = str(tmp_path / RESTARTS_NAME)
    write(path, {'stops': [{'seconds': -1}, {'seconds': 'x'}, {'seconds': True}, 'x', 3, {'seconds': float('inf')},
                           {'utc': 7, 'seconds': 4}],
                 'starts': {'seconds': 5}})
    history = rs.read_history(path)
    assert history['stops'] == [{'utc': None, 'seconds': 4.0}] and history['starts'] == [] and history['error'] is None


def test_an_unreadable_file_is_an_empty_history_with_its_error(tmp_path):
    path = tmp_path / RESTARTS_NAME
    path.mkdir()  # a directory where the file should be: it cannot be read as one
    history = rs.read_history(str(path))
    assert history['stops'] == [] and 'unreadable' in history['error']


def test_a_symbolic_link_is_not_followed(tmp_path):
    target = tmp_path / 'elsewhere.json'
    write(str(target), {'stops': [{'seconds': 1}]})
    os.symlink(str(target), str(tmp_path / RESTARTS_NAME))
    history = rs.read_history(str(tmp_path / RESTARTS_NAME))
    assert history['stops'] == [] and 'unreadable' in history['error']


def test_an_oversized_file_is_not_read(tmp_path):
    path = str(tmp_path / RESTARTS_NAME)
    write(path, json.dumps({'stops': [{'seconds': 1}], 'pad': 'x' * rs.MAX_BYTES}))
    history = rs.read_history(path)
    assert history['stops'] == [] and 'larger than' in history['error']


# -- adding and trimming ---------------------------------------------------------------------------

def test_add_keeps_the_newest_of_each_kind():
    history = {'stops': [{'utc': 't%d' % i, 'seconds': i} for i in range(rs.KEEP)], 'starts': [{'utc': 's', 'seconds': 9}]}
    new = rs.add_measurement(history, 'stops', 99.1234, 'now')
    assert [e['seconds'] for e in new['stops']] == [1, 2, 3, 4, 99.123]
    assert new['stops'][-1]['utc'] == 'now' and new['starts'] == [{'utc': 's', 'seconds': 9.0}]
    assert history['stops'][0]['seconds'] == 0  # the history given is not changed


@pytest.mark.parametrize('kind, seconds', [('restarts', 1), ('stops', -1), ('stops', None), ('starts', 'soon')])
def test_add_refuses_what_is_not_a_measurement(kind, seconds):
    with pytest.raises(ValueError):
        rs.add_measurement({}, kind, seconds, 'now')


# -- writing ---------------------------------------------------------------------------------------

def test_record_writes_atomically_0600_and_trims(tmp_path):
    path = str(tmp_path / RESTARTS_NAME)
    for seconds in range(1, 8):
        assert rs.record_measurement(path, 'starts', seconds, utc='2026-01-0%dT00:00:00Z' % seconds) is None
    assert rs.record_measurement(path, 'stops', 4.5) is None
    data = load(path)
    assert [e['seconds'] for e in data['starts']] == [3, 4, 5, 6, 7]  # the last 5
    assert data['starts'][-1]['utc'] == '2026-01-07T00:00:00Z'
    assert data['stops'][0]['seconds'] == 4.5 and data['stops'][0]['utc'].endswith('Z')
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(os.listdir(str(tmp_path))) == [RESTARTS_NAME]  # no temp file left behind


def test_record_narrows_an_open_file_to_0600(tmp_path):
    path = str(tmp_path / RESTARTS_NAME)
    write(path, {'stops': [{'seconds': 2}]})
    os.chmod(path, 0o644)
    assert rs.record_measurement(path, 'stops', 3) is None
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and [e['seconds'] for e in load(path)['stops']] == [2, 3]


def test_record_replaces_a_malformed_file(tmp_path):
    path = str(tmp_path / RESTARTS_NAME)
    write(path, 'garbage')
    assert rs.record_measurement(path, 'stops', 3) is None
    assert load(path)['stops'][0]['seconds'] == 3


def test_record_replaces_a_symbolic_link_instead_of_writing_through_it(tmp_path):
    target = tmp_path / 'target'
    write(str(target), 'untouched')
    os.symlink(str(target), str(tmp_path / RESTARTS_NAME))
    assert rs.record_measurement(str(tmp_path / RESTARTS_NAME), 'stops', 3) is None
    assert target.read_text(encoding='utf-8') == 'untouched' and not os.path.islink(str(tmp_path / RESTARTS_NAME))


def test_a_failed_write_leaves_the_old_history_and_no_temp_file(tmp_path, monkeypatch):
    path = str(tmp_path / RESTARTS_NAME)
    assert rs.record_measurement(path, 'stops', 1) is None
    before = load(path)

    def no_rename(src, dst):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(_files.os, 'rename', no_rename)
    warning = rs.record_measurement(path, 'stops', 2)
    assert 'No space left on device' in warning and 'itself succeeded' in warning
    assert load(path) == before and sorted(os.listdir(str(tmp_path))) == [RESTARTS_NAME]


def test_as_root_the_file_belongs_to_the_looker_user(tmp_path, monkeypatch):
    me = pwd.getpwuid(os.getuid())
    asked = []

    def owner():
        asked.append(True)
        return me
    monkeypatch.setattr(rs.os, 'geteuid', lambda: 0)
    path = str(tmp_path / RESTARTS_NAME)
    assert rs.record_measurement(path, 'stops', 1, owner=owner) is None
    assert asked and os.stat(path).st_uid == me.pw_uid and os.stat(path).st_gid == me.pw_gid


def test_not_root_no_owner_is_asked(tmp_path, monkeypatch):
    monkeypatch.setattr(rs.os, 'geteuid', lambda: 1000)
    path = str(tmp_path / RESTARTS_NAME)
    assert rs.record_measurement(path, 'stops', 1, owner=lambda: pytest.fail('owner asked without root')) is None


@pytest.mark.parametrize('case, where, owner', [
    ('a directory in its place', 'dir', None),
    ('no such directory', 'missing', None),
    ('no Looker user', 'ok', 'missing-user'),
])
def test_an_unwritable_history_is_a_warning_not_a_failure(tmp_path, monkeypatch, case, where, owner):
    monkeypatch.setattr(rs.os, 'geteuid', lambda: 0)
    path = str(tmp_path / RESTARTS_NAME)
    if where == 'dir':
        os.mkdir(path)
    elif where == 'missing':
        path = str(tmp_path / 'nope' / RESTARTS_NAME)

    def no_user():
        raise LookerNodeError("the Looker user 'x' does not exist on this node")
    warning = rs.record_measurement(path, 'starts', 7, owner=no_user if owner else None)
    assert warning and 'Could not record this start (7 s)' in warning, case
    assert not os.path.isfile(path), case


# -- what counts as a measurement (the results of stop_node and start_node) ---------------------------

STOPPED = {'changed': True, 'was_running': True, 'stop_seconds': 12.25}
STARTED = {'changed': True, 'started': True, 'alive_after_seconds': 95.5, 'unfenced': True}


def test_a_real_stop_and_start_are_recorded(tmp_path):
    node = _Node(tmp_path)
    warned = []
    res = rs.record_stop(node, dict(STOPPED), False, warned.append)
    assert res['restart_recorded'] is True
    res = rs.record_start(node, dict(STARTED), False, warned.append)
    assert res['restart_recorded'] is True and res['alive_after_seconds'] == 95.5 and warned == []
    history = rs.read_history(node.restarts_file)
    assert [e['seconds'] for e in history['stops']] == [12.25] and [e['seconds'] for e in history['starts']] == [95.5]


@pytest.mark.parametrize('case, record, result, check_mode', [
    ('a stop in check mode', rs.record_stop, STOPPED, True),
    ('a stop of a node that was not running', rs.record_stop, dict(STOPPED, was_running=False, stop_seconds=0.0), False),
    ('a start in check mode', rs.record_start, dict(STARTED, alive_after_seconds=None), True),
    ('a start in check mode, with seconds', rs.record_start, STARTED, True),
    ('a node that already answered /alive', rs.record_start, dict(STARTED, started=False, alive_after_seconds=0.0, changed=False), False),
    ('a start only waited for (the script was not run)', rs.record_start, dict(STARTED, started=False), False),
    ('a start without its seconds', rs.record_start, dict(STARTED, alive_after_seconds=None), False),
])
def test_nothing_else_is_recorded(tmp_path, case, record, result, check_mode):
    node = _Node(tmp_path)
    res = record(node, dict(result), check_mode, lambda msg: pytest.fail('warned: %s' % msg))
    assert res['restart_recorded'] is False, case
    assert not os.path.lexists(node.restarts_file), case


def test_an_unwritable_history_never_fails_the_stop_or_the_start(tmp_path):
    node = _Node(tmp_path)
    os.mkdir(node.restarts_file)
    warned = []
    res = rs.record_stop(node, dict(STOPPED), False, warned.append)
    assert res['restart_recorded'] is False and res['changed'] is True
    assert len(warned) == 1 and 'Could not record this stop (12.25 s)' in warned[0]
    res = rs.record_start(node, dict(STARTED), False, warned.append)
    assert res['restart_recorded'] is False and res['changed'] is True and 'Could not record this start' in warned[1]
