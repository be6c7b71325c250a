# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real ansible-playbook runs of lk_cmk and lk_node_env against local-connection hosts.

Temp directories stand in for the nodes' paths (owner: the current user). The collection is made
importable through a temp ANSIBLE_COLLECTIONS_PATH holding a symlink to this checkout.
"""

from __future__ import annotations

import base64
import json
import os
import pwd
import stat
import subprocess
import sys

import pytest

from ansible.parsing.vault import VaultLib, VaultSecret

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOKS = os.path.join(REPO, 'tests', 'pytest', 'key_playbooks')
VAULT_PASSWORD = 'pytest-vault-password-key-playbooks'
HOSTS = ('node1', 'node2', 'node3')
OWNER = pwd.getpwuid(os.getuid()).pw_name
WAIVER = 'I have escrowed the CMK myself'


def _ansible_bin():
    for candidate in (os.path.join(REPO, '.venv', 'bin'), os.path.dirname(sys.executable)):
        if os.access(os.path.join(candidate, 'ansible-playbook'), os.X_OK):
            return candidate
    raise RuntimeError('ansible-playbook not found in the checkout\'s .venv/bin nor beside %s; run tests/scripts/setup.sh' % sys.executable)


def _kcv(key_text):
    # Imported lazily: the collection is importable through tests/unit/conftest.py or the temp tree.
    from ansible_collections.lookerops.encryption.plugins.module_utils._key_material import kcv_of_text
    return kcv_of_text(key_text)


class Env:
    """One temp world: collection path, vault password file, node roots, escrow, results."""

    def __init__(self, root):
        self.root = str(root)
        self.collections = os.path.join(self.root, 'collections')
        link = os.path.join(self.collections, 'ansible_collections', 'lookerops', 'encryption')
        os.makedirs(os.path.dirname(link))
        os.symlink(REPO, link)
        if self.collections not in sys.path:
            sys.path.insert(0, self.collections)
        self.vault_file = os.path.join(self.root, 'vault-pass')
        with open(os.open(self.vault_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), 'w') as handle:
            handle.write(VAULT_PASSWORD + '\n')
        self.nodes = os.path.join(self.root, 'nodes')
        for host in HOSTS:
            os.makedirs(os.path.join(self.nodes, host, 'home', 'looker'))
        self.escrow = os.path.join(self.root, 'controller', 'escrow', 'looker-cmk.vault')
        self.results = os.path.join(self.root, 'results')
        os.makedirs(self.results)
        self.tmp = os.path.join(self.root, 'ansible-tmp')
        os.makedirs(self.tmp)
        self.bin = _ansible_bin()

    def key_path(self, host):
        return os.path.join(self.nodes, host, 'home', '.lookerops', 'cmk.key')

    def run(self, extra=None, check=False, verbose=False, forks=3, limit=None, vault=True):
        for name in os.listdir(self.results):
            os.unlink(os.path.join(self.results, name))
        variables = {'node_root': self.nodes, 'node_owner': OWNER, 'results_dir': self.results, 'escrow_path': self.escrow}
        variables.update(extra or {})
        argv = [os.path.join(self.bin, 'ansible-playbook'), '-i', os.path.join(PLAYBOOKS, 'inventory.yml'), '--forks', str(forks),
                '-e', json.dumps(variables), os.path.join(PLAYBOOKS, 'cmk.yml')]
        if vault:
            argv += ['--vault-password-file', self.vault_file]
        if check:
            argv.append('--check')
        if verbose:
            argv.append('-vvvv')
        if limit:
            argv += ['--limit', limit]
        env = {
            'PATH': '%s:/usr/local/bin:/usr/bin:/bin' % self.bin,
            'HOME': os.path.join(self.root, 'home'),
            'LC_ALL': 'C.UTF-8',
            'ANSIBLE_COLLECTIONS_PATH': self.collections,
            'ANSIBLE_CONFIG': os.path.join(self.root, 'no-ansible.cfg'),
            'ANSIBLE_LOCAL_TEMP': os.path.join(self.tmp, 'local'),
            'ANSIBLE_REMOTE_TMP': os.path.join(self.tmp, 'remote'),
            'ANSIBLE_KEEP_REMOTE_FILES': '0',
            'ANSIBLE_HOST_KEY_CHECKING': 'False',
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_RETRY_FILES_ENABLED': 'False',
        }
        proc = subprocess.run(argv, cwd=self.root, env=env, capture_output=True, text=True, timeout=300, check=False)
        results = {}
        for host in HOSTS:
            path = os.path.join(self.results, host + '.json')
            if os.path.exists(path):
                with open(path, encoding='utf-8') as handle:
                    results[host] = json.load(handle)
        return proc, results

    def escrow_key(self):
        with open(self.escrow, 'rb') as handle:
            return VaultLib([('default', VaultSecret(VAULT_PASSWORD.encode()))]).decrypt(handle.read()).decode().strip()


@pytest.fixture
def env(tmp_path):
    world = Env(tmp_path)
    yield world
    if world.collections in sys.path:
        sys.path.remove(world.collections)


def _ok(proc, results, hosts=HOSTS):
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert sorted(results) == sorted(hosts), proc.stdout[-4000:]
    for host in hosts:
        assert not results[host]['cmk'].get('failed'), results[host]['cmk'].get('msg')


def test_lifecycle(env):
    # 1. generate -> escrow written and verified -> key file 0400 with the right kcv
    proc, results = env.run(limit='node1')
    _ok(proc, results, ['node1'])
    first = results['node1']['cmk']
    assert first['changed'] is True and first['generated'] is True and first['escrow_written'] is True and first['escrow_verified'] is True
    assert stat.S_IMODE(os.stat(env.escrow).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(env.escrow)).st_mode) == 0o700
    key = env.escrow_key()
    assert first['kcv'] == _kcv(key)
    key_path = env.key_path('node1')
    st = os.stat(key_path)
    assert stat.S_IMODE(st.st_mode) == 0o400 and st.st_uid == os.getuid()
    assert stat.S_IMODE(os.stat(os.path.dirname(key_path)).st_mode) == 0o700
    with open(key_path, encoding='ascii') as handle:
        assert handle.read() == key + '\n'

    # 2. second run: nothing to do
    proc, results = env.run(limit='node1')
    _ok(proc, results, ['node1'])
    second = results['node1']['cmk']
    assert second['changed'] is False and second['generated'] is False and second['escrow_verified'] is True
    assert second['kcv'] == first['kcv']

    # 3. check mode: nothing to do either
    proc, results = env.run(limit='node1', check=True)
    _ok(proc, results, ['node1'])
    assert results['node1']['cmk']['changed'] is False

    # check mode on a node without the key says changed, writes nothing
    proc, results = env.run(limit='node2', check=True)
    _ok(proc, results, ['node2'])
    assert results['node2']['cmk']['changed'] is True and not os.path.exists(os.path.dirname(env.key_path('node2')))

    # 4a. a different provided key is refused on the controller (escrow holds another key)
    other = base64.b64encode(os.urandom(32)).decode()
    proc, results = env.run(limit='node1', extra={'cmk_key': other})
    refused = results['node1']['cmk']
    assert refused['failed'] is True and first['kcv'] in refused['msg'] and _kcv(other) in refused['msg']
    assert env.escrow_key() == key

    # 4b. ... and on the node with on_different_key=fail (default), even without escrow
    proc, results = env.run(limit='node1', extra={'cmk_key': other, 'cmk_escrow': 'none', 'cmk_waiver': WAIVER})
    refused = results['node1']['cmk']
    assert refused['failed'] is True and 'rekey' in refused['msg'] and 'on_different_key=fail' in refused['msg']
    with open(key_path, encoding='ascii') as handle:
        assert handle.read() == key + '\n'

    # 5. escrow=none without the waiver fails, with the waiver text named
    proc, results = env.run(limit='node2', extra={'cmk_key': other, 'cmk_escrow': 'none'})
    failed = results['node2']['cmk']
    assert failed['failed'] is True and WAIVER in failed['msg']
    assert not os.path.exists(env.key_path('node2'))

    # 6. lookerstart.cfg block pointing at the key file
    proc, results = env.run(limit='node1', extra={'env_mode': 'key_file'})
    _ok(proc, results, ['node1'])
    node_env = results['node1']['env']
    assert node_env['changed'] is True and node_env['mode'] == 'key_file' and node_env['kcv'] == first['kcv']
    cfg = os.path.join(env.nodes, 'node1', 'home', 'looker', 'lookerstart.cfg')
    with open(cfg, encoding='utf-8') as handle:
        assert "export LKR_MASTER_KEY_FILE='%s'\n" % key_path in handle.read()
    assert stat.S_IMODE(os.stat(cfg).st_mode) == 0o600
    proc, results = env.run(limit='node1', extra={'env_mode': 'key_file'})
    assert results['node1']['env']['changed'] is False


def test_no_vault_secret_fails_before_writing(env):
    proc, results = env.run(limit='node1', vault=False)
    failed = results['node1']['cmk']
    assert failed['failed'] is True and '--vault-password-file' in failed['msg'] and '--vault-id' in failed['msg']
    assert not os.path.exists(os.path.dirname(env.escrow)) and not os.path.exists(env.key_path('node1'))


def test_parallel_hosts_share_one_key(env):
    proc, results = env.run(forks=3)
    _ok(proc, results)
    kcvs = {results[host]['cmk']['kcv'] for host in HOSTS}
    assert len(kcvs) == 1
    assert sum(1 for host in HOSTS if results[host]['cmk']['generated']) == 1
    key = env.escrow_key()
    assert kcvs == {_kcv(key)}
    for host in HOSTS:
        with open(env.key_path(host), encoding='ascii') as handle:
            assert handle.read() == key + '\n'


def test_key_never_leaks(env):
    proc, results = env.run(verbose=True, extra={'env_mode': 'key_env'})
    _ok(proc, results)
    assert '<node1>' in proc.stdout or 'ESTABLISH LOCAL CONNECTION' in proc.stdout  # -vvvv really ran
    key = env.escrow_key()
    raw = base64.b64decode(key)
    needles = [key, key.encode().hex(), raw.hex(), raw.hex().upper(), base64.urlsafe_b64encode(raw).decode()]
    output = proc.stdout + proc.stderr
    for needle in needles:
        assert needle not in output
    with open(os.path.join(env.results, 'node1.json'), encoding='utf-8') as handle:
        dumped = handle.read()
    assert results['node1']['env']['kcv'] == _kcv(key) and results['node1']['env']['escrow_verified'] is True
    assert 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER' in dumped or 'invocation' not in dumped
    # Legitimate holders: the key files, the escrow (vault-encrypted: the key is not in it as text),
    # and lookerstart.cfg (mode key_env puts the key there by design, 0600).
    allowed = {env.key_path(host) for host in HOSTS}
    allowed |= {os.path.join(env.nodes, host, 'home', 'looker', 'lookerstart.cfg') for host in HOSTS}
    for path in allowed:
        assert stat.S_IMODE(os.stat(path).st_mode) in (0o400, 0o600)
    scanned = 0
    for directory, dirnames, filenames in os.walk(env.root):
        if directory == env.collections:
            dirnames[:] = []
            continue
        for name in filenames:
            path = os.path.join(directory, name)
            if os.path.islink(path) or path in allowed:
                continue
            with open(path, 'rb') as handle:
                data = handle.read()
            scanned += 1
            for needle in needles:
                assert needle.encode() not in data, path
            assert raw not in data, path
    assert scanned >= 5
    # Remote temp files were removed (ANSIBLE_KEEP_REMOTE_FILES=0): nothing AnsiballZ is left.
    leftovers = [name for dummy, dummy2, names in os.walk(env.tmp) for name in names if name.startswith('AnsiballZ')]
    assert leftovers == []
