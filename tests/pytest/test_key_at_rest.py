# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end on the bed: the key never rests on a node's disk outside its key file and lookerstart.cfg.

- A migration with pipelining off and ANSIBLE_KEEP_REMOTE_FILES=1 (remote AnsiballZ files are kept, and
  the test proves they were) leaves no key bytes anywhere under a node's directories, for both deliveries.
- Temp files with key bytes that an interrupted write left (planted before the run) never enter the home
  backup and are gone from the node afterwards.
- The systemd drop-in never holds the key, and the node_env role itself runs ``systemctl daemon-reload``
  (a fake systemctl first on the node's PATH records the calls) when the drop-in changed, and only then.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess

import pytest
import yaml

from e2e.runner import Controller, collections_path, run_playbook
from test_e2e_migrate import CLUSTER, KEY_PATH, SINGLE, all_alive, fresh, scan_tree

CFG = 'lookerstart.cfg'
NO_FILES_ENV = {'ANSIBLE_PIPELINING': 'False', 'ANSIBLE_KEEP_REMOTE_FILES': '1'}
# The names AtomicFile gives its temp files ('.<name>.' + 8 characters of mkstemp + '.tmp').
STALE_CFG_TMP = '.lookerstart.cfg.k2x9q1a_.tmp'
STALE_KEY_TMP = '.cmk.key.k2x9q1a_.tmp'
# A Python that every bed node runs (the node's /usr/bin/python3, as the inventory says).
ARCHIVE_SCAN = r'''
import glob, json, sys, tarfile
needles = [bytes.fromhex(h) for h in sys.stdin.read().split()]
out = {}
for path in glob.glob('/var/backups/lookerops/*/*-looker-home.tar.gz'):
    names, hits = [], []
    with tarfile.open(path, 'r:gz') as tar:
        for member in tar:
            names.append(member.name)
            if member.isreg() and any(n in tar.extractfile(member).read() for n in needles):
                hits.append(member.name)
    out[path] = {'names': names, 'hits': hits}
print(json.dumps(out))
'''


def needles_of(key_text):
    raw = base64.b64decode(key_text)
    return [key_text.encode(), raw, raw.hex().encode()]


def no_pipelining_inventory(bed, path, key_text):
    """The bed's inventory with pipelining off for the nodes (the bed turns it on per host) and the key as a
    group variable (so that the planted files can hold the key of the run without putting it in an argv)."""
    with open(bed.inventory, encoding='utf-8') as handle:
        data = yaml.safe_load(handle)
    group_vars = data['all']['children']['looker_nodes']['vars']
    group_vars.update(ansible_ssh_pipelining=False, lookerops_cmk_key=key_text)
    path.write_text(yaml.safe_dump(data), encoding='utf-8')
    os.chmod(path, 0o600)
    return str(path)


def plant(node, path, data, mode='0600'):
    """A file as an interrupted write leaves it, owned by the Looker user."""
    node.run(['sh', '-c', 'umask 077 && mkdir -p "$(dirname "$1")" && cat > "$1" && chmod %s "$1"' % mode, 'sh', path],
             input=data, check=True)


def kept_ansiballz(node):
    found = []
    for dirpath, _dirs, files in os.walk(node.root_dir):
        found += [os.path.join(dirpath, n) for n in files if n.startswith('AnsiballZ_')]
    return found


@pytest.mark.parametrize('delivery, spec', [('file', CLUSTER), pytest.param('env', SINGLE, marks=pytest.mark.full)])
def test_no_key_bytes_on_a_node_without_pipelining(bed_factory, tmp_path, delivery, spec):
    bed = fresh(bed_factory, spec)
    before = bed.inspect()
    key_text = base64.b64encode(os.urandom(32)).decode()
    needles = needles_of(key_text)
    # Leftovers of an interrupted earlier write, holding the key this run will use.
    for node in bed.nodes:
        plant(node, '/home/looker/looker/' + STALE_CFG_TMP, "export LKR_MASTER_KEY_ENV='%s'\n" % key_text)
        if delivery == 'file':
            plant(node, os.path.join(os.path.dirname(KEY_PATH), STALE_KEY_TMP), key_text + '\n', mode='0400')
    controller = Controller(str(tmp_path / 'controller'))
    proc = run_playbook(bed, 'migrate', controller, inventory=no_pipelining_inventory(bed, tmp_path / 'inventory.yml', key_text),
                        extra_vars={'lookerops_cmk_delivery': delivery}, env_extra=dict(NO_FILES_ENV))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    after = bed.inspect()
    assert after['legacy'] == 0 and after['digest'] == before['digest']
    assert all(all_alive(bed).values())
    assert not any(n in out.encode() for n in needles)
    assert 'temporary file(s) that an interrupted write had left' in ' '.join(out.split()), out[-4000:]

    for node in bed.nodes:
        # The run really kept its remote files (so the configuration was in force) ...
        kept = [os.path.basename(p) for p in kept_ansiballz(node)]
        assert 'AnsiballZ_lk_backup.py' in kept, (node.name, kept)
        # ... except for the modules that carried the key: lk_cmk always, lk_node_env with the key in the environment.
        assert 'AnsiballZ_lk_cmk.py' not in kept, (node.name, kept)
        assert ('AnsiballZ_lk_node_env.py' in kept) is (delivery == 'file'), (node.name, kept)
        key_file = os.path.join(node.user_home, '.lookerops', 'cmk.key')
        cfg = os.path.join(node.home, CFG)
        allowed = {key_file} if delivery == 'file' else {cfg}
        # Every file under the node's directories (home, /root, /tmp, logs, ...): only the one that must hold it.
        hits = scan_tree(node.dir, needles)
        assert set(hits) == allowed, (node.name, hits)
        assert not os.path.exists(os.path.join(node.home, STALE_CFG_TMP))
        assert not os.path.exists(os.path.join(node.user_home, '.lookerops', STALE_KEY_TMP))
        # The home backup (written before the owners removed the leftovers) left the temp file out.
        res = node.run(['/usr/bin/python3', '-c', ARCHIVE_SCAN], user='root', input=' '.join(n.hex() for n in needles), check=True)
        archives = json.loads(res.stdout)
        assert len(archives) == 1, archives
        for archive in archives.values():
            assert 'looker/' + CFG in archive['names'] and 'looker/' + STALE_CFG_TMP not in archive['names']
            assert archive['hits'] == []
    assert scan_tree(bed.shared_dir, needles) == []


# --- systemd: the drop-in never holds the key; the role reloads systemd itself ------------------

FAKE_SYSTEMCTL = '''#!/bin/sh
# Test double: records how it was called.
printf '%s\\n' "$*" >> /root/systemctl.calls
'''
DROPIN = '/root/systemd/looker.service.d/lookerops-encryption.conf'
NODE_ENV_PLAY = '''---
- name: Key settings only
  hosts: looker_nodes
  gather_facts: false
  become: true
  roles:
    - role: lookerops.encryption.node_env
'''


def run_node_env(bed, tmp_path, variables):
    play = tmp_path / 'node_env.yml'
    play.write_text(NODE_ENV_PLAY, encoding='utf-8')
    vars_file = tmp_path / 'vars.yml'
    vars_file.write_text(yaml.safe_dump(variables), encoding='utf-8')
    os.chmod(vars_file, 0o600)
    env = bed.ansible_env()
    env.update({'ANSIBLE_COLLECTIONS_PATH': collections_path(), 'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_RETRY_FILES_ENABLED': 'False',
                'ANSIBLE_LOCAL_TEMP': str(tmp_path / 'ansible-tmp')})
    argv = [os.path.join(os.path.dirname(bed.python), 'ansible-playbook'), '-i', bed.inventory, str(play), '-e', '@' + str(vars_file)]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False, cwd=str(tmp_path))


