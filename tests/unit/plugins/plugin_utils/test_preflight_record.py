# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What preflight writes into the run record, branch by branch: the opening, the cluster's names, the backend and how it
is backed up, and what the run does."""

from __future__ import annotations

import pytest

from ansible_collections.lookerops.encryption.plugins.filter.preflight import FilterModule
from ansible_collections.lookerops.encryption.plugins.plugin_utils._preflight_record import (
    backend_plan,
    backend_record,
    cluster_names,
    run_opening,
    run_summary,
)

A, B = 'kcv1:aaaaaaaaaaaaaaaa', 'kcv1:bbbbbbbbbbbbbbbb'
HOME = '/home/looker/looker'
CREDS = {'mode': 'mysql_creds_file', 'source': '/home/looker/looker/creds.yml', 'host': 'db.internal', 'port': 3307, 'database': 'lk'}
ENV = {'mode': 'looker_db_env', 'host': 'db.internal', 'port': 3306, 'database': 'looker'}
GCM = {'scheme': 'AES-GCM-256'}


def hostvars(*backends, markers=None):
    markers = markers or [None] * len(backends)
    return {'n%d' % i: {'preflight_node': {'home_exists': True, 'backend': backend, 'marker': marker}}
            for i, (backend, marker) in enumerate(zip(backends, markers), 1)}


def test_the_filters_are_the_decisions():
    filters = FilterModule().filters()
    for name, function in (('run_opening', run_opening), ('cluster_names', cluster_names), ('backend_record', backend_record),
                           ('backend_plan', backend_plan), ('run_summary', run_summary)):
        assert filters[name] is function


# ---------------------------------------------------------------- run_opening


def opening(**kwargs):
    facts = {'run_id': '', 'suffix': '0A1b2C', 'now_utc': '2026-03-04 05:06:07', 'job': 'migrate', 'hosts': ['n1', 'n2'],
             'user': 'ops', 'hostname': 'ctl'}
    facts.update(kwargs)
    return run_opening(facts)


def test_a_run_id_is_generated_from_the_time_and_random_digits():
    assert opening() == {'record': {'run_id': '20260304T050607Z-0a1b2c', 'job': 'migrate', 'nodes': ['n1', 'n2'], 'first_node': 'n1',
                                    'controller': 'ops@ctl', 'started_utc': '2026-03-04 05:06:07'}, 'problems': []}


def test_the_operators_run_id_is_kept():
    assert opening(run_id='resume-1')['record']['run_id'] == 'resume-1'


def test_a_controller_user_nobody_knows():
    assert opening(user='')['record']['controller'] == 'unknown@ctl'


def test_names_that_cannot_become_paths_are_refused():
    plan = opening(run_id='../x', hosts=['n1', 'a b'])
    assert plan['problems'] == [
        'lookerops_run_id \'../x\' may only hold letters, digits, "_", "." and "-"; it becomes a directory or file name',
        'the inventory host name \'a b\' may only hold letters, digits, "_", "." and "-"; it becomes a directory or file name']


# ---------------------------------------------------------------- cluster_names


def names(backend=None, **kwargs):
    facts = {'cluster_name': '', 'hosts': ['n1', 'n2'], 'hostvars': hostvars(backend, ENV), 'escrow_path': '',
             'looker_home': HOME, 'job': 'migrate'}
    facts.update(kwargs)
    return cluster_names(facts)


@pytest.fixture
def home(monkeypatch):
    monkeypatch.setenv('HOME', '/ctl/home')


def test_a_named_cluster(home):
    assert names(CREDS, cluster_name='prod cluster/eu') == {
        'cluster_id': 'prod_cluster_eu', 'lock_path': '/home/looker/.lookerops-run.lock',
        'escrow_in_force': '/ctl/home/.lookerops/escrow/prod_cluster_eu-cmk.vault',
        'escrow_path': '/ctl/home/.lookerops/escrow/prod_cluster_eu-cmk.vault'}


def test_a_cluster_is_named_by_its_backend(home):
    assert names(CREDS)['cluster_id'] == 'db.internal-3307-lk'
    assert names({'mode': 'looker_db_env', 'host': 'db', 'port': None, 'database': ''})['cluster_id'] == 'db-3306-looker'


@pytest.mark.parametrize('backend', [None, {'mode': 'internal'}, {'mode': 'unknown', 'error': 'bad'}])
def test_a_cluster_without_a_backend_host_is_named_by_its_first_node(home, backend):
    assert names(backend)['cluster_id'] == 'n1'


def test_an_unread_first_node_names_the_cluster(home):
    facts = {'cluster_name': '', 'hosts': ['n1'], 'hostvars': {'n1': {'preflight_node': {'skipped': True}}}, 'escrow_path': '',
             'looker_home': HOME, 'job': 'migrate'}
    assert cluster_names(facts)['cluster_id'] == 'n1'


def test_an_escrow_path_given_is_expanded(home):
    out = names(CREDS, escrow_path='~/keys/looker.vault')
    assert out['escrow_in_force'] == out['escrow_path'] == '/ctl/home/keys/looker.vault'


@pytest.mark.parametrize('given, nxt', [('/keys/looker.vault', '/keys/looker-next.vault'), ('/keys/looker.key', '/keys/looker.key-next.vault')])
def test_a_rekey_writes_the_new_key_beside_the_escrow_in_force(home, given, nxt):
    out = names(CREDS, escrow_path=given, job='rekey')
    assert out['escrow_in_force'] == given and out['escrow_path'] == nxt


def test_a_rekeys_default_escrow(home):
    out = names(None, job='rekey')
    assert out['escrow_path'] == '/ctl/home/.lookerops/escrow/n1-cmk-next.vault'


# ---------------------------------------------------------------- backend_record


def record(backend, tools_dir=''):
    return backend_record({'hosts': ['n1', 'n2'], 'hostvars': hostvars(backend, None), 'looker_home': HOME, 'looker_user': 'looker',
                           'tools_dir': tools_dir})


def test_a_backend_named_by_a_credentials_file():
    assert record(CREDS) == {'node': 'n1', 'mode': 'mysql_creds_file', 'host': 'db.internal',
                             'params': {'creds_file': '/home/looker/looker/creds.yml'}}


def test_a_backend_named_by_looker_db_with_the_operators_tools():
    assert record(ENV, tools_dir='/opt/mysql/bin') == {
        'node': 'n1', 'mode': 'looker_db_env', 'host': 'db.internal',
        'params': {'looker_home': HOME, 'looker_user': 'looker', 'tools_dir': '/opt/mysql/bin'}}


def test_a_backend_not_read():
    assert record(None) == {'node': 'n1', 'mode': 'unknown', 'host': None, 'params': {'looker_home': HOME, 'looker_user': 'looker'}}
    assert record({'error': 'bad'})['mode'] == 'unknown'


# ---------------------------------------------------------------- backend_plan


def plan(*backends, how='auto', check=None):
    return backend_plan({'hosts': ['n%d' % i for i in range(1, len(backends) + 1)], 'hostvars': hostvars(*backends),
                         'backend_node': 'n1', 'backend_check': check if check is not None else {'skipped': True},
                         'backend_backup': how, 'looker_home': HOME, 'backup_dir': '/var/backups/lookerops', 'run_id': 'r1'})


def test_a_mysql_backend_is_dumped_once_from_the_first_node():
    check = {'tool': {'path': '/usr/bin/mariadb-dump', 'version': '10.11.6'}}
    assert plan(CREDS, CREDS, check=check) == [
        'n1: MySQL lk at db.internal:3307 (-d /home/looker/looker/creds.yml), logical dump by /usr/bin/mariadb-dump 10.11.6 from n1 to '
        '/var/backups/lookerops/r1/backend-lk.sql.gz',
        'n2: MySQL lk at db.internal:3307 (-d /home/looker/looker/creds.yml), backed up once from n1']


def test_a_dump_whose_tool_is_not_known_yet():
    assert plan(ENV) == ['n1: MySQL looker at db.internal:3306 (LOOKER_DB in lookerstart.cfg), logical dump by the database client  '
                         'from n1 to /var/backups/lookerops/r1/backend-looker.sql.gz']


@pytest.mark.parametrize('how, said', [('none', 'not backed up (lookerops_backend_backup=none: your own backup is the waiver)'),
                                       ('rds_snapshot', 'RDS snapshot lookerops-r1 from the controller')])
def test_a_backend_backed_up_elsewhere(how, said):
    assert plan(ENV, ENV, how=how) == ['n%d: MySQL looker at db.internal:3306 (LOOKER_DB in lookerstart.cfg), %s' % (i, said) for i in (1, 2)]


def test_an_internal_database_and_a_backend_not_read():
    assert plan({'mode': 'internal'}, None) == [
        'n1: internal HyperSQL database (%s/.db), backed up inside the home archive of n1' % HOME, 'n2: backend not read']


def test_a_backend_whose_fields_are_missing():
    assert plan({'mode': 'looker_db_env'}, how='none')[0].startswith('n1: MySQL ? at ?:? (LOOKER_DB in lookerstart.cfg)')


# ---------------------------------------------------------------- run_summary


def summary(job='migrate', markers=(GCM, None), rekey=None):
    return run_summary({'job': job, 'run_id': 'r1', 'hosts': ['n1', 'n2'], 'hostvars': hostvars(None, None, markers=list(markers)),
                        'rekey': rekey or {}})


def test_a_migration_is_needed_while_a_node_lacks_the_marker():
    assert summary() == {'migration_needed': True, 'message': 'Run r1 on 2 node(s): migration to AES-256-GCM needed.'}


def test_a_migrated_cluster_only_checks_its_settings():
    assert summary(markers=(GCM, GCM)) == {
        'migration_needed': False,
        'message': 'Run r1 on 2 node(s): every node already carries the AES-GCM-256 marker; checking settings only, no downtime.'}


def test_another_marker_is_no_migration():
    assert summary(markers=(GCM, {'scheme': 'AES-128-CBC'}))['migration_needed'] is True


def test_a_rekey_says_from_which_key_to_which():
    out = summary('rekey', rekey={'needed': True, 'old': A, 'new': B, 'resumes': None})
    assert out == {'migration_needed': False, 'message': 'Run r1 on 2 node(s): rekey from %s to %s.' % (A, B)}


def test_a_rekey_to_a_generated_key_that_resumes():
    out = summary('rekey', rekey={'needed': True, 'old': A, 'new': None, 'resumes': 'r0'})
    assert out['message'] == 'Run r1 on 2 node(s): rekey from %s to a new generated key (resuming run r0).' % A


def test_a_rekey_with_nothing_to_do():
    out = summary('rekey', rekey={'needed': False, 'old': A, 'new': B, 'resumes': None})
    assert out['message'] == 'Run r1 on 2 node(s): %s is already the key in force on every node; nothing to do.' % B
