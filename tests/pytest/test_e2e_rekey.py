# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end on the bed: lookerops.encryption.rekey in every direction (local -> new local, local -> AWS KMS,
KMS key A -> KMS key B with a new encryption context, KMS -> local), its refusals, a crash during rekey and its resume,
and the rollback of a rekey. One bed (with moto for KMS) walks through the directions in order: each test starts from
the state the one before left, as a real instance would."""

from __future__ import annotations

import json
import os
import sys

import pytest

from e2e.runner import Controller, collections_path, run_playbook
from test_e2e_migrate import ArgvWatcher, all_alive, fences, fresh, recap_changed, scan_tree

REKEY_CLUSTER = {'name': 'e2e-rekey', 'nodes': 3, 'cluster': True, 'moto': True,
                 'standin': {'start_seconds': 0.3, 'stop_seconds': 0.3, 'migrate_seconds': 1, 'live_window_seconds': 4}}
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
        proc = chain.run('rekey', verbosity=4)
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
    # the escrow in force holds the new key; the old one is kept, retired, with its note
    assert chain.escrow_kcv() == new
    retired = chain.controller.escrow_path[:-len('.vault')] + '-retired-%s.vault' % old.split(':')[1]
    assert chain.escrow_kcv(retired) == old
    assert oct(os.stat(retired).st_mode & 0o777) == '0o600'
    with open(retired + '.json', encoding='utf-8') as handle:
        note = json.load(handle)
    assert note['kcv'] == old and note['retired_utc'] and 'backup' in note['keep']
    assert not os.path.exists(chain.controller.escrow_path[:-len('.vault')] + '-next.vault')
    assert 'rekey: %s -> %s' % (old, new) in proc.stdout
    assert 'invalidated' in proc.stdout and 'cache' in proc.stdout
    # the keys reached the task in its environment only
    for text in chain.keys:
        assert not [argv for argv in watcher.seen if text.encode() in argv]
        assert text not in proc.stdout and text not in proc.stderr
