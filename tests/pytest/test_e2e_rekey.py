# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end on the bed: lookerops.encryption.rekey in every direction (local -> new local, local -> AWS KMS,
KMS key A -> KMS key B with a new encryption context, KMS -> local), its refusals, a crash during rekey and its resume,
and the rollback of a rekey. One bed (with moto for KMS) walks through the directions in order: each test starts from
the state the one before left, as a real instance would.

The gate (tests/scripts/test.sh) walks local -> new local key, a crash during rekey and its resume, the resume that
goes only to the key rekey already used, local -> AWS KMS with the old key escrowed in Secrets Manager, and the scan of
every output for every key; the other directions, the rerun and the rollbacks of a rekey are the long tier
(`test.sh --full`). Each test reads the state it starts from, so both walks hold."""

from __future__ import annotations

import base64
import glob
import json
import os
import shutil
import re
import sys

import pytest

from bed.core import LOOKER_HOME, LOOKER_USER, BedError
from e2e.runner import Controller, collections_path, run_playbook
from test_e2e_migrate import API_CLIENT, ArgvWatcher, all_alive, api_env, api_proof_counts, fences, fresh, recap_changed, scan_tree

REKEY_CLUSTER = {'name': 'e2e-rekey', 'nodes': 3, 'cluster': True, 'moto': True,
                 'standin': dict(API_CLIENT, start_seconds=0.3, stop_seconds=0.3, migrate_seconds=1, live_window_seconds=4)}
KEY_PATH = '/home/looker/.lookerops/cmk.key'
if collections_path() not in sys.path:
    sys.path.insert(0, collections_path())
KMS_A = {'lookerops_cmk_source': 'aws_kms', 'lookerops_aws_region': 'us-east-1',
         'lookerops_aws_cmk_alias': 'alias/looker-rekey-a', 'lookerops_aws_cmk_create': True}
KMS_B = dict(KMS_A, lookerops_aws_cmk_alias='alias/looker-rekey-b', lookerops_aws_cmk_ec='Rotated_Context_2026')


class Chain:
    """The one instance the tests of this module rekey, with every key it has had (to scan outputs for them)."""

    def __init__(self, bed, controller):
        self.bed = bed
        self.controller = controller
        self.keys = []          # every local key text the instance has had
        self.outputs = []       # every playbook run's stdout + stderr
        self.digest = None

    def run(self, playbook, extra_vars=None, **kwargs):
        proc = run_playbook(self.bed, playbook, self.controller, extra_vars=extra_vars, **kwargs)
        self.outputs.append(proc.stdout + proc.stderr)
        return proc

    def node_key(self, node=None):
        """The key text in a node's key file (read by the test, never by the collection's output)."""
        with open(os.path.join((node or self.bed.nodes[0]).user_home, '.lookerops', 'cmk.key'), encoding='ascii') as handle:
            return handle.read().strip()

    def markers(self):
        out = {}
        for node in self.bed.nodes:
            with open(os.path.join(node.home, '.lookerops-encryption.json'), encoding='utf-8') as handle:
                out[node.name] = json.load(handle)
        return out

    def cfgs(self):
        out = {}
        for node in self.bed.nodes:
            with open(os.path.join(node.home, 'lookerstart.cfg'), encoding='utf-8') as handle:
                out[node.name] = handle.read()
        return out

    def escrow_kcv(self, path=None):
        """The key check value of the key in an escrow file (decrypted with the controller's vault password)."""
        from ansible.parsing.vault import VaultLib, VaultSecret  # pylint: disable=import-outside-toplevel
        from ansible_collections.lookerops.encryption.plugins.module_utils._key_material import kcv_of_text  # pylint: disable=import-outside-toplevel
        with open(self.controller.vault_password_file, 'rb') as handle:
            secret = VaultSecret(handle.read().strip())
        with open(path or self.controller.escrow_path, 'rb') as handle:
            text = VaultLib([('default', secret)]).decrypt(handle.read()).decode('ascii')
        return kcv_of_text(text)

    def assert_up_and_intact(self):
        after = self.bed.inspect()
        assert after['legacy'] == 0 and after['gcm'] == after['total']
        assert after['digest'] == self.digest
        assert all(all_alive(self.bed).values()), all_alive(self.bed)
        assert not any(fences(self.bed).values()), fences(self.bed)


def kcv(text):
    from ansible_collections.lookerops.encryption.plugins.module_utils._key_material import kcv_of_text  # pylint: disable=import-outside-toplevel
    return kcv_of_text(text)


@pytest.fixture(scope='module')
def chain(bed_factory, tmp_path_factory):
    bed = fresh(bed_factory, REKEY_CLUSTER)
    c = Chain(bed, Controller(str(tmp_path_factory.mktemp('rekey') / 'controller')))
    c.digest = bed.inspect()['digest']
    proc = c.run('migrate')
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    c.keys.append(c.node_key())
    return c


@pytest.mark.full
def test_rekey_to_the_key_in_force_is_refused_before_anything_stops(chain):
    proc = chain.run('rekey', {'lookerops_cmk_key': chain.keys[0]})
    assert proc.returncode != 0
    assert 'is the key in force on every node: a rekey needs a different key' in proc.stdout, proc.stdout[-4000:]
    assert kcv(chain.keys[0]) in proc.stdout
    chain.assert_up_and_intact()


def test_local_to_new_local_key(chain):
    old = kcv(chain.keys[0])
    watcher = ArgvWatcher()
    watcher.start()
    try:
        proc = chain.run('rekey', verbosity=4, env_extra=api_env(chain.bed))
    finally:
        watcher.stop()
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    new_text = chain.node_key()
    chain.keys.append(new_text)
    new = kcv(new_text)
    assert new != old
    chain.assert_up_and_intact()
    # every node: the new key file (0400), the marker names the new key
    assert {chain.node_key(n) for n in chain.bed.nodes} == {new_text}
    assert {m['kcv'] for m in chain.markers().values()} == {new}
    assert all(m.get('rekeyed_at') for m in chain.markers().values())
    # no copy of the old key is left on any node (the .replaced-* link of the key file included); it lives in its escrow
    for node in chain.bed.nodes:
        assert glob.glob(os.path.join(node.user_home, '.lookerops', '*.replaced-*')) == [], node.name
        assert scan_tree(node.user_home, [chain.keys[0].encode()]) == [], node.name
    assert 'old key %s: removed from every node' % old in proc.stdout, proc.stdout[-4000:]
    # the escrow in force holds the new key; the old one is kept, retired, with its note
    assert chain.escrow_kcv() == new
    retired = chain.controller.escrow_path[:-len('.vault')] + '-retired-%s.vault' % old.split(':')[1]
    assert chain.escrow_kcv(retired) == old
    assert oct(os.stat(retired).st_mode & 0o777) == '0o600'
    with open(retired + '.json', encoding='utf-8') as handle:
        note = json.load(handle)
    assert note['kcv'] == old and note['retired_utc'] and 'backup' in note['keep']
    assert not os.path.exists(chain.controller.escrow_path[:-len('.vault')] + '-next.vault')
    # beside every node's backups: what they were taken under (check values only)
    for node in chain.bed.nodes:
        (note_path,) = node.run(['sh', '-c', 'ls /var/backups/lookerops/*/rekey.json'], user='root', check=True).stdout.split()
        note = json.loads(node.run(['cat', note_path], user='root', check=True).stdout)
        assert note['old'] == old and note['new'] == new and note['old_key_file'] == KEY_PATH
        assert node.run(['stat', '-c', '%a', note_path], user='root', check=True).stdout.strip() == '600'
    assert 'rekey: %s -> %s' % (old, new) in proc.stdout
    assert 'invalidated' in proc.stdout and 'cache' in proc.stdout
    # The forecast took each node's own stop and start, as the migration before it measured them, not the stated times;
    # each node keeps them in its restart history (0600, the Looker user's).
    assert re.search(r'downtime forecast: \d+ s = stop \d+ \(measured on 3 of 3 nodes\) \+ .* start of the first node \d+ '
                     r'\(measured: longest of its last \d+ starts?\) \+ start of the others \d+ \(measured on 2 of 2 nodes\)',
                     proc.stdout), proc.stdout[-4000:]
    for node in chain.bed.nodes:
        history = node.run(['sh', '-c', 'stat -c "%a %U" {0} && cat {0}'.format(LOOKER_HOME + '/.lookerops-restarts.json')],
                           user='root', check=True).stdout
        assert history.startswith('600 %s\n' % LOOKER_USER), history
        recorded = json.loads(history.split('\n', 1)[1])
        assert recorded['stops'] and recorded['starts'] and all(e['seconds'] >= 0 for e in recorded['stops'] + recorded['starts'])
    # Looker's own test of every database connection, before the stop and after the start, through its API.
    counts = api_proof_counts(proc.stdout)
    assert counts and counts[0] > 0 and counts[0] == counts[1], proc.stdout[-4000:]
    assert API_CLIENT['api_client_secret'] not in proc.stdout + proc.stderr
    # the keys reached the task in its environment only
    for text in chain.keys:
        assert not [argv for argv in watcher.seen if text.encode() in argv]
        assert text not in proc.stdout and text not in proc.stderr


@pytest.mark.full
def test_a_second_rekey_to_the_same_key_changes_nothing(chain):
    proc = chain.run('rekey', {'lookerops_cmk_key': chain.keys[1]})
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    assert set(recap_changed(proc.stdout).values()) == {0}, recap_changed(proc.stdout)
    assert 'is already the key in force on every node' in proc.stdout
    chain.assert_up_and_intact()


def _pre_rollback_id(proc):
    match = re.search(r'pre-rollback backup: run (pre-rollback-[0-9TZ]+-[0-9a-f]+) ', proc.stdout)
    assert match, proc.stdout[-4000:]
    return match.group(1)


@pytest.mark.full
def test_rollback_of_a_file_to_file_rekey_is_checked_first_then_undone(chain):
    old_text, new_text = chain.keys[0], chain.keys[1]
    run_id = {m['run_id'] for m in chain.markers().values()}.pop()
    ack = {'lookerops_run_id': run_id, 'lookerops_rollback_discard_changes_since_run': True}
    before = chain.bed.inspect()
    # The rekey completed and the cluster served since: refused without the acknowledgement.
    proc = chain.run('rollback', {'lookerops_run_id': run_id})
    assert proc.returncode != 0 and 'run %s completed at' % run_id in proc.stdout, proc.stdout[-5000:]
    assert 'lookerops_rollback_discard_changes_since_run=true' in proc.stdout
    # Without the escrow of the key the backups were taken under, refused before anything is restored.
    retired = chain.controller.escrow_path[:-len('.vault')] + '-retired-%s.vault' % kcv(old_text).split(':')[1]
    os.rename(retired, retired + '.away')
    try:
        proc = chain.run('rollback', ack)
    finally:
        os.rename(retired + '.away', retired)
    assert proc.returncode != 0 and 'no node was touched' in proc.stdout, proc.stdout[-5000:]
    assert 'taken under %s' % kcv(old_text) in proc.stdout and 'Its escrow belongs at %s' % retired in proc.stdout
    assert chain.bed.inspect() == before and {chain.node_key(n) for n in chain.bed.nodes} == {new_text}
    chain.assert_up_and_intact()
    # Acknowledged: the old key goes back into the key file (it held the new one), its escrow is in force again.
    proc = chain.run('rollback', ack)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    chain.assert_up_and_intact()
    assert {chain.node_key(n) for n in chain.bed.nodes} == {old_text}
    assert {m['kcv'] for m in chain.markers().values()} == {kcv(old_text)}
    assert chain.escrow_kcv() == kcv(old_text)
    # The rolled back key leaves the nodes as a retired key does: no .replaced-* link of it (its escrow keeps it).
    for node in chain.bed.nodes:
        assert glob.glob(os.path.join(node.user_home, '.lookerops', '*.replaced-*')) == [], node.name
    # The pre-rollback backup undoes the rollback: the new key is back in force, key file and escrow included.
    proc = chain.run('rollback', {'lookerops_run_id': _pre_rollback_id(proc), 'lookerops_rollback_discard_changes_since_run': True})
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    chain.assert_up_and_intact()
    assert {chain.node_key(n) for n in chain.bed.nodes} == {new_text}
    assert {m['kcv'] for m in chain.markers().values()} == {kcv(new_text)}
    assert chain.escrow_kcv() == kcv(new_text)
    for node in chain.bed.nodes:
        assert glob.glob(os.path.join(node.user_home, '.lookerops', '*.replaced-*')) == [], node.name


def _replace_key_file(node, text):
    """Write another key into a node's key file as root, keeping mode 0400 (its time stamps change)."""
    path = os.path.join(node.user_home, '.lookerops', 'cmk.key')
    st = os.stat(path)
    os.chmod(path, 0o600)
    with open(path, 'w', encoding='ascii') as handle:
        handle.write(text + '\n')
    os.chmod(path, 0o400)
    return path, st


def _jar(node, release):
    from standin.install import build_jar  # pylint: disable=import-outside-toplevel
    build_jar(os.path.join(node.home, 'looker.jar'), release)


# Long tier: each refusal is a unit test (_rekey_plan, lk_node_info); the gate proves the wiring of the resume's refusals below.
@pytest.mark.full
def test_refusals_before_anything_stops(chain, tmp_path):
    """The old key does not open the data on a node; the new key cannot be escrowed; a release without rekey."""
    before = chain.bed.inspect()
    node = chain.bed.nodes[1]
    # A node whose key file changed after Looker started there: its key is not proven to open the data.
    path, st = _replace_key_file(node, chain.keys[0])
    try:
        proc = chain.run('rekey')
    finally:
        _replace_key_file(node, chain.keys[1])
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert proc.returncode != 0
    assert 'looker2' in proc.stdout and 'changed after Looker started' in proc.stdout, proc.stdout[-4000:]
    # The new key's escrow cannot be written (its directory would be under a regular file).
    blocker = tmp_path / 'not-a-directory'
    blocker.write_text('x')
    proc = chain.run('rekey', {'lookerops_cmk_escrow_path': str(blocker / 'cmk.vault')})
    assert proc.returncode != 0
    assert str(blocker) in proc.stdout, proc.stdout[-4000:]
    # A release before the offline key tasks.
    _jar(node, '6.2.0')
    try:
        proc = chain.run('rekey')
    finally:
        _jar(node, '23.0.0')
    assert proc.returncode != 0
    assert 'looker2' in proc.stdout and 'has no rekey task' in proc.stdout, proc.stdout[-4000:]
    # None of them touched anything: same key, same data, every node up and unfenced.
    assert chain.bed.inspect() == before
    assert {chain.node_key(n) for n in chain.bed.nodes} == {chain.keys[1]}
    assert chain.escrow_kcv() == kcv(chain.keys[1])
    chain.assert_up_and_intact()


def _kms(chain):
    import boto3  # pylint: disable=import-outside-toplevel
    env = chain.bed.aws_env()
    return boto3.client('kms', region_name='us-east-1', endpoint_url=env['AWS_ENDPOINT_URL'],
                        aws_access_key_id=env['AWS_ACCESS_KEY_ID'], aws_secret_access_key=env['AWS_SECRET_ACCESS_KEY'])


@pytest.mark.full
def test_local_to_aws_kms(chain):
    old = kcv(chain.keys[1])
    proc = chain.run('rekey', KMS_A)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    chain.assert_up_and_intact()
    for name, text in chain.cfgs().items():
        assert "LKR_AWS_CMK='alias/looker-rekey-a'" in text and 'LKR_MASTER_KEY' not in text, name
    arn = _kms(chain).describe_key(KeyId='alias/looker-rekey-a')['KeyMetadata']['Arn']
    assert {m['kcv'] for m in chain.markers().values()} == {'kms:' + arn}
    # The old local key left the nodes and the escrow in force; it is kept retired.
    for node in chain.bed.nodes:
        assert not os.path.exists(os.path.join(node.user_home, '.lookerops', 'cmk.key'))
        assert scan_tree(node.user_home, [chain.keys[1].encode()]) == [], node.name
    assert not os.path.exists(chain.controller.escrow_path)
    retired = chain.controller.escrow_path[:-len('.vault')] + '-retired-%s.vault' % old.split(':')[1]
    assert chain.escrow_kcv(retired) == old
    assert 'LKR_AWS_CMK_DESTINATION' in proc.stdout and 'inferred' in proc.stdout


# Long tier: KMS key A to key B and its rollback leave the chain on key A, as if they had not run.
@pytest.mark.full
def test_aws_kms_key_a_to_key_b_with_a_new_context(chain):
    proc = chain.run('rekey', KMS_B)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    chain.assert_up_and_intact()
    for name, text in chain.cfgs().items():
        assert "LKR_AWS_CMK='alias/looker-rekey-b'" in text and "LKR_AWS_CMK_EC='Rotated_Context_2026'" in text, name
    assert 'keep the AWS KMS key of kms:us-east-1/alias/looker-rekey-a' in proc.stdout
    # Idempotent on KMS too.
    proc = chain.run('rekey', KMS_B)
    assert proc.returncode == 0 and set(recap_changed(proc.stdout).values()) == {0}, proc.stdout[-3000:]


@pytest.mark.full
def test_rollback_of_a_kms_rekey_gives_back_the_old_kms_key(chain):
    run_id = {m['run_id'] for m in chain.markers().values()}.pop()
    proc = chain.run('rollback', {'lookerops_run_id': run_id, 'lookerops_rollback_discard_changes_since_run': True})
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    chain.assert_up_and_intact()
    for name, text in chain.cfgs().items():
        assert "LKR_AWS_CMK='alias/looker-rekey-a'" in text and 'Rotated_Context_2026' not in text, name
    assert 'nodes started on the key those backups were taken under, kms:' in proc.stdout


@pytest.mark.full
def test_aws_kms_to_a_local_key_in_the_environment(chain):
    proc = chain.run('rekey', {'lookerops_cmk_delivery': 'env'})
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    chain.assert_up_and_intact()
    new = chain.escrow_kcv()
    assert {m['kcv'] for m in chain.markers().values()} == {new}
    for name, text in chain.cfgs().items():
        assert 'LKR_MASTER_KEY_ENV=' in text and 'LKR_AWS_CMK' not in text, name
        chain.keys.append(text.split("LKR_MASTER_KEY_ENV='", 1)[1].split("'", 1)[0])
    assert {kcv(k) for k in chain.keys[-3:]} == {new}
    chain.keys[-3:] = chain.keys[-1:]


def test_crash_during_rekey_leaves_nodes_down_then_resume_completes(chain):
    chain.bed.set_standin(None, crash_rekey=True)
    try:
        proc = chain.run('rekey', {'lookerops_cmk_delivery': 'file'})
    finally:
        chain.bed.set_standin(None, crash_rekey=False)
    assert proc.returncode != 0
    assert 'FAILED in phase rekey' in proc.stdout, proc.stdout[-5000:]
    assert not any(all_alive(chain.bed).values()) and all(fences(chain.bed).values())
    resume = [ln for ln in proc.stdout.splitlines() if 'resume (after fixing the cause)' in ln]
    rollback = [ln for ln in proc.stdout.splitlines() if 'roll back to the old key' in ln]
    assert resume and rollback, proc.stdout[-5000:]
    run_id = resume[0].rsplit('lookerops_run_id=', 1)[1].strip().strip('",')
    assert 'lookerops.encryption.rekey -e lookerops_run_id=' + run_id in resume[0]
    proc = chain.run('rekey', {'lookerops_cmk_delivery': 'file', 'lookerops_run_id': run_id})
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    chain.assert_up_and_intact()
    chain.keys.append(chain.node_key())
    assert chain.escrow_kcv() == kcv(chain.keys[-1]) != kcv(chain.keys[-2])
    chain.rekey_run = run_id


@pytest.mark.full
def test_rollback_of_a_rekey_restores_the_old_key(chain):
    env_key = chain.keys[-2]
    proc = chain.run('rollback', {'lookerops_run_id': chain.rekey_run, 'lookerops_rollback_discard_changes_since_run': True})
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    chain.assert_up_and_intact()
    for name, text in chain.cfgs().items():
        assert "LKR_MASTER_KEY_ENV='%s'" % env_key in text and 'LKR_MASTER_KEY_FILE' not in text, name
    for node in chain.bed.nodes:
        assert not os.path.exists(os.path.join(node.user_home, '.lookerops', 'cmk.key'))
    assert {m['kcv'] for m in chain.markers().values()} == {kcv(env_key)}
    assert chain.escrow_kcv() == kcv(env_key)
    rolled_back = chain.controller.escrow_path[:-len('.vault')] + '-retired-%s.vault' % kcv(chain.keys[-1]).split(':')[1]
    assert chain.escrow_kcv(rolled_back) == kcv(chain.keys[-1])
    # A rekey after the rollback starts afresh (the rolled back rekey is forgotten).
    proc = chain.run('rekey', {'lookerops_cmk_delivery': 'env'})
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    chain.assert_up_and_intact()


def _rekey_state(chain):
    with open(os.path.join(chain.bed.nodes[0].user_home, '.lookerops-rekey.json'), encoding='utf-8') as handle:
        return json.load(handle)


def test_a_resume_goes_only_to_the_key_rekey_already_used(chain, tmp_path):
    """Rekey E -> B completes Looker's rekey and the controller dies before the nodes get B. A resume from a controller
    without <escrow>-next.vault, or naming another key D, is refused before anything changes (the state file, the only
    record on the nodes that the data is under B, stays); the resume with B's escrow completes, and no copy of E is left.
    E is the key in force: in the environment after the rollback test of the long tier, in a key file in the gate."""
    cfg = chain.cfgs()[chain.bed.nodes[0].name]
    if "LKR_MASTER_KEY_ENV='" in cfg:
        env_key = cfg.split("LKR_MASTER_KEY_ENV='", 1)[1].split("'", 1)[0]
    else:
        env_key = chain.node_key()
    chain.keys.append(env_key)
    proc = chain.run('rekey', {'lookerops_cmk_delivery': 'file'}, kill_at='CMK | Note the phase')
    assert proc.returncode != 0 and 'CMK | Note the phase] ***' in proc.stdout, proc.stdout[-4000:]
    state = _rekey_state(chain)
    assert state['state'] == 'done' and state['source'] == kcv(env_key)
    run_id, b_kcv = state['run_id'], state['destination']
    next_escrow = chain.controller.escrow_path[:-len('.vault')] + '-next.vault'
    assert chain.escrow_kcv(next_escrow) == b_kcv
    assert not any(all_alive(chain.bed).values()) and all(fences(chain.bed).values())
    # Looker's rekey moved the data to B: the key the nodes' settings still name (E) no longer opens it.
    with pytest.raises(BedError, match='does not decrypt'):
        chain.bed.inspect()
    # A second controller with the escrow in force and the vault password, but without the new key's escrow.
    other = Controller(str(tmp_path / 'other'))
    shutil.copyfile(chain.controller.vault_password_file, other.vault_password_file)
    os.makedirs(os.path.dirname(other.escrow_path), mode=0o700)
    shutil.copyfile(chain.controller.escrow_path, other.escrow_path)
    proc = run_playbook(chain.bed, 'rekey', other, {'lookerops_cmk_delivery': 'file', 'lookerops_run_id': run_id})
    chain.outputs.append(proc.stdout + proc.stderr)
    assert proc.returncode != 0
    assert b_kcv in proc.stdout and other.escrow_path[:-len('.vault')] + '-next.vault' in proc.stdout, proc.stdout[-4000:]
    assert 'A resume never generates a key' in proc.stdout
    assert not os.path.exists(other.escrow_path[:-len('.vault')] + '-next.vault')
    # Naming another key D on the resume is refused too.
    d_file = tmp_path / 'd.key'
    d_file.write_text(base64.b64encode(os.urandom(32)).decode() + '\n')
    os.chmod(str(d_file), 0o600)
    proc = chain.run('rekey', {'lookerops_cmk_delivery': 'file', 'lookerops_run_id': run_id, 'lookerops_cmk_key_file': str(d_file)})
    assert proc.returncode != 0 and 'a resumed rekey goes only to %s' % b_kcv in proc.stdout, proc.stdout[-4000:]
    # Nothing changed: the state file, the data, the nodes down and fenced.
    assert _rekey_state(chain) == state
    with pytest.raises(BedError, match='does not decrypt'):
        chain.bed.inspect()
    assert not any(all_alive(chain.bed).values()) and all(fences(chain.bed).values())
    # The resume with B's escrow completes on B: the data was under B all along.
    proc = chain.run('rekey', {'lookerops_cmk_delivery': 'file', 'lookerops_run_id': run_id})
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    chain.assert_up_and_intact()
    chain.keys.append(chain.node_key())
    assert kcv(chain.keys[-1]) == b_kcv == chain.escrow_kcv()
    for node in chain.bed.nodes:
        # No copy of E or of the key B replaced: no .replaced-* link of either (links an earlier rollback left for other
        # keys are not this run's to sweep).
        for gone in (kcv(env_key), b_kcv):
            assert glob.glob(os.path.join(node.user_home, '.lookerops', '*.replaced-%s' % gone.split(':')[1])) == [], node.name
        assert scan_tree(node.user_home, [env_key.encode()]) == [], node.name


def test_local_to_aws_kms_keeps_the_old_key_in_secrets_manager(chain):
    """lookerops_cmk_escrow=aws_secretsmanager (an AWX job's escrow): the old local key is escrowed in the secret before the
    stop, and leaves the nodes only once the secret is proven to hold it."""
    old_text = chain.node_key()
    secret = 'lookerops/e2e-rekey-sm/cmk'
    proc = chain.run('rekey', dict(KMS_A, lookerops_cmk_escrow='aws_secretsmanager', lookerops_cmk_escrow_aws_secret=secret,
                                   lookerops_cmk_escrow_aws_region='us-east-1'))
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    chain.assert_up_and_intact()
    import boto3  # pylint: disable=import-outside-toplevel
    env = chain.bed.aws_env()
    sm = boto3.client('secretsmanager', region_name='us-east-1', endpoint_url=env['AWS_ENDPOINT_URL'],
                      aws_access_key_id=env['AWS_ACCESS_KEY_ID'], aws_secret_access_key=env['AWS_SECRET_ACCESS_KEY'])
    assert kcv(sm.get_secret_value(SecretId=secret)['SecretString']) == kcv(old_text)
    for node in chain.bed.nodes:
        assert not os.path.exists(os.path.join(node.user_home, '.lookerops', 'cmk.key')), node.name
        assert scan_tree(node.user_home, [old_text.encode()]) == [], node.name
    assert 'old key %s: removed from every node' % kcv(old_text) in proc.stdout and secret in proc.stdout, proc.stdout[-4000:]


def test_no_key_bytes_in_any_output_or_leftover_file(chain):
    needles = [k.encode() for k in chain.keys]
    for output in chain.outputs:
        assert not [k for k in chain.keys if k in output]
    skip = set(glob.glob(os.path.join(chain.controller.workdir, 'escrow', '*.vault')))
    assert scan_tree(chain.controller.workdir, needles, skip=skip) == []
    for node in chain.bed.nodes:
        assert scan_tree(node.tmp_dir, needles) == []
