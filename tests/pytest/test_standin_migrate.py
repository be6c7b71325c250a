# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in facts: migrate_encryption on a single node (internal file store), rekey."""

from __future__ import annotations

import datetime
import re

# pylint: disable=unused-import,redefined-outer-name
import pytest

from standin_fixtures import LOG_LINE, make_node, new_cmk  # noqa: F401

# The stand-in's own tests (test code, exercised by every end-to-end test of the gate): the long tier.
pytestmark = pytest.mark.full

STARTING = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \+0000 \[INFO\|[0-9a-z]+\|crypt\] :: '
                      r'Starting migration from AES-128-CBC Legacy to AES-GCM-256$', re.M)
LIVE = ('There are other live nodes connected to this backend Looker database. If Looker was shutdown within the last '
        'minute, try again shortly, otherwise verify all nodes in the cluster are shut down.')


def seeded(make_node, count=8, **tunables):
    """A node with a legacy store of ``count`` records; returns (node, inspect before)."""
    node = make_node(**tunables)
    res = node.java('standin_seed', '--records', str(count))
    assert res.returncode == 0, res.stderr
    before = node.inspect()
    assert before['legacy'] == count and before['gcm'] == 0
    return node, before


def test_migrate_then_start_in_gcm(make_node):
    """Migration re-encrypts every record (digest unchanged), logs the seed line; Looker then starts in GCM."""
    node, before = seeded(make_node)
    env = {'LKR_MASTER_KEY_ENV': new_cmk()}
    res = node.looker('migrate_encryption', env=env)
    assert res.returncode == 0, res.stderr
    log = node.log()
    assert len(STARTING.findall(log)) == 1
    assert 'Migration from AES-128-CBC Legacy to AES-GCM-256 complete: 8 records' in log
    assert all(LOG_LINE.match(line) for line in log.splitlines())
    after = node.inspect(env=env)
    assert (after['gcm'], after['legacy'], after['total']) == (8, 0, 8)
    assert after['digest'] == before['digest']
    assert node.looker('start', env=env).returncode == 0
    node.wait_up()
    assert 'Encryption: AES-GCM-256' in node.log()


def test_migrate_refused_while_own_server_runs(make_node):
    """Single node: migrate_encryption refuses with the seed's message while this node's server runs."""
    node, before = seeded(make_node)
    env = {'LKR_MASTER_KEY_ENV': new_cmk()}
    assert node.looker('start').returncode == 0
    node.wait_up()
    res = node.java('migrate_encryption', env=env)
    assert res.returncode != 0
    assert res.stderr.strip() == LIVE
    assert node.inspect() == before
    assert node.looker('stop').returncode == 0
    node.wait_down()
    assert node.java('migrate_encryption', env=env).returncode == 0


def test_second_run_nothing_to_do(make_node):
    """Decision: a second run on a fully GCM store logs 'already migrated', no Starting line, exit 0."""
    node, before = seeded(make_node)
    env = {'LKR_MASTER_KEY_ENV': new_cmk()}
    assert node.java('migrate_encryption', env=env).returncode == 0
    res = node.java('migrate_encryption', env=env)
    assert res.returncode == 0
    assert 'Encryption already migrated to AES-GCM-256; nothing to do' in res.stdout
    log = node.log()
    assert len(STARTING.findall(log)) == 1
    assert 'Encryption already migrated to AES-GCM-256; nothing to do' in log.splitlines()[-1]
    assert node.inspect(env=env)['digest'] == before['digest']
    # with another key the second run refuses instead of pretending all is well
    res = node.java('migrate_encryption', env={'LKR_MASTER_KEY_ENV': new_cmk()})
    assert res.returncode != 0 and res.stderr.startswith('Looker can not start because: ')


def test_crash_midway_then_rerun(make_node):
    """crash_midway: abrupt exit after half the records; start refuses; a rerun finishes the job."""
    node, before = seeded(make_node, count=10, crash_midway=True)
    env = {'LKR_MASTER_KEY_ENV': new_cmk()}
    res = node.java('migrate_encryption', env=env)
    assert res.returncode == 137
    mid = node.inspect(env=env)
    assert (mid['gcm'], mid['legacy']) == (5, 5) and mid['digest'] == before['digest']
    res = node.java('start', '--no-daemonize', '--port', str(node.port), env=env)
    assert res.returncode != 0 and 'migration did not complete (5 of 10 records' in res.stderr
    res = node.java('migrate_encryption', env=env)
    assert res.returncode == 0, res.stderr
    assert 'complete: 5 records' in res.stdout
    after = node.inspect(env=env)
    assert (after['gcm'], after['legacy']) == (10, 0) and after['digest'] == before['digest']
    assert len(STARTING.findall(node.log())) == 2


def test_rotation_during_migration(make_node):
    """rotate_log_on_migrate: the Starting line ends up in looker.log.YYYYMMDD, the rest in a new looker.log."""
    node, before = seeded(make_node, rotate_log_on_migrate=True)
    env = {'LKR_MASTER_KEY_ENV': new_cmk()}
    assert node.java('migrate_encryption', env=env).returncode == 0
    rotated = node.log('looker.log.' + datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%d'))
    assert STARTING.search(rotated)
    assert 'complete' not in rotated
    current = node.log()
    assert not STARTING.search(current) and 'complete: 8 records' in current
    assert node.inspect(env=env)['digest'] == before['digest']


def test_migrate_without_key(make_node):
    """No key settings: migrate_encryption refuses (Missing backing keystore), store untouched."""
    node, before = seeded(make_node)
    res = node.java('migrate_encryption')
    assert res.returncode != 0
    assert res.stderr.strip() == 'Looker can not start because: Missing backing keystore'
    assert node.inspect() == before


def test_migrate_with_creds_via_key_file_in_cfg(make_node):
    """Key settings exported from lookerstart.cfg reach ./looker migrate_encryption (sourced by the script)."""
    node, before = seeded(make_node)
    cmk = new_cmk()
    node.write_cfg(extra="export LKR_MASTER_KEY_ENV='%s'" % cmk)
    res = node.looker('migrate_encryption')
    assert res.returncode == 0, res.stderr
    assert node.inspect(env={'LKR_MASTER_KEY_ENV': cmk})['digest'] == before['digest']


def test_rekey(make_node):
    """rekey re-wraps the KEK: the new key starts Looker, the old one no longer does."""
    node, before = seeded(make_node)
    old, new = new_cmk(), new_cmk()
    assert node.java('migrate_encryption', env={'LKR_MASTER_KEY_ENV': old}).returncode == 0
    res = node.java('rekey', env={'LKR_MASTER_KEY_ENV_SOURCE': old, 'LKR_MASTER_KEY_ENV_DESTINATION': new})
    assert res.returncode == 0, res.stderr
    assert node.inspect(env={'LKR_MASTER_KEY_ENV': new})['digest'] == before['digest']
    assert node.java('standin_inspect', env={'LKR_MASTER_KEY_ENV': old}).returncode != 0
