# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action group ``escrow`` of meta/runtime.yml: a real ansible-playbook run on localhost gives the escrow options once,
in ``module_defaults: {group/lookerops.encryption.escrow: {...}}``, and lk_cmk (controller only, ``deliver: false``)
writes the escrow where they say, sealed with the vault id they name. No bed; no node is touched.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys

from ansible.parsing.vault import VaultLib, VaultSecret

from e2e.runner import collections_path

PLAYBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'key_playbooks', 'escrow_group.yml')
GROUP_VAULT_ID = 'grouped'
GROUP_PASSWORD = 'pytest-escrow-group-password'
OTHER_PASSWORD = 'pytest-escrow-other-password'


def _secret_file(path, text):
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), 'w', encoding='ascii') as handle:
        handle.write(text + '\n')
    return path


def _open_escrow(path, vault_id, password):
    with open(path, 'rb') as handle:
        data = handle.read()
    header = data.split(b'\n', 1)[0].decode('ascii')
    return header, VaultLib([(vault_id, VaultSecret(password.encode()))]).decrypt(data).decode('ascii').strip()


def test_module_defaults_of_the_escrow_group_place_the_escrow(tmp_path):
    group_escrow = tmp_path / 'controller' / 'escrow' / 'grouped-cmk.vault'
    task_escrow = tmp_path / 'controller' / 'other' / 'task-cmk.vault'
    results = tmp_path / 'results.json'
    home = tmp_path / 'home'
    home.mkdir()
    bin_dir = os.path.dirname(sys.executable)
    argv = [os.path.join(bin_dir, 'ansible-playbook'), '-i', 'localhost,', '-vvv',
            # Two vault secrets: the escrow is sealed with the one of the vault id that module_defaults names (with
            # the option's default, lookerops, neither would do and the task would fail).
            '--vault-id', 'other@%s' % _secret_file(str(tmp_path / 'other-pass'), OTHER_PASSWORD),
            '--vault-id', '%s@%s' % (GROUP_VAULT_ID, _secret_file(str(tmp_path / 'group-pass'), GROUP_PASSWORD)),
            '-e', json.dumps({'group_escrow_path': str(group_escrow), 'group_escrow_vault_id': GROUP_VAULT_ID,
                              'task_escrow_path': str(task_escrow), 'results_path': str(results),
                              'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}),
            PLAYBOOK]
    env = {
        'PATH': '%s:/usr/local/bin:/usr/bin:/bin' % bin_dir,
        'HOME': str(home),
        'LC_ALL': 'C.UTF-8',
        'ANSIBLE_COLLECTIONS_PATH': collections_path(),
        'ANSIBLE_CONFIG': str(tmp_path / 'no-ansible.cfg'),
        'ANSIBLE_LOCAL_TEMP': str(tmp_path / 'ansible-tmp'),
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_RETRY_FILES_ENABLED': 'False',
    }
    proc = subprocess.run(argv, cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    with open(results, encoding='utf-8') as handle:
        registered = json.load(handle)

    # The escrow is where module_defaults said, 0600 in a 0700 directory, sealed and labelled with its vault id.
    grouped = registered['group']
    assert grouped['escrow_path'] == str(group_escrow) and grouped['escrow_written'] and grouped['escrow_verified']
    assert grouped['generated'] and grouped['changed']
    assert stat.S_IMODE(os.stat(group_escrow).st_mode) in (0o600, 0o400)
    assert stat.S_IMODE(os.stat(group_escrow.parent).st_mode) == 0o700
    header, key = _open_escrow(group_escrow, GROUP_VAULT_ID, GROUP_PASSWORD)
    assert header.endswith(';' + GROUP_VAULT_ID)

    # A task that names an option itself keeps its own value; the group's other options still apply.
    by_task = registered['task']
    assert by_task['escrow_path'] == str(task_escrow) and by_task['escrow_written']
    assert stat.S_IMODE(os.stat(task_escrow).st_mode) in (0o600, 0o400)
    task_header, task_key = _open_escrow(task_escrow, GROUP_VAULT_ID, GROUP_PASSWORD)
    assert task_header.endswith(';' + GROUP_VAULT_ID) and task_key != key

    # Neither key is in the output (-vvv) nor in the registered results: only their check values are.
    with open(results, encoding='utf-8') as handle:
        saved = handle.read()
    for text in (key, task_key):
        raw = base64.b64decode(text)
        for needle in (text, raw.hex(), base64.urlsafe_b64encode(raw).decode()):
            assert needle not in output and needle not in saved
    assert grouped['kcv'] in output