def test_systemd_dropin_without_the_key_and_daemon_reload(bed_factory, tmp_path):
    bed = fresh(bed_factory, SINGLE)
    node = bed.nodes[0]
    fake = os.path.join(node.bin_dir, 'systemctl')  # /usr/local/bin on the node: first on root's PATH
    calls = os.path.join(node.root_dir, 'systemctl.calls')
    key_text = base64.b64encode(os.urandom(32)).decode()
    with open(fake, 'w', encoding='utf-8') as handle:
        handle.write(FAKE_SYSTEMCTL)
    os.chmod(fake, 0o755)
    try:
        base = {'lookerops_systemd_dropin': DROPIN, 'lookerops_cmk_key': key_text, 'lookerops_cmk_escrow': 'none',
                'lookerops_cmk_escrow_waiver': 'I have escrowed the CMK myself'}

        def reloads():
            if not os.path.exists(calls):
                return []
            with open(calls, encoding='utf-8') as handle:
                return [line.strip() for line in handle if line.strip()]

        proc = run_node_env(bed, tmp_path, dict(base, node_env_mode='key_env'))
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        assert reloads() == ['daemon-reload']
        dropin = os.path.join(node.root_dir, 'systemd', 'looker.service.d', 'lookerops-encryption.conf')
        env_file = dropin[:-len('.conf')] + '.env'
        with open(dropin, encoding='utf-8') as handle:
            text = handle.read()
        assert key_text not in text and 'LKR_MASTER_KEY_ENV' not in text
        assert 'EnvironmentFile=/root/systemd/looker.service.d/lookerops-encryption.env\n' in text
        st = os.stat(env_file)
        assert oct(st.st_mode & 0o777) == '0o600' and st.st_uid == 0
        with open(env_file, encoding='utf-8') as handle:
            assert handle.read() == 'LKR_MASTER_KEY_ENV=%s\n' % key_text
        # Same settings again: nothing changed, no reload.
        proc = run_node_env(bed, tmp_path, dict(base, node_env_mode='key_env'))
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert reloads() == ['daemon-reload']
        # The settings go: drop-in and environment file removed, systemd reloaded once more.
        proc = run_node_env(bed, tmp_path, dict(base, node_env_mode='absent'))
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert reloads() == ['daemon-reload', 'daemon-reload']
        assert not os.path.exists(dropin) and not os.path.exists(env_file)
    finally:
        for path in (fake, calls):
            if os.path.exists(path):
                os.unlink(path)


# --- a connection that cannot pipeline: refused in preflight, before any node is touched --------

def test_become_su_is_refused_before_anything_is_sent(bed_factory, tmp_path):
    bed = fresh(bed_factory, SINGLE)
    before = bed.inspect()
    controller = Controller(str(tmp_path / 'controller'))
    proc = run_playbook(bed, 'migrate', controller, extra_vars={'ansible_become_method': 'su'})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-4000:]
    flat = ' '.join(out.split())
    assert 'become method su cannot pipeline' in flat and 'become_method: sudo' in flat, out[-4000:]
    assert 'changed: [' not in proc.stdout, proc.stdout[-4000:]
    node = bed.nodes[0]
    assert not os.path.exists(os.path.join(node.user_home, '.lookerops', 'cmk.key'))
    assert all(all_alive(bed).values()) and bed.inspect() == before
    assert not [p for p in os.listdir(node.home) if p == '.deploying']
