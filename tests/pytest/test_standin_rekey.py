# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in facts: rekey with file, env and AWS KMS keys (_SOURCE / _DESTINATION settings), its refusals,
the two-step write and the crash_rekey fault."""

from __future__ import annotations

import json
import os
import re

# pylint: disable=unused-import,redefined-outer-name
import pytest

from standin_fixtures import FAST, LOG_LINE, make_node, new_cmk, poll, standin_moto  # noqa: F401

# The stand-in's own tests (test code, exercised by every end-to-end test of the gate): the long tier.
pytestmark = pytest.mark.full

PREFIX = 'Looker can not start because: '
LIVE = ('There are other live nodes connected to this backend Looker database. If Looker was shutdown within the last '
        'minute, try again shortly, otherwise verify all nodes in the cluster are shut down.')
STARTING = re.compile(r'^\S+ \S+ \+0000 \[INFO\|[0-9a-z]+\|crypt\] :: Starting rekey of the key encryption key$', re.M)
COMPLETE = 'Rekey of the key encryption key complete; the on-disk cache was invalidated'
NOT_OPEN = "the source key does not open this database's key encryption key; nothing was changed"
PENDING = (PREFIX + 'a rekey did not complete; run java -jar looker.jar rekey again with the same source and '
           'destination keys')


def write_key(node, text, name, mode=0o400):
    """A key file outside the Looker home, 0600 from its first byte, then ``mode``."""
    path = os.path.join(node.root, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as handle:
        handle.write(text + '\n')
    os.chmod(path, mode)
    return path


def stored_settings(node):
    """The settings line of the single-node store (.db/looker.script), parsed."""
    with open(node.path('.db', 'looker.script'), encoding='utf-8') as handle:
        return json.loads(handle.readline())['settings']


def store_bytes(node):
    """The whole single-node store, to prove a refusal changed nothing."""
    with open(node.path('.db', 'looker.script'), 'rb') as handle:
        return handle.read()


def gcm_node(make_node, old_env, count=6, **tunables):
    """A node whose store was migrated to GCM under ``old_env``; returns (node, inspect result)."""
    node = make_node(**tunables)
    assert node.java('standin_seed', '--records', str(count)).returncode == 0
    res = node.java('migrate_encryption', env=old_env)
    assert res.returncode == 0, res.stderr
    state = node.inspect(env=old_env)
    assert (state['gcm'], state['legacy'], state['rekey_pending']) == (count, 0, False)
    return node, state


def rekey(node, env):
    """java -jar looker.jar rekey with ``env`` (the only place the keys are given)."""
    return node.java('rekey', env=env)


def assert_rekeyed(node, before, new_env, old_env):
    """The new settings open the records (same plaintexts) and start Looker; the old ones are refused."""
    after = node.inspect(env=new_env)
    assert after['digest'] == before['digest']
    assert (after['gcm'], after['total'], after['rekey_pending']) == (before['gcm'], before['total'], False)
    assert 'rekeyed_at' in stored_settings(node) and 'rekey_pending' not in stored_settings(node)
    res = node.java('start', '--no-daemonize', '--port', str(node.port), env=old_env)
    assert res.returncode != 0 and res.stderr.startswith(PREFIX), res.stderr
    assert node.pid() is None
    assert node.java('standin_inspect', env=old_env).returncode != 0
    res = node.looker('start', env=new_env)
    assert res.returncode == 0, res.stderr
    node.wait_up()
    assert 'Encryption: AES-GCM-256' in node.log()
    assert node.looker('stop').returncode == 0
    node.wait_down()
    log = node.log()
    assert COMPLETE in log and STARTING.search(log)
    assert all(LOG_LINE.match(line) for line in log.splitlines())


def kms_keys(moto, *aliases):
    """Create one KMS key per alias in moto."""
    import boto3  # pylint: disable=import-outside-toplevel
    kms = boto3.client('kms', region_name='us-east-1', endpoint_url=moto.url, aws_access_key_id='testing',
                       aws_secret_access_key='testing')
    for alias in aliases:
        key_id = kms.create_key()['KeyMetadata']['KeyId']
        kms.create_alias(AliasName=alias, TargetKeyId=key_id)


def test_rekey_env_to_env(make_node):
    """Documented names: LKR_MASTER_KEY_ENV_SOURCE -> _DESTINATION; the plain LKR_MASTER_KEY_ENV is ignored."""
    old, new = new_cmk(), new_cmk()
    node, before = gcm_node(make_node, {'LKR_MASTER_KEY_ENV': old})
    res = rekey(node, {'LKR_MASTER_KEY_ENV_SOURCE': old, 'LKR_MASTER_KEY_ENV_DESTINATION': new,
                       'LKR_MASTER_KEY_ENV': new_cmk()})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == COMPLETE
    assert old not in res.stdout + res.stderr + node.log() and new not in res.stdout + res.stderr + node.log()
    assert_rekeyed(node, before, {'LKR_MASTER_KEY_ENV': new}, {'LKR_MASTER_KEY_ENV': old})


def test_rekey_file_to_file(make_node):
    """Inferred names LKR_MASTER_KEY_FILE_SOURCE/_DESTINATION, with the start-time file checks (0400)."""
    node = make_node()
    old_file = write_key(node, new_cmk(), 'old.key')
    new_text = new_cmk()
    old_env = {'LKR_MASTER_KEY_FILE': old_file}
    assert node.java('standin_seed', '--records', '6').returncode == 0
    assert node.java('migrate_encryption', env=old_env).returncode == 0
    before = node.inspect(env=old_env)
    loose = write_key(node, new_text, 'loose.key', 0o644)
    raw = store_bytes(node)
    res = rekey(node, {'LKR_MASTER_KEY_FILE_SOURCE': old_file, 'LKR_MASTER_KEY_FILE_DESTINATION': loose})
    assert res.returncode == 1
    assert 'LKR_MASTER_KEY_FILE_DESTINATION' in res.stderr
    assert 'Permission for backing key file must be 0400, but is 644' in res.stderr
    res = rekey(node, {'LKR_MASTER_KEY_FILE_SOURCE': os.path.join(node.root, 'absent.key'),
                       'LKR_MASTER_KEY_FILE_DESTINATION': loose})
    assert res.returncode == 1 and 'LKR_MASTER_KEY_FILE_SOURCE' in res.stderr and 'Missing backing keystore' in res.stderr
    assert store_bytes(node) == raw
    new_file = write_key(node, new_text, 'new.key')
    res = rekey(node, {'LKR_MASTER_KEY_FILE_SOURCE': old_file, 'LKR_MASTER_KEY_FILE_DESTINATION': new_file})
    assert res.returncode == 0, res.stderr
    assert_rekeyed(node, before, {'LKR_MASTER_KEY_FILE': new_file}, old_env)
    # the same key given as text opens it too: the file is only a carrier
    assert node.inspect(env={'LKR_MASTER_KEY_ENV': new_text})['digest'] == before['digest']


def test_rekey_env_to_kms(make_node, standin_moto):
    """Local key -> AWS KMS (LKR_AWS_CMK_DESTINATION): KMS Encrypt blob, read back by Decrypt at start."""
    kms_keys(standin_moto, 'alias/looker-new')
    old = new_cmk()
    node, before = gcm_node(make_node, {'LKR_MASTER_KEY_ENV': old})
    aws = standin_moto.env()
    raw = store_bytes(node)
    res = rekey(node, dict(aws, LKR_MASTER_KEY_ENV_SOURCE=old, LKR_AWS_CMK_DESTINATION='alias/missing'))
    assert res.returncode == 1
    assert res.stderr.startswith('the destination key could not wrap the key encryption key; nothing was changed')
    assert 'LKR_AWS_CMK_DESTINATION' in res.stderr
    assert store_bytes(node) == raw and not STARTING.search(node.log())
    res = rekey(node, dict(aws, LKR_MASTER_KEY_ENV_SOURCE=old, LKR_AWS_CMK_DESTINATION='alias/looker-new',
                           AWS_REGION_DESTINATION='us-east-1'))
    assert res.returncode == 0, res.stderr
    kek = stored_settings(node)['kek']
    assert (kek['provider'], kek['alias']) == ('aws', 'alias/looker-new')
    assert_rekeyed(node, before, dict(aws, AWS_REGION='us-east-1', LKR_AWS_CMK='alias/looker-new'),
                   {'LKR_MASTER_KEY_ENV': old})


def test_rekey_kms_to_file(make_node, standin_moto):
    """AWS KMS (GenerateDataKey KEK) -> local key file."""
    kms_keys(standin_moto, 'alias/looker-old')
    aws = standin_moto.env()
    old_env = dict(aws, AWS_REGION='us-east-1', LKR_AWS_CMK='alias/looker-old')
    node, before = gcm_node(make_node, old_env)
    new_file = write_key(node, new_cmk(), 'new.key')
    res = rekey(node, dict(aws, LKR_AWS_CMK_SOURCE='alias/looker-old', LKR_MASTER_KEY_FILE_DESTINATION=new_file))
    assert res.returncode == 0, res.stderr
    assert stored_settings(node)['kek']['provider'] == 'local'
    assert_rekeyed(node, before, {'LKR_MASTER_KEY_FILE': new_file}, old_env)


def test_rekey_kms_a_to_kms_b_new_context(make_node, standin_moto):
    """KMS key A (default context) -> KMS key B with another encryption context (LKR_AWS_CMK_EC_DESTINATION)."""
    kms_keys(standin_moto, 'alias/looker-a', 'alias/looker-b')
    aws = standin_moto.env()
    old_env = dict(aws, AWS_REGION='us-east-1', LKR_AWS_CMK='alias/looker-a')
    node, before = gcm_node(make_node, old_env)
    res = rekey(node, dict(aws, AWS_REGION='us-east-1', LKR_AWS_CMK_SOURCE='alias/looker-a',
                           LKR_AWS_CMK_DESTINATION='alias/looker-b', LKR_AWS_CMK_EC_DESTINATION='Rotated_2026',
                           LKR_AWS_CMK='alias/looker-a'))
    assert res.returncode == 0, res.stderr
    new_env = dict(aws, AWS_REGION='us-east-1', LKR_AWS_CMK='alias/looker-b', LKR_AWS_CMK_EC='Rotated_2026')
    # key B with the default context does not open it: the destination context was used
    res = node.java('standin_inspect', env=dict(new_env, LKR_AWS_CMK_EC=''))
    assert res.returncode != 0 and 'AWS KMS decrypt failed' in res.stderr
    assert_rekeyed(node, before, new_env, old_env)


def test_rekey_wrong_source_refused(make_node):
    """A source that does not open the KEK: refused before anything is written; the old key still works."""
    old = new_cmk()
    node, before = gcm_node(make_node, {'LKR_MASTER_KEY_ENV': old})
    raw = store_bytes(node)
    res = rekey(node, {'LKR_MASTER_KEY_ENV_SOURCE': new_cmk(), 'LKR_MASTER_KEY_ENV_DESTINATION': new_cmk()})
    assert res.returncode == 1
    assert res.stderr.startswith(NOT_OPEN) and 'LKR_MASTER_KEY_ENV_SOURCE' in res.stderr
    assert store_bytes(node) == raw
    assert node.inspect(env={'LKR_MASTER_KEY_ENV': old}) == before
    log = node.log()
    assert not STARTING.search(log) and NOT_OPEN in log.splitlines()[-1]


def test_rekey_refused_while_node_live(make_node):
    """rekey refuses with the live-node message while this node's server runs."""
    old, new = new_cmk(), new_cmk()
    node, before = gcm_node(make_node, {'LKR_MASTER_KEY_ENV': old})
    assert node.looker('start', env={'LKR_MASTER_KEY_ENV': old}).returncode == 0
    node.wait_up()
    keys_env = {'LKR_MASTER_KEY_ENV_SOURCE': old, 'LKR_MASTER_KEY_ENV_DESTINATION': new}
    res = rekey(node, keys_env)
    assert res.returncode == 1 and res.stderr.strip() == LIVE
    assert node.inspect(env={'LKR_MASTER_KEY_ENV': old}) == before
    assert node.looker('stop').returncode == 0
    node.wait_down()
    assert rekey(node, keys_env).returncode == 0
    assert node.inspect(env={'LKR_MASTER_KEY_ENV': new})['digest'] == before['digest']


