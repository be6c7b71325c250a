# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The failure summary (roles/report/templates/failure.j2) gives the advice of the job that failed, rendered by Ansible's
own templating from a run record (no bed): a failed rollback of a rekey is never told to resume a migration."""

from __future__ import annotations

import os

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

try:
    from ansible.template import trust_as_template     # ansible-core 2.19+: only trusted text is templated
except ImportError:     # older ansible-core templates any text
    def trust_as_template(text):
        return text

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATE = os.path.join(ROOT, 'roles', 'report', 'templates', 'failure.j2')


def render(run):
    hosts = ['n1', 'n2']
    hostvars = {h: {'lookerops_node': {'reachable': True}} for h in hosts}
    hostvars['n1'].update(ansible_failed_result={'msg': 'boom'}, ansible_failed_task={'name': 'Restore | the backend'})
    variables = {'lookerops_run': run, 'ansible_play_hosts_all': hosts, 'hostvars': hostvars, 'ansible_check_mode': False,
                 'lookerops_backup_dir': '/var/backups/lookerops', 'lookerops_cmk_escrow_path': ''}
    with open(TEMPLATE, encoding='utf-8') as handle:
        text = handle.read()
    return str(Templar(loader=DataLoader(), variables=variables).template(trust_as_template(text)))


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
