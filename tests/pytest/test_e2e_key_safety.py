# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end on the bed: the key Looker uses is never replaced, a refused migration gives service
back, one run per cluster at a time, the release is known before anything stops, new_install
never runs on an instance with data."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess

import pytest

from e2e.runner import Controller, run_playbook
from test_e2e_migrate import CLUSTER, SINGLE, all_alive, fences, fresh, scan_tree

KEY_ENV_RE = re.compile(r"LKR_MASTER_KEY_ENV='([^']+)'")


def cfg_text(node):
    with open(os.path.join(node.home, 'lookerstart.cfg'), encoding='utf-8') as handle:
        return handle.read()


def env_key(node):
    match = KEY_ENV_RE.search(cfg_text(node))
    return match.group(1) if match else None


def needles(key_text):
    raw = base64.b64decode(key_text)
    return [key_text.encode(), raw, raw.hex().encode()]


def build_jar(node, release, manifest_release=True):
    from standin.install import build_jar as _build  # pylint: disable=import-outside-toplevel
    _build(os.path.join(node.home, 'looker.jar'), release, manifest_release=manifest_release)


def lock_file(node):
    return os.path.join(node.user_home, '.lookerops-run.lock')


# --- issue case 1: env delivery, then a controller without the escrow ----------------------------

@pytest.fixture(scope='module')
def env_migrated(bed_factory, tmp_path_factory):
    bed = fresh(bed_factory, dict(CLUSTER, name='e2e-keysafe', nodes=2))
    first = Controller(str(tmp_path_factory.mktemp('first') / 'controller'))
    proc = run_playbook(bed, 'migrate', first, extra_vars={'lookerops_cmk_delivery': 'env'})
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    key = env_key(bed.nodes[0])
    assert key and all(env_key(n) == key for n in bed.nodes)
    return bed, key


def test_a_controller_without_the_escrow_recovers_the_key_and_never_replaces_it(env_migrated, tmp_path):
    bed, key = env_migrated
    before = bed.inspect()
    # A new controller: empty home, no escrow; the default escrow name is derived from the cluster.
    controller = Controller(str(tmp_path / 'new-laptop'))
    proc = run_playbook(bed, 'migrate', controller, extra_vars={'lookerops_cmk_delivery': 'env', 'lookerops_cmk_escrow_path': ''},
                        env_extra={'HOME': controller.workdir}, verbosity=4)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert all(env_key(n) == key for n in bed.nodes), 'the key Looker uses was replaced'
    assert 'escrowed again from looker1' in out
    escrows = [os.path.join(dp, f) for dp, _d, fs in os.walk(os.path.join(controller.workdir, '.lookerops', 'escrow'))
               for f in fs if f.endswith('-cmk.vault')]
    assert len(escrows) == 1 and os.path.basename(escrows[0]) != 'looker-cmk.vault', escrows
    assert oct(os.stat(escrows[0]).st_mode & 0o777) == '0o600'
    # The escrow holds the nodes' key: decrypt it with the vault password and compare.
    dec = subprocess.run([os.path.join(os.path.dirname(bed.python), 'ansible-vault'), 'view', '--vault-password-file',
                          controller.vault_password_file, escrows[0]], capture_output=True, text=True, check=True)
    assert dec.stdout.strip() == key
    leaked = [line[:3000] for line in out.splitlines() if any(n in line.encode() for n in needles(key))]
    assert not leaked, 'key material in the -vvvv output: %s' % leaked
    assert scan_tree(controller.workdir, needles(key), skip={escrows[0]}) == []
    after = bed.inspect()
    assert after['digest'] == before['digest'] and after['gcm'] == after['total']
    assert all(all_alive(bed).values())


def test_check_mode_without_the_escrow_predicts_the_recovery_and_writes_nothing(env_migrated, tmp_path):
    bed, key = env_migrated
    controller = Controller(str(tmp_path / 'check'))
    proc = run_playbook(bed, 'migrate', controller, extra_vars={'lookerops_cmk_delivery': 'env'}, check=True)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    assert 'would be escrowed again from looker1' in proc.stdout
    assert not os.path.exists(controller.escrow_path)
    assert all(env_key(n) == key for n in bed.nodes)


