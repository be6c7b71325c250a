# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end on the bed, for every way a node can name a MySQL backend: migrate, then roll back, and the
backend is given back exactly (a canonical dump of the whole database is byte-identical before and after).

The backends are as varied as real ones: server time zone +05:00, a database not named ``looker``, a trigger,
a procedure, a function, an event, a view on a view, generated columns, DEFAULT CURRENT_TIMESTAMP, 4-byte
utf8mb4 text and blobs holding every byte value.
"""

from __future__ import annotations

import json
import os

import pytest

from e2e.runner import Controller, run_playbook

STANDIN = {'start_seconds': 0.3, 'stop_seconds': 0.3, 'migrate_seconds': 0.5, 'live_window_seconds': 2}
RICH = {'backend_rich': True, 'backend_time_zone': '+05:00'}
BEDS = {
    # a cluster whose database is not called looker (-d in LOOKERARGS)
    'cluster-creds-file': dict(name='e2e-be-cluster', nodes=2, cluster=True, backend='creds_file',
                               backend_database='looker_prod', standin=dict(STANDIN, live_window_seconds=4), **RICH),
    # a single node on MySQL: -d and no --clustered
    'single-creds-file': dict(name='e2e-be-single', nodes=1, cluster=False, backend='creds_file',
                              backend_database='lookerdb', standin=STANDIN, **RICH),
    # a single node configured by LOOKER_DB in lookerstart.cfg
    'single-looker-db': dict(name='e2e-be-env', nodes=1, cluster=False, backend='looker_db',
                             backend_database='looker_env', standin=STANDIN, **RICH),
}
# Looker's registry of live nodes changes whenever a node starts; its rows are not data a rollback restores.
LIVE_NODE_TABLES = ('standin_node',)


def fresh(bed_factory, spec):
    old = bed_factory.beds.pop(spec['name'], None)
    if old is not None:
        old.down()
        if bed_factory.current is old:
            bed_factory.current = None
    kwargs = dict(spec)
    name = kwargs.pop('name')
    return bed_factory(name, **kwargs)


def canonical(bed):
    return bed.mariadb.canonical_dump(bed.backend_database, ignore_data=LIVE_NODE_TABLES)


def all_alive(bed):
    return all(n.looker('status', timeout=60).returncode == 0 for n in bed.nodes)


@pytest.mark.parametrize('variant', [pytest.param(v, marks=() if v == 'cluster-creds-file' else pytest.mark.full)
                                     for v in sorted(BEDS)])
def test_migrate_then_rollback_gives_the_backend_back_exactly(bed_factory, tmp_path, variant):
    bed = fresh(bed_factory, BEDS[variant])
    controller = Controller(str(tmp_path / 'controller'))
    before_data = bed.inspect()
    before = canonical(bed)
    for needle in (b'TRIGGER lk_rich_log_ai', b'PROCEDURE `lk_rich_count`', b'EVENT `lk_rich_purge`',
                   b'VIEW `lk_rich_a_short`', b'\xf0\x9f\x98\x80', b'standin_secret'):
        assert needle in before, needle
    database = bed.backend_database

    proc = run_playbook(bed, 'migrate', controller)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert bed.inspect()['legacy'] == 0
    # preflight said which backend it found and how it backs it up
    assert 'looker1: MySQL %s at 198.51.100.1:%d' % (database, bed.mariadb.port) in proc.stdout, proc.stdout[-6000:]
    assert 'logical dump by /usr/bin/' in proc.stdout
    assert bed.mariadb.password not in out
    with open(os.path.join(bed.nodes[0].home, '.lookerops-encryption.json'), encoding='utf-8') as handle:
        run_id = json.load(handle)['run_id']
    res = bed.nodes[0].run(['cat', '/var/backups/lookerops/%s/backend-%s.manifest.json' % (run_id, database)], user='root',
                           check=True)
    manifest = json.loads(res.stdout)
    assert manifest['database'] == database and manifest['format'] == 'mysqldump'
    assert manifest['objects'] == {'tables': 5, 'views': 2, 'routines': 2, 'triggers': 1, 'events': 1}
    assert manifest['key_check_value'] and manifest['tool']['flavor'] == 'mariadb'
    left = bed.nodes[0].run(['sh', '-c', 'ls -d /tmp/lookerops-mysql-* 2>/dev/null | wc -l'], user='root', check=True)
    assert left.stdout.strip() == '0', 'an option-file directory was left on the node'

    proc = run_playbook(bed, 'rollback', controller,
                        extra_vars={'lookerops_run_id': run_id, 'lookerops_rollback_discard_changes_since_run': True})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert bed.mariadb.password not in out
    after_data = bed.inspect()
    assert after_data['legacy'] == before_data['total'] and after_data['digest'] == before_data['digest']
    assert all_alive(bed)
    after = canonical(bed)
    assert after == before, 'the backend after migrate and rollback differs from before'


@pytest.mark.full
def test_preflight_refuses_when_the_node_has_no_dump_client(bed_factory, tmp_path):
    bed = fresh(bed_factory, BEDS['single-creds-file'])
    before_data = bed.inspect()
    before = canonical(bed)
    proc = run_playbook(bed, 'migrate', Controller(str(tmp_path / 'controller')),
                        extra_vars={'lookerops_backend_tools_dir': '/nonexistent/mysql/bin'})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    for fragment in ('Preflight found', 'looker1 (backend check)', 'mariadb-client', 'lookerops_backend_tools_dir',
                     'lookerops_backend_backup=none'):
        assert fragment in out, (fragment, out[-4000:])
    assert 'changed: [' not in proc.stdout
    assert all_alive(bed) and bed.inspect() == before_data and canonical(bed) == before


@pytest.mark.full
def test_new_install_on_mysql_with_data_is_refused_then_an_empty_database_is_installed(bed_factory, tmp_path):
    # A single node configured by LOOKER_DB, whose database is not called looker and holds Looker's data.
    bed = fresh(bed_factory, BEDS['single-looker-db'])
    node = bed.nodes[0]
    database = bed.backend_database
    before = canonical(bed)
    proc = run_playbook(bed, 'new_install', Controller(str(tmp_path / 'c1')))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-6000:]
    assert 'looker1: this is not a new instance: its MySQL backend %s@' % database in out, out[-6000:]
    assert 'lookerops.encryption.migrate' in out and bed.mariadb.password not in out
    assert canonical(bed) == before and all_alive(bed)
    assert not os.path.exists(os.path.join(node.home, '.lookerops-encryption.json'))

    # The same node before its first start on an empty database: new_install goes ahead.
    bed.set_watchdog(node.name, False)
    node.looker('stop', timeout=60)
    conn = bed.mariadb.connect(database)
    try:
        with conn.cursor() as cur:
            cur.execute('SET FOREIGN_KEY_CHECKS = 0')
            for kind, sql in (('VIEW', "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s"),
                              ('TABLE', "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                                        "AND TABLE_TYPE = 'BASE TABLE'"),
                              ('PROCEDURE', "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s "
                                            "AND ROUTINE_TYPE = 'PROCEDURE'"),
                              ('FUNCTION', "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s "
                                           "AND ROUTINE_TYPE = 'FUNCTION'"),
                              ('EVENT', "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s")):
                cur.execute(sql, (database,))
                for (name,) in cur.fetchall():
                    cur.execute('DROP %s `%s`' % (kind, name))
    finally:
        conn.close()
    proc = run_playbook(bed, 'new_install', Controller(str(tmp_path / 'c2')))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    after = bed.inspect()
    assert after['scheme'] == 'gcm' and after['legacy'] == 0
    assert all_alive(bed)