def test_rekey_refused_on_legacy_store(make_node):
    """rekey needs a GCM store."""
    node = make_node()
    assert node.java('standin_seed', '--records', '3').returncode == 0
    res = rekey(node, {'LKR_MASTER_KEY_ENV_SOURCE': new_cmk(), 'LKR_MASTER_KEY_ENV_DESTINATION': new_cmk()})
    assert res.returncode == 1 and 'run migrate_encryption first' in res.stderr
    assert node.inspect()['legacy'] == 3


def test_crash_rekey_then_rerun(make_node):
    """crash_rekey: exit 137 with rekey_pending written; start refuses (old and new key); a rerun completes."""
    old, new = new_cmk(), new_cmk()
    node, before = gcm_node(make_node, {'LKR_MASTER_KEY_ENV': old}, crash_rekey=True)
    keys_env = {'LKR_MASTER_KEY_ENV_SOURCE': old, 'LKR_MASTER_KEY_ENV_DESTINATION': new}
    res = rekey(node, keys_env)
    assert res.returncode == 137
    mid = node.inspect(env={'LKR_MASTER_KEY_ENV': old})
    assert mid['rekey_pending'] is True and mid['digest'] == before['digest']
    assert COMPLETE not in node.log() and 'crash_rekey' in node.log().splitlines()[-1]
    for key in (old, new):
        res = node.java('start', '--no-daemonize', '--port', str(node.port), env={'LKR_MASTER_KEY_ENV': key})
        assert res.returncode == 1 and res.stderr.strip() == PENDING
        assert node.pid() is None
    res = node.looker('start', env={'LKR_MASTER_KEY_ENV': old})
    assert res.returncode == 0
    poll(lambda: PENDING in node.log(), 15, 'the rekey refusal in the log')
    node.wait_down()
    node.configure(**dict(FAST, crash_rekey=False))
    res = rekey(node, keys_env)
    assert res.returncode == 0, res.stderr
    assert len(STARTING.findall(node.log())) == 2
    assert_rekeyed(node, before, {'LKR_MASTER_KEY_ENV': new}, {'LKR_MASTER_KEY_ENV': old})


def test_rekey_missing_destination(make_node):
    """No destination setting (the plain ones do not count): refused naming the variables, nothing written."""
    old = new_cmk()
    node, before = gcm_node(make_node, {'LKR_MASTER_KEY_ENV': old})
    raw = store_bytes(node)
    res = rekey(node, {'LKR_MASTER_KEY_ENV_SOURCE': old, 'LKR_MASTER_KEY_ENV': new_cmk(), 'LKR_AWS_CMK': 'alias/x'})
    assert res.returncode == 1
    for name in ('LKR_AWS_CMK_DESTINATION', 'LKR_MASTER_KEY_ENV_DESTINATION', 'LKR_MASTER_KEY_FILE_DESTINATION'):
        assert name in res.stderr
    res = rekey(node, {'LKR_MASTER_KEY_ENV_DESTINATION': new_cmk()})
    assert res.returncode == 1 and 'no source key set' in res.stderr and 'LKR_MASTER_KEY_ENV_SOURCE' in res.stderr
    assert store_bytes(node) == raw
    assert node.inspect(env={'LKR_MASTER_KEY_ENV': old}) == before