def test_nodes_that_disagree_on_the_key_are_refused_before_anything(env_migrated, tmp_path):
    bed, key = env_migrated
    node = bed.nodes[1]
    original = cfg_text(node)
    other = base64.b64encode(os.urandom(32)).decode()
    try:
        with open(os.path.join(node.home, 'lookerstart.cfg'), 'w', encoding='utf-8') as handle:
            handle.write(original.replace(key, other))
        before = bed.inspect()
        controller = Controller(str(tmp_path / 'disagree'))
        proc = run_playbook(bed, 'migrate', controller, extra_vars={'lookerops_cmk_delivery': 'env'})
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0
        assert 'nodes disagree on the key' in out and 'looker1=kcv1:' in out and 'looker2=kcv1:' in out
        assert not os.path.exists(controller.escrow_path)
        assert env_key(bed.nodes[0]) == key and env_key(node) == other
        assert bed.inspect() == before and not any(fences(bed).values())
        assert not any(n in out.encode() for n in needles(key) + needles(other))
    finally:
        with open(os.path.join(node.home, 'lookerstart.cfg'), 'w', encoding='utf-8') as handle:
            handle.write(original)


def test_a_different_key_for_a_migrated_instance_is_refused(env_migrated, tmp_path):
    bed, key = env_migrated
    other = base64.b64encode(os.urandom(32)).decode()
    controller = Controller(str(tmp_path / 'other-key'))
    proc = run_playbook(bed, 'migrate', controller, extra_vars={'lookerops_cmk_delivery': 'env', 'lookerops_cmk_key': other})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and 'is never replaced' in out and 'rekey' in out
    assert all(env_key(n) == key for n in bed.nodes)
    in_use = re.search(r'looker1: Looker on this node uses the key (kcv1:[0-9a-f]{16})', out)
    assert in_use, out[-4000:]
    # Naming the key to replace is not enough on an instance that carries the migrated marker.
    replace = {'lookerops_cmk_delivery': 'env', 'lookerops_cmk_key': other, 'lookerops_cmk_replace_kcv': in_use.group(1)}
    proc = run_playbook(bed, 'migrate', controller, extra_vars=replace)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and 'the key this instance was migrated with' in out
    assert all(env_key(n) == key for n in bed.nodes) and all(all_alive(bed).values())


# --- one run per cluster at a time ---------------------------------------------------------------

def test_a_second_run_is_refused_by_the_lock_and_never_overrides_it(env_migrated, tmp_path):
    bed = env_migrated[0]
    first = bed.nodes[0]
    holder = {'run_id': '20261201T000000Z-abcdef', 'controller': 'alice@ops-laptop', 'taken': '2026-12-01 00:00:00'}
    with open(lock_file(first), 'w', encoding='utf-8') as handle:
        json.dump(holder, handle)
    try:
        proc = run_playbook(bed, 'migrate', Controller(str(tmp_path / 'second')), extra_vars={'lookerops_cmk_delivery': 'env'})
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0
        assert '20261201T000000Z-abcdef' in out and 'alice@ops-laptop' in out and 'One run per cluster' in out
        with open(lock_file(first), encoding='utf-8') as handle:
            assert json.load(handle) == holder
        assert not os.path.exists(lock_file(bed.nodes[1]))
        assert all(all_alive(bed).values()) and not any(fences(bed).values())
    finally:
        os.unlink(lock_file(first))


