# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of the playbooks, run with the real ansible-playbook and the collection's filters (no bed: nothing is reached).

Each playbook refuses a run with Ansible's debug output on as its first task, before any node is read or any key
handled (the debug output prints module arguments and replies, no_log or not). A failed migrate or rekey gives
service back only after one of Looker's documented refusals: the playbooks' own expressions are evaluated on run
records of each kind.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import yaml

from e2e.runner import ROOT, collections_path

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


def _run_local(tmp_path, play, inventory_text):
    inventory = tmp_path / 'hosts'
    inventory.write_text(inventory_text)
    playbook = tmp_path / 'play.yml'
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR='1', ANSIBLE_LOCAL_TEMP=str(tmp_path / 'tmp'),
               ANSIBLE_RETRY_FILES_ENABLED='False')
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', str(inventory), str(playbook)],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _result(job, stop=True, **result):
    run = {'run_id': 'r1', 'job': job}
    if stop:
        run['stop'] = {'window_started': 1.0}
    if result:
        run[job] = {'result': dict({'changed': False, 'failed': True, 'unreachable': False, 'pid': None, 'attempts': 1}, **result)}
    return run


# run record -> whether the playbook gives service back
RESTORE_CASES = {
    'migrate': {
        'backup-failed': (_result('migrate'), True),
        'task-not-found': (_result('migrate', migration_started=None, error='task_not_found'), True),
        'live-nodes': (_result('migrate', migration_started=None, error='live_nodes', attempts=11), True),
        'key-size': (_result('migrate', migration_started=None, error='key_size'), True),
        # A crash whose "Starting migration" line was not captured: records may have changed.
        'crash-no-line': (_result('migrate', migration_started=None, error=None), False),
        'crash-with-line': (_result('migrate', migration_started='Starting migration', error=None), False),
        'timed-out': (_result('migrate', migration_started=None, error=None, pid=4242), False),
        'not-stopped': (_result('migrate', stop=False), False),
    },
    'rekey': {
        'backup-failed': (_result('rekey'), True),
        'live-nodes': (_result('rekey', task_ran=False), True),
        'crashed': (_result('rekey', task_ran=True), False),
    },
}


@pytest.mark.parametrize('playbook, variable', [('migrate', 'migrate_nothing_changed'), ('rekey', 'rekey_nothing_changed')])
def test_service_is_given_back_only_after_a_documented_refusal(tmp_path, playbook, variable):
    with open(os.path.join(ROOT, 'playbooks', playbook + '.yml'), encoding='utf-8') as handle:
        expression = [p for p in yaml.safe_load(handle) if variable in p.get('vars', {})][0]['vars'][variable]
    cases = RESTORE_CASES[playbook]
    inventory = '[nodes]\n' + ''.join('%s ansible_connection=local ansible_python_interpreter=%s\n' % (name, sys.executable)
                                      for name in cases)
    decide = 'DECIDED {{ inventory_hostname }}={{ %s | bool }}' % variable
    play = [{'hosts': 'nodes', 'gather_facts': False,
             'vars': {variable: expression, 'cases': {name: run for name, (run, _want) in cases.items()}},
             'tasks': [{'name': 'Evaluate', 'ansible.builtin.set_fact': {'lookerops_run': '{{ cases[inventory_hostname] }}'}},
                       {'name': 'Decide', 'ansible.builtin.debug': {'msg': decide}}]}]
    proc = _run_local(tmp_path, play, inventory)
    decided = dict(re.findall(r'DECIDED ([a-z-]+)=(True|False)', proc.stdout))
    assert decided == {name: str(want) for name, (_run, want) in cases.items()}, proc.stdout[-3000:]
