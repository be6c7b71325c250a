# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in facts: clustered nodes on a MySQL (MariaDB) backend, the live-node window, AWS KMS (moto)."""

from __future__ import annotations

import os
import signal

# pylint: disable=unused-import,redefined-outer-name
import pytest

from standin_fixtures import backend, make_node, new_cmk, pid_alive, poll, standin_mariadb, standin_moto  # noqa: F401

# The stand-in's own tests (test code, exercised by every end-to-end test of the gate): the long tier.
pytestmark = pytest.mark.full

LIVE = ('There are other live nodes connected to this backend Looker database. If Looker was shutdown within the last '
        'minute, try again shortly, otherwise verify all nodes in the cluster are shut down.')


def cluster(make_node, tmp_path, creds, count=2, **tunables):
    """``count`` clustered nodes on one backend; returns the nodes."""
    shared = tmp_path / 'shared'
    shared.mkdir(exist_ok=True)
    nodes = []
    for idx in range(count):
        node = make_node('looker%d' % (idx + 1), **tunables)
        node.write_cfg('--clustered -H looker%d -d %s --shared-storage-dir %s' % (idx + 1, creds, shared))
        nodes.append(node)
    return nodes


def node_rows(mariadb):
    """hostname -> (heartbeat_at, stopped_at) from the stand-in's node table."""
    conn = mariadb.connect(database=mariadb.database)
    try:
        with conn.cursor() as cur:
            cur.execute('SELECT hostname, heartbeat_at, stopped_at FROM standin_node')
            return {r[0]: (r[1], r[2]) for r in cur.fetchall()}
    finally:
        conn.close()


def test_cluster_live_nodes_and_window(make_node, backend, tmp_path):
    """Refused while nodes run and right after they stop; succeeds once the window has passed."""
    mariadb, creds = backend
    n1, n2 = cluster(make_node, tmp_path, creds, live_window_seconds=3, heartbeat_seconds=0.3)
    assert n1.java('standin_seed', '--records', '10', '-d', creds).returncode == 0
    before = n1.inspect('-d', creds)
    env = {'LKR_MASTER_KEY_ENV': new_cmk()}
    for node in (n1, n2):
        assert node.looker('start').returncode == 0
    for node in (n1, n2):
        node.wait_up()
    rows = node_rows(mariadb)
    assert set(rows) == {'looker1', 'looker2'} and all(r[1] is None for r in rows.values())
    first = rows['looker1'][0]
    poll(lambda: node_rows(mariadb)['looker1'][0] > first, 10, 'a heartbeat')
    res = n1.java('migrate_encryption', '-d', creds, env=env)
    assert res.returncode != 0 and res.stderr.strip() == LIVE
    for node in (n1, n2):
        assert node.looker('stop').returncode == 0
    for node in (n1, n2):
        node.wait_down()
    assert all(r[1] is not None for r in node_rows(mariadb).values())
    res = n1.java('migrate_encryption', '-d', creds, env=env)
    assert res.returncode != 0 and res.stderr.strip() == LIVE
    assert n1.inspect('-d', creds) == before

    def attempt():
        res = n1.java('migrate_encryption', '--internal-db-creds=' + creds, env=env)
        return res if res.returncode == 0 else None
    res = poll(attempt, 20, 'the live window to pass')
    assert 'complete: 10 records' in res.stdout
    after = n2.inspect('-d', creds, env=env)
    assert (after['gcm'], after['legacy']) == (10, 0) and after['digest'] == before['digest']
    for node in (n1, n2):
        assert node.looker('start', env=env).returncode == 0
    for node in (n1, n2):
        node.wait_up()
        assert 'Encryption: AES-GCM-256' in node.log()


def test_killed_node_stays_live_until_window(make_node, backend, tmp_path):
    """A node killed without a clean stop counts as live until its last heartbeat is older than the window."""
    _mariadb, creds = backend
    (n1,) = cluster(make_node, tmp_path, creds, count=1, live_window_seconds=4, heartbeat_seconds=0.3)
    assert n1.java('standin_seed', '--records', '4', '-d', creds).returncode == 0
    assert n1.looker('start').returncode == 0
    n1.wait_up()
    pid = n1.pid()
    os.kill(pid, signal.SIGKILL)
    poll(lambda: not pid_alive(pid), 10, 'killed node gone')
    env = {'LKR_MASTER_KEY_ENV': new_cmk()}
    res = n1.java('migrate_encryption', '-d', creds, env=env)
    assert res.returncode != 0 and res.stderr.strip() == LIVE
    poll(lambda: n1.java('migrate_encryption', '-d', creds, env=env).returncode == 0, 20, 'window after kill')
    assert n1.inspect('-d', creds, env=env)['gcm'] == 4


def test_looker_db_env(make_node, backend):
    """LOOKER_DB env works instead of -d."""
    mariadb, _creds = backend
    node = make_node()
    env = {'LOOKER_DB': 'dialect=mysql&host=%s&username=%s&password=%s&database=%s&port=%d'
                        % (mariadb.host, mariadb.user, mariadb.password, mariadb.database, mariadb.port)}
    assert node.java('standin_seed', '--records', '3', env=env).returncode == 0
    state = node.inspect(env=env)
    assert state['legacy'] == 3
    assert not os.path.exists(node.path('.db', 'looker.script'))


def test_aws_kms(make_node, standin_moto):
    """AWS KMS CMK: new instance starts in GCM via moto; wrong encryption context or alias refuses."""
    import boto3  # pylint: disable=import-outside-toplevel
    kms = boto3.client('kms', region_name='us-east-1', endpoint_url=standin_moto.url, aws_access_key_id='testing',
                       aws_secret_access_key='testing')
    key_id = kms.create_key()['KeyMetadata']['KeyId']
    kms.create_alias(AliasName='alias/looker-test', TargetKeyId=key_id)
    node = make_node()
    env = dict(standin_moto.env(), AWS_REGION='us-east-1', LKR_AWS_CMK='alias/looker-test')
    assert node.java('standin_seed', '--records', '4').returncode == 0
    before = node.inspect()
    res = node.java('migrate_encryption', env=env)
    assert res.returncode == 0, res.stderr
    after = node.inspect(env=env)
    assert after['gcm'] == 4 and after['digest'] == before['digest']
    assert node.looker('start', env=env).returncode == 0
    node.wait_up()
    assert node.looker('stop').returncode == 0
    node.wait_down()
    res = node.java('standin_inspect', env=dict(env, LKR_AWS_CMK_EC='Other_Context'))
    assert res.returncode != 0 and 'AWS KMS decrypt failed' in res.stderr
    res = node.java('start', '--no-daemonize', env=dict(env, LKR_AWS_CMK='alias/missing'))
    assert res.returncode != 0 and res.stderr.startswith('Looker can not start because: ')
