# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The home archive never holds the fence, the operator guide's hand restore runs as written, and names that become
paths (run id, node name) are checked where they do."""

from __future__ import annotations

import os
import re
import subprocess
import tarfile

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils._backup import backend as backup_backend
from ansible_collections.lookerops.encryption.plugins.module_utils._backup import errors as backup_errors
from ansible_collections.lookerops.encryption.plugins.module_utils._backup import home as backup_home
from ansible_collections.lookerops.encryption.plugins.module_utils import _names

GUIDE = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'docs', 'operator-guide.md')
FENCE = 'lookerops.encryption run 20261204T100000Z-abc123\n'


def _fenced_home(root):
    """A stopped, fenced Looker home, as the stop phase leaves it before the backup."""
    home = os.path.join(root, 'looker')
    for rel, data in {'looker.jar': b'jar', 'looker-dependencies.jar': b'deps', 'lookerstart.cfg': b'LOOKERARGS=""\n',
                      '.db/looker.script': b'data', 'log/looker.log': b'log\n', '.deploying': FENCE.encode()}.items():
        path = os.path.join(home, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as handle:
            handle.write(data)
    return home


def _hand_restore_block():
    """The shell block of the guide's 'A Looker home goes back with the standard tools' paragraph, as written."""
    with open(GUIDE, encoding='utf-8') as handle:
        text = handle.read()
    start = text.index('A Looker home goes back with the standard tools')
    match = re.search(r'```sh\n(.*?)```', text[start:], re.S)
    assert match, 'the guide lost its hand-restore block'
    return match.group(1)


def test_home_archive_never_holds_the_fence_whatever_the_excludes(tmp_path):
    home = _fenced_home(str(tmp_path / 'src'))
    for excludes in (backup_home.DEFAULT_EXCLUDES, []):
        res = backup_home.HomeBackup(home, str(tmp_path / 'dest'), 'r-%d' % len(excludes), 'node1', excludes, [], 0).run()
        with tarfile.open(res['path']) as tar:
            names = tar.getnames()
        assert 'looker/.db/looker.script' in names
        assert not [n for n in names if n.endswith('/.deploying')], names


def test_restore_keeps_the_fence_of_the_run_that_restores(tmp_path):
    home = _fenced_home(str(tmp_path / 'src'))
    res = backup_home.HomeBackup(home, str(tmp_path / 'dest'), 'r1', 'node1', backup_home.DEFAULT_EXCLUDES, [], 0).run()
    with open(os.path.join(home, '.deploying'), 'w', encoding='utf-8') as handle:
        handle.write('lookerops.encryption run rollback-run\n')
    out = backup_home.HomeRestore(res['path'], home).run()
    assert '.deploying' in out['kept_in_place']
    with open(os.path.join(home, '.deploying'), encoding='utf-8') as handle:
        assert handle.read() == 'lookerops.encryption run rollback-run\n'


