# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Refusals at the very start of preflight, run with the real ansible-playbook (no bed: nothing is reached).

Each playbook refuses a run with Ansible's debug output on as its first task, before any node is read or any key
handled (the debug output prints module arguments and replies, no_log or not).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from e2e.runner import collections_path

PLAYBOOKS = ['migrate', 'rekey', 'rollback', 'new_install']


@pytest.mark.parametrize('playbook', PLAYBOOKS)
def test_ansible_debug_is_refused_first(tmp_path, playbook):
    inventory = tmp_path / 'hosts'
    # A node nobody can reach: the refusal must come before any task talks to it.
    inventory.write_text('[looker_nodes]\nn1 ansible_host=127.0.0.1 ansible_port=1 ansible_connection=ssh\n')
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_DEBUG='1', ANSIBLE_NOCOLOR='1',
               ANSIBLE_RETRY_FILES_ENABLED='False', ANSIBLE_LOCAL_TEMP=str(tmp_path / 'tmp'))
    extra = ['-e', 'lookerops_run_id=r1'] if playbook == 'rollback' else []
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', str(inventory),
                           'lookerops.encryption.%s' % playbook] + extra, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert 'lookerops.encryption.%s refused: Ansible debug output is on' % playbook in out
    assert 'Refuse a run with Ansible debug output on' in out
    for later in ('Reach every node', 'Read every node', 'Customer Master Key', 'lk_cmk', 'lk_node_env'):
        assert 'TASK [lookerops.encryption.preflight : Preflight | %s' % later not in out
    assert 'UNREACHABLE' not in out