@pytest.mark.full
def test_two_runs_started_together_one_goes_on(bed_factory, tmp_path):
    bed = fresh(bed_factory, dict(SINGLE, name='e2e-race'))
    before = bed.inspect()
    procs = []
    from e2e import runner  # pylint: disable=import-outside-toplevel
    for name in ('a', 'b'):
        controller = Controller(str(tmp_path / name))
        env = bed.ansible_env()
        env.update({'ANSIBLE_COLLECTIONS_PATH': runner.collections_path(), 'ANSIBLE_LOCAL_TEMP': controller.tmp,
                    'ANSIBLE_PIPELINING': 'True', 'ANSIBLE_NOCOLOR': '1'})
        argv = [os.path.join(os.path.dirname(bed.python), 'ansible-playbook'), '-i', bed.inventory, 'lookerops.encryption.migrate',
                '-e', json.dumps({'lookerops_cmk_escrow_path': os.path.join(str(tmp_path), 'shared-escrow', 'cmk.vault')}),
                '--vault-password-file', Controller(str(tmp_path / 'a')).vault_password_file]
        procs.append(subprocess.Popen(argv, env=env, cwd=controller.workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outs = []
    for proc in procs:
        outs.append((proc.communicate(timeout=900)[0], proc.returncode))
    codes = sorted(rc for out, rc in outs)
    assert codes[0] == 0 and codes[1] != 0, [out[-3000:] for out, rc in outs]
    loser = [out for out, rc in outs if rc != 0][0]
    assert 'held by lookerops.encryption run' in loser, loser[-4000:]
    after = bed.inspect()
    assert after['digest'] == before['digest'] and after['legacy'] == 0
    assert all(all_alive(bed).values()) and not os.path.exists(lock_file(bed.nodes[0]))


# --- issue case 2: the release, and a refused migration gives service back -----------------------

@pytest.fixture
def old_single(bed_factory):
    """One legacy node whose looker.jar manifest names no release (the stand-in knows it is 6.2)."""
    bed = fresh(bed_factory, dict(SINGLE, name='e2e-old'))
    node = bed.nodes[0]
    node.looker('stop', timeout=60)
    bed.set_watchdog(node.name, False)
    build_jar(node, '6.2.0', manifest_release=False)
    node.looker('start', timeout=120)
    yield bed
    build_jar(node, '23.0.0')


@pytest.mark.full
def test_release_from_the_api_when_the_manifest_names_none(old_single, tmp_path):
    bed = old_single
    before = bed.inspect()
    proc = run_playbook(bed, 'migrate', Controller(str(tmp_path / 'c')))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and 'Looker 6.2.0 has no migrate_encryption task' in out
    assert bed.inspect() == before and all(all_alive(bed).values())


@pytest.mark.full
def test_unknown_release_is_refused_unless_stated(old_single, tmp_path):
    bed = old_single
    node = bed.nodes[0]
    node.looker('stop', timeout=60)
    proc = run_playbook(bed, 'migrate', Controller(str(tmp_path / 'c')))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and 'cannot tell the Looker release' in out and 'lookerops_looker_release' in out
    assert not any(fences(bed).values()) and 'LKR_MASTER_KEY' not in cfg_text(node)


@pytest.mark.full
def test_a_refused_migration_gives_service_back(old_single, tmp_path):
    bed = old_single
    node = bed.nodes[0]
    before = bed.inspect()
    cfg_before = cfg_text(node)
    # The node is down, so its API cannot tell the release, and the operator states a wrong one:
    # preflight passes, Looker itself refuses the task.
    node.looker('stop', timeout=60)
    proc = run_playbook(bed, 'migrate', Controller(str(tmp_path / 'c')), extra_vars={'lookerops_looker_release': '23.0.0'})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert 'Could not find task "migrate_encryption"' in out
    match = re.search(r'nothing was migrated; service restored; downtime ([0-9.]+) s', out)
    assert match and float(match.group(1)) > 0, out[-5000:]
    assert all(all_alive(bed).values()) and not any(fences(bed).values())
    assert cfg_text(node) == cfg_before, 'the key settings the node had before were not put back'
    assert bed.inspect() == before
    assert not os.path.exists(lock_file(node))


# --- issue case 7: new_install on an instance with data --------------------------------------------

@pytest.mark.full
def test_new_install_refuses_an_instance_with_data(bed_factory, tmp_path):
    bed = fresh(bed_factory, dict(SINGLE, name='e2e-newdata'))
    before = bed.inspect()
    proc = run_playbook(bed, 'new_install', Controller(str(tmp_path / 'c')))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and 'not a new instance' in out and 'lookerops.encryption.migrate' in out
    assert bed.inspect() == before and all(all_alive(bed).values())
    assert not os.path.exists(os.path.join(bed.nodes[0].home, '.lookerops-encryption.json'))