def test_the_guides_hand_restore_runs_literally_and_leaves_no_fence(tmp_path):
    home = _fenced_home(str(tmp_path / 'home'))
    backup_dir = str(tmp_path / 'backups')
    res = backup_home.HomeBackup(home, backup_dir, 'run-1', 'node1', backup_home.DEFAULT_EXCLUDES, [], 0).run()
    with open(os.path.join(home, '.db', 'looker.script'), 'wb') as handle:
        handle.write(b'newer data')
    block = (_hand_restore_block()
             .replace('/var/backups/lookerops', backup_dir).replace('<run id>', 'run-1').replace('<node>', 'node1')
             .replace('/home/looker', os.path.dirname(home)))
    assert '<' not in block.replace('<<', ''), 'a placeholder the test does not know: %s' % block
    done = subprocess.run(['bash', '-c', block], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert res['sha256'] in done.stdout
    assert not os.path.exists(os.path.join(home, '.deploying')), 'the restored home is fenced: Looker would refuse to start'
    with open(os.path.join(home, '.db', 'looker.script'), 'rb') as handle:
        assert handle.read() == b'data'
    with open(os.path.join(home, 'looker.jar'), 'rb') as handle:
        assert handle.read() == b'jar'
    assert os.path.exists(os.path.join(os.path.dirname(home), 'looker.before-restore', '.deploying'))


def test_the_guides_hand_restore_stops_when_the_jar_cannot_be_moved(tmp_path):
    home = _fenced_home(str(tmp_path / 'home'))
    backup_dir = str(tmp_path / 'backups')
    backup_home.HomeBackup(home, backup_dir, 'run-1', 'node1', backup_home.DEFAULT_EXCLUDES, [], 0).run()
    os.unlink(os.path.join(home, 'looker.jar'))
    block = (_hand_restore_block()
             .replace('/var/backups/lookerops', backup_dir).replace('<run id>', 'run-1').replace('<node>', 'node1')
             .replace('/home/looker', os.path.dirname(home)))
    done = subprocess.run(['bash', '-c', block], capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert 'looker.jar' in done.stderr


@pytest.mark.parametrize('value', ['.', '..', '', 'a/b', '../x', 'x y', 'a' * 201, None])
def test_names_that_cannot_be_a_path_component(value):
    assert _names.name_problem(value, 'the run id') is not None
    with pytest.raises(ValueError):
        _names.check_name(value, 'the run id')


@pytest.mark.parametrize('value', ['20261204T101500Z-1a2b3c', 'node-1.example.com', 'a..b', '.hidden', 'x_y'])
def test_names_that_can(value):
    assert _names.name_problem(value, 'the run id') is None


@pytest.mark.parametrize('name', ['..', '.', 'a/b', 'node 1'])
def test_home_backup_refuses_a_node_name_that_is_not_one_component(tmp_path, name):
    home = _fenced_home(str(tmp_path / 'src'))
    with pytest.raises(backup_errors.BackupError, match='inventory_hostname'):
        backup_home.HomeBackup(home, str(tmp_path / 'dest'), 'r1', name, backup_home.DEFAULT_EXCLUDES, [], 0)
    assert not os.path.exists(str(tmp_path / 'dest'))


@pytest.mark.parametrize('run_id', ['.', '..'])
def test_backup_ids_dot_and_dotdot_are_refused(tmp_path, run_id):
    home = _fenced_home(str(tmp_path / 'src'))
    with pytest.raises(backup_errors.BackupError, match='backup_id'):
        backup_home.HomeBackup(home, str(tmp_path / 'dest'), run_id, 'node1', backup_home.DEFAULT_EXCLUDES, [], 0)


@pytest.mark.parametrize('path', ['/var/backups/lookerops/../node1-looker-home.tar.gz',
                                  '/var/backups/lookerops/./node1-looker-home.tar.gz',
                                  '/var/backups/lookerops/r1/..-looker-home.tar.gz/../x.tar.gz'])
def test_restore_refuses_a_backup_path_with_dot_components(tmp_path, path):
    with pytest.raises(backup_errors.BackupError, match='component'):
        backup_home.HomeRestore(path, str(tmp_path / 'looker'))
    with pytest.raises(backup_errors.BackupError, match='component'):
        backup_backend.BackendRestore(None, path, str(tmp_path / 'looker'))


def test_restore_refuses_a_manifest_of_another_archive(tmp_path):
    home = _fenced_home(str(tmp_path / 'src'))
    res = backup_home.HomeBackup(home, str(tmp_path / 'dest'), 'r1', 'node1', backup_home.DEFAULT_EXCLUDES, [], 0).run()
    other = os.path.join(os.path.dirname(res['path']), 'node2-looker-home.tar.gz')
    os.link(res['path'], other)
    os.link(res['manifest_path'], other.replace('.tar.gz', '.manifest.json'))
    with pytest.raises(backup_errors.BackupError, match='belongs to node1-looker-home.tar.gz'):
        backup_home.HomeRestore(other, home).run()


def test_verify_only_checks_the_backup_under_a_live_looker_and_touches_nothing(tmp_path):
    home = _fenced_home(str(tmp_path / 'src'))
    res = backup_home.HomeBackup(home, str(tmp_path / 'dest'), 'r1', 'node1', backup_home.DEFAULT_EXCLUDES, [], 0).run()
    os.makedirs(os.path.join(home, '.tmp'), exist_ok=True)
    with open(os.path.join(home, '.tmp', 'looker.pid'), 'w', encoding='ascii') as handle:
        handle.write('%d\n' % os.getpid())  # a live process: a restore would refuse, a check does not
    listing = sorted(os.listdir(os.path.dirname(home)))
    out = backup_home.HomeRestore(res['path'], home).verify()
    assert out['verified'] and out['sha256'] == res['sha256'] and out['backup_id'] == 'r1' and out['created_utc']
    assert sorted(os.listdir(os.path.dirname(home))) == listing
    with pytest.raises(backup_errors.BackupError, match='Looker is running'):
        backup_home.HomeRestore(res['path'], home).run()
    with open(res['path'], 'r+b') as handle:
        handle.seek(40)
        handle.write(b'\0' * 16)
    with pytest.raises(backup_errors.BackupError, match='damaged|does not match'):
        backup_home.HomeRestore(res['path'], home).verify()
