# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The failure summary (roles/report/templates/failure.j2) gives the advice of the job that failed, rendered by Ansible's
own templating from a run record (no bed): a failed rollback of a rekey is never told to resume a migration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import yaml

from e2e.runner import collections_path

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATE = os.path.join(ROOT, 'roles', 'report', 'templates', 'failure.j2')


def render(run):
    """failure.j2 rendered by a real ansible-playbook (the collection's filters loaded) for two nodes, n1 having failed."""
    with tempfile.TemporaryDirectory() as tmp:
        node = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
                'lookerops_node': {'reachable': True}}
        hosts = {'n1': dict(node, ansible_failed_result={'msg': 'boom'},
                            ansible_failed_task={'name': 'Restore | the backend'}), 'n2': dict(node)}
        inventory = os.path.join(tmp, 'hosts.yml')
        with open(inventory, 'w', encoding='utf-8') as handle:
            json.dump({'all': {'hosts': hosts}}, handle)
        out = os.path.join(tmp, 'failure.txt')
        play = [{'hosts': 'all', 'gather_facts': False,
                 'vars': {'lookerops_run': run, 'lookerops_backup_dir': '/var/backups/lookerops',
                          'lookerops_cmk_escrow_path': ''},
                 'tasks': [{'name': 'Render the failure summary', 'run_once': True, 'delegate_to': 'n1',
                            'ansible.builtin.copy': {'content': "{{ lookup('ansible.builtin.template', '%s') }}" % TEMPLATE,
                                                     'dest': out, 'mode': '0600'}}]}]
        playbook = os.path.join(tmp, 'play.yml')
        with open(playbook, 'w', encoding='utf-8') as handle:
            yaml.safe_dump(play, handle)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR='1',
                   ANSIBLE_LOCAL_TEMP=os.path.join(tmp, 'tmp'), ANSIBLE_RETRY_FILES_ENABLED='False')
        proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory, playbook],
                              env=env, capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        with open(out, encoding='utf-8') as handle:
            return handle.read()


def test_a_failed_rollback_of_a_rekey_gets_rollback_and_rekey_advice_not_migrate_advice():
    run = {'run_id': 'r-1', 'job': 'rollback', 'stop': {'window_started': 0}, 'restore': {
        'rekey': {'job': 'rekey', 'run_id': 'r-1', 'old': 'kcv1:aaaaaaaaaaaaaaaa', 'new': 'kcv1:bbbbbbbbbbbbbbbb',
                  'escrow_in_force': '/ctl/c-cmk.vault'}}}
    out = render(run)
    assert 'FAILED in phase restore' in out
    assert 'lookerops.encryption.migrate' not in out and 'legacy scheme' not in out and 'the migration may have' not in out
    assert 'lookerops.encryption.rollback -e lookerops_run_id=r-1' in out
    assert 'rolls back rekey run r-1' in out and 'kcv1:aaaaaaaaaaaaaaaa' in out and '/ctl/c-cmk.vault' in out


def test_a_failed_rekey_gets_rekey_advice():
    run = {'run_id': 'r-2', 'job': 'rekey', 'stop': {'window_started': 0}, 'backup': {}, 'rekey': {'old': 'kcv1:aaaaaaaaaaaaaaaa'}}
    out = render(run)
    assert 'resume (after fixing the cause): ansible-playbook -i <inventory> lookerops.encryption.rekey -e lookerops_run_id=r-2' in out
    assert 'roll back to the old key' in out and 'lookerops.encryption.migrate' not in out


def test_a_rekey_that_lost_a_node_before_looker_s_rekey_ran_names_its_phase_and_gives_rekey_advice():
    """The escrow step records run.rekey before the stop: a node lost in the backup is a failure of the backup phase,
    and the cluster given back in part runs on the old key, not on a "legacy scheme"."""
    run = {'run_id': 'r-3', 'job': 'rekey', 'stop': {'window_started': 0}, 'backup': {}, 'rekey': {'old': 'kcv1:aaaaaaaaaaaaaaaa'},
           'rekey_plan': {'old': 'kcv1:aaaaaaaaaaaaaaaa'},
           'restore_service': {'restored': True, 'restored_nodes': ['n1'], 'not_restored_nodes': ['n2'], 'window_ended': 9}}
    out = render(run)
    assert 'FAILED in phase backup' in out
    assert 'rekey changed nothing; service restored on n1 but not on n2' in out
    assert 'the other nodes run on the old key kcv1:aaaaaaaaaaaaaaaa' in out and 'completes the rekey' in out
    assert 'legacy' not in out and 'migrat' not in out
    assert 'resume: ansible-playbook -i <inventory> lookerops.encryption.rekey -e lookerops_run_id=r-3' in out


def test_a_rekey_whose_looker_task_failed_is_in_the_rekey_phase():
    run = {'run_id': 'r-4', 'job': 'rekey', 'stop': {'window_started': 0}, 'backup': {},
           'rekey': {'old': 'kcv1:aaaaaaaaaaaaaaaa', 'new': 'kcv1:bbbbbbbbbbbbbbbb', 'result': {'failed': True, 'task_ran': True}}}
    out = render(run)
    assert 'FAILED in phase rekey' in out and 'the rekey may have changed the key' in out


def test_a_migration_that_failed_writing_the_key_before_the_stop_says_the_nodes_still_run():
    """migrate writes the key before the stop: a failure there left Looker running everywhere, so the advice is to run
    again, not to resume over stopped nodes or to roll back."""
    out = render({'run_id': 'r-5', 'job': 'migrate', 'cmk': {}})
    assert 'FAILED in phase cmk' in out and 'the nodes were not stopped: Looker runs on every node as before' in out
    assert 'run the playbook again (it uses the escrowed key)' in out
    assert 'rollback' not in out and 'DOWN' not in out and 'lookerops_run_id' not in out


def test_a_migration_that_failed_in_the_backup_lists_what_was_done_in_its_order():
    out = render({'run_id': 'r-6', 'job': 'migrate', 'cmk': {}, 'stop': {'window_started': 0}, 'backup': {}})
    assert 'FAILED in phase backup' in out
    assert ('done: preflight, key escrowed and delivered, fence and stop (nodes are DOWN and stay fenced by .deploying)\n'
            in out), out
    assert 'resume (after fixing the cause): ansible-playbook -i <inventory> lookerops.encryption.migrate -e lookerops_run_id=r-6' in out


def test_a_migration_that_failed_in_the_stop_says_nodes_may_be_down():
    out = render({'run_id': 'r-7', 'job': 'migrate', 'cmk': {}, 'stop': {'window_started': 0}})
    assert 'FAILED in phase stop' in out and 'done: preflight, key escrowed and delivered, fence and stop (nodes are DOWN' in out
