# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup and restore against a real MariaDB on 127.0.0.1, and lk_backup end to end through `ansible`."""

from __future__ import annotations

import atexit
import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

import pytest

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TESTS_DIR)
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)

# pylint: disable=wrong-import-position
from bed.mariadb import MariaDB  # noqa: E402


def _collection_tree():
    tree = tempfile.mkdtemp(prefix='lookerops-coll-')
    link = os.path.join(tree, 'ansible_collections', 'lookerops', 'encryption')
    os.makedirs(os.path.dirname(link))
    os.symlink(ROOT, link)
    return tree


_TREE = _collection_tree()
atexit.register(shutil.rmtree, _TREE, True)  # also when this module is only collected
sys.path.insert(0, _TREE)
for _name in [m for m in sys.modules if m == 'ansible_collections' or m.startswith('ansible_collections.')]:
    del sys.modules[_name]

from ansible_collections.lookerops.encryption.plugins.module_utils._backup import backend as backup_backend  # noqa: E402
from ansible_collections.lookerops.encryption.plugins.module_utils._backup import errors as backup_errors  # noqa: E402
from ansible_collections.lookerops.encryption.plugins.module_utils._backup import home as backup_home  # noqa: E402
from ansible_collections.lookerops.encryption.plugins.module_utils._mysql import client as mysql_client  # noqa: E402
from ansible_collections.lookerops.encryption.plugins.module_utils._mysql import config as mysql_config  # noqa: E402
from ansible_collections.lookerops.encryption.plugins.module_utils._mysql import server as mysql_server  # noqa: E402

ANSIBLE = os.path.join(os.path.dirname(sys.executable), 'ansible')
NODE_PYTHON = '/usr/bin/python3'


def poll(predicate, timeout=30, what='condition'):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError('timed out waiting for %s' % what)
        time.sleep(0.01)


@pytest.fixture(scope='module', name='mariadb')
def mariadb_fixture():
    # not under pytest's tmp dirs: those are 0700 root and mariadbd runs as mysql
    workdir = tempfile.mkdtemp(prefix='lookerops-mariadb-')
    server = MariaDB(workdir, time_zone='+05:00')  # a server not in UTC, like many real ones
    try:
        server.start()
        server.ensure_database('looker', user='looker')
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(name='cfg')
def cfg_fixture(mariadb):
    conn = mariadb.connect()
    try:
        with conn.cursor() as cur:
            cur.execute('DROP DATABASE IF EXISTS looker')
            cur.execute('CREATE DATABASE looker CHARACTER SET utf8mb4')
            cur.execute('DROP DATABASE IF EXISTS looker_copy')
            cur.execute('CREATE DATABASE looker_copy CHARACTER SET utf8mb4')
            cur.execute("GRANT ALL PRIVILEGES ON `looker_copy`.* TO 'looker'@'%'")
    finally:
        conn.close()
    return mysql_config.BackendConfig(host=mariadb.host, port=mariadb.port, user=mariadb.user, password=mariadb.password,
                                      database='looker', connect_timeout=5)


def _copy_cfg(cfg, database):
    return mysql_config.BackendConfig(host=cfg.host, port=cfg.port, user=cfg.user, password=cfg.password, database=database)


AWKWARD = [
    (1, None, None, None, None),
    (2, bytes(range(256)) * 4, 'quotes \' " ` and backslash \\ and \\n literal', 0.1, '2024-02-29 23:59:59'),
    (3, b'\x00\x00\'\\\n\r\x1a', 'unicode: \u00e9\u4e2d\U0001F600 ; -- not a comment', -1.5e-300, '1970-01-01 00:00:01'),
    (4, os.urandom(2 * 1024 * 1024), 'x' * 70000, 1e300, None),
    (5, b'', '', 0.0, '2038-01-19 03:14:07'),
]


def _fill_awkward(conn):
    with conn.cursor() as cur:
        cur.execute('CREATE TABLE awk (id INT PRIMARY KEY, b LONGBLOB, s LONGTEXT, f DOUBLE, t DATETIME, '
                    'd DECIMAL(30,10) DEFAULT 12345678901234567890.0123456789, g INT AS (id * 2) VIRTUAL) '
                    'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4')
        cur.executemany('INSERT INTO awk (id, b, s, f, t) VALUES (%s, %s, %s, %s, %s)', AWKWARD)
        cur.execute('CREATE TABLE parent (id INT PRIMARY KEY) ENGINE=InnoDB')
        cur.execute('CREATE TABLE child (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES parent(id)) ENGINE=InnoDB')
        cur.execute('INSERT INTO parent VALUES (1), (2)')
        cur.execute('INSERT INTO child VALUES (10, 1), (11, 2), (12, NULL)')
        cur.execute('CREATE TABLE empty_one (id INT PRIMARY KEY) ENGINE=InnoDB')


def _snapshot(conn):
    out = {}
    with conn.cursor() as cur:
        for table in ('awk', 'parent', 'child', 'empty_one'):
            cur.execute('SELECT * FROM `%s` ORDER BY id' % table)
            out[table] = cur.fetchall()
        cur.execute('SELECT id FROM v_awk ORDER BY id')
        out['v_awk'] = cur.fetchall()
    return out


def _rich(mariadb, cfg):
    """The awkward tables plus everything a real backend has (trigger, routines, event, views, generated columns)."""
    conn = mariadb.connect('looker')
    try:
        _fill_awkward(conn)
    finally:
        conn.close()
    conn = mariadb.connect_as_user(database='looker')  # Looker's own objects are defined by its user
    try:
        with conn.cursor() as cur:
            cur.execute('CREATE VIEW v_awk AS SELECT id, s FROM awk')
    finally:
        conn.close()
    mariadb.add_rich_objects('looker')


def _private_dirs():
    return sorted(n for n in os.listdir(tempfile.gettempdir()) if n.startswith('lookerops-mysql-'))


def test_backup_and_restore_give_back_the_exact_database(mariadb, cfg, tmp_path):
    """Server in +05:00: TIMESTAMPs, triggers, routines, events, views on views, generated columns, 4-byte text and
    every byte value come back; a canonical dump before and after is byte-identical."""
    _rich(mariadb, cfg)
    with mysql_server.connect(cfg) as conn:
        with conn.cursor() as cur:
            cur.execute('SELECT @@global.time_zone, @@session.time_zone')
            assert cur.fetchone() == ('+05:00', '+05:00')
    before = mariadb.canonical_dump('looker')
    for needle in (b'TRIGGER lk_rich_log_ai', b'PROCEDURE `lk_rich_count`', b'FUNCTION `lk_rich_double`',
                   b'EVENT `lk_rich_purge`', b'VIEW `lk_rich_a_short`', b'STORED', b'VIRTUAL', b'current_timestamp',
                   b'\xf0\x9f\x98\x80', b"'2001-02-03 04:05:06'"):
        assert needle in before, needle
    dirs = _private_dirs()
    res = backup_backend.BackendBackup(cfg, str(tmp_path / 'dest'), 'run1', 0, key_check_value='legacy').run()
    assert res['changed'] and res['verified'] and res['path'].endswith('/run1/backend-looker.sql.gz')
    assert stat.S_IMODE(os.stat(res['path']).st_mode) == 0o600
    with open(res['manifest_path'], encoding='utf-8') as handle:
        manifest = json.load(handle)
    assert manifest['objects'] == {'tables': 6, 'views': 3, 'routines': 2, 'triggers': 1, 'events': 1}
    assert manifest['tool']['flavor'] == 'mariadb' and 'MariaDB' in manifest['server_version']
    assert manifest['key_check_value'] == 'legacy' and manifest['database'] == 'looker'
    with open(res['path'], 'rb') as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == manifest['sha256'] == res['sha256']
    with gzip.open(res['path'], 'rb') as handle:
        assert cfg.password.encode() not in handle.read()
    assert _private_dirs() == dirs
    assert not backup_backend.BackendBackup(cfg, str(tmp_path / 'dest'), 'run1', 0).run()['changed']

    # damage everything a hand-written dumper lost
    conn = mariadb.connect('looker')
    try:
        with conn.cursor() as cur:
            cur.execute('SET FOREIGN_KEY_CHECKS=0')
            cur.execute('DROP TRIGGER lk_rich_log_ai')
            cur.execute('DROP VIEW lk_rich_a_short')
            cur.execute('DROP PROCEDURE lk_rich_count')
            cur.execute('DROP EVENT lk_rich_purge')
            cur.execute("UPDATE lk_rich_log SET fixed_ts = '1999-09-09 09:09:09', payload = 'x'")
            cur.execute('DELETE FROM awk')
            cur.execute('DROP TABLE parent')
    finally:
        conn.close()
    assert mariadb.canonical_dump('looker') != before
    out = backup_backend.BackendRestore(cfg, res['manifest_path'], None).run()
    assert out['backup_path'] == res['path'] and out['objects'] == manifest['objects']
    assert mariadb.canonical_dump('looker') == before
    assert _private_dirs() == dirs
    # the trigger works again
    conn = mariadb.connect('looker')
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO lk_rich_log (note) VALUES ('after restore')")
            cur.execute("SELECT COUNT(*) FROM lk_rich_audit a JOIN lk_rich_log l ON l.id = a.log_id WHERE l.note = 'after restore'")
            assert cur.fetchone()[0] == 1
    finally:
        conn.close()


def test_restore_refuses_live_sessions_damage_and_another_database(mariadb, cfg, tmp_path):
    _rich(mariadb, cfg)
    res = backup_backend.BackendBackup(cfg, str(tmp_path / 'dest'), 'run1', 0).run()
    other = mariadb.connect_as_user()
    try:
        with pytest.raises(backup_errors.BackupError, match='other session'):
            backup_backend.BackendRestore(cfg, res['path'], None).run()
    finally:
        other.close()
    poll(lambda: not _user_sessions(cfg), what='the second session to go away')
    with pytest.raises(backup_errors.BackupError, match="holds database 'looker'.*'looker_copy'"):
        backup_backend.BackendRestore(_copy_cfg(cfg, 'looker_copy'), res['path'], None).run()
    assert backup_backend.BackendRestore(cfg, res['path'], None).run(check_mode=True)['changed']
    with open(res['path'], 'r+b') as handle:
        handle.seek(100)
        handle.write(b'garbage!')
    with pytest.raises(backup_errors.BackupError, match='damaged|does not match'):
        backup_backend.BackendRestore(cfg, res['path'], None).run()
    with pytest.raises(backup_errors.BackupError, match='left untouched'):
        backup_backend.BackendBackup(cfg, str(tmp_path / 'dest'), 'run1', 0).run()


def test_client_errors_name_the_cause_and_leave_nothing(mariadb, cfg, tmp_path):
    _rich(mariadb, cfg)
    conn = mariadb.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE USER IF NOT EXISTS 'limited'@'%' IDENTIFIED BY 'limited-pw-1'")
            cur.execute("GRANT SELECT, SHOW VIEW, TRIGGER, LOCK TABLES ON `looker`.* TO 'limited'@'%'")
    finally:
        conn.close()
    dirs = _private_dirs()
    dest = str(tmp_path / 'dest')
    limited = mysql_config.BackendConfig(host=cfg.host, port=cfg.port, user='limited', password='limited-pw-1', database='looker')
    # objects defined by another account: refused before anything is written (a restore would need SUPER)
    with pytest.raises(backup_errors.BackupError, match='defined by another account.*SET_USER_ID'):
        backup_backend.BackendBackup(limited, dest, 'run1', 0).run(check_mode=True)
    # the client's own privilege error, named with its fix
    for no_data in (True, False):
        with pytest.raises(mysql_config.BackendError) as err:
            mysql_client.run_dump(limited, io.BytesIO(), server_version='10.11-MariaDB', no_data=no_data)
        assert 'EVENT privilege' in str(err.value) and 'limited-pw-1' not in str(err.value)
    wrong = mysql_config.BackendConfig(host=cfg.host, port=cfg.port, user=cfg.user, password='wrong', database='looker')
    with pytest.raises(mysql_config.BackendError, match='1045'):
        backup_backend.BackendBackup(wrong, dest, 'run3', 0).run()
    missing = mysql_config.BackendConfig(host=cfg.host, port=cfg.port, user=cfg.user, password=cfg.password, database='looker',
                                         tools_dir=str(tmp_path / 'no-such-dir'))
    with pytest.raises(mysql_config.BackendError, match='mariadb-client'):
        backup_backend.BackendBackup(missing, dest, 'run4', 0).run(check_mode=True)
    conn = mariadb.connect('looker')
    try:
        with conn.cursor() as cur:
            cur.execute('CREATE VIEW v_by_root AS SELECT id FROM awk')  # defined by root@localhost
    finally:
        conn.close()
    with pytest.raises(backup_errors.BackupError, match='view v_by_root by root@localhost.*SET_USER_ID'):
        backup_backend.BackendBackup(cfg, dest, 'run5', 0).run(check_mode=True)
    assert _private_dirs() == dirs
    # nothing but empty run directories was left behind
    for dirpath, _dirs, files in os.walk(dest):
        assert files == [], (dirpath, files)


def test_dump_is_consistent_under_concurrent_writes(mariadb, cfg, tmp_path):
    conn = mariadb.connect('looker')
    try:
        with conn.cursor() as cur:
            cur.execute('CREATE TABLE a_first (id INT PRIMARY KEY) ENGINE=InnoDB')
            cur.execute('CREATE TABLE m_big (id INT PRIMARY KEY AUTO_INCREMENT, pad VARCHAR(1000)) ENGINE=InnoDB')
            cur.execute('CREATE TABLE z_last (id INT PRIMARY KEY) ENGINE=InnoDB')
            for _i in range(20):
                cur.executemany('INSERT INTO m_big (pad) VALUES (%s)', [('p' * 1000,)] * 1000)
    finally:
        conn.close()

    stop = threading.Event()
    committed = [0]
    errors = []
    argv_leaks = []
    samples = [0]

    def writer():
        wconn = mariadb.connect('looker')
        try:
            wconn.autocommit(False)
            with wconn.cursor() as cur:
                while not stop.is_set():
                    nxt = committed[0] + 1
                    cur.execute('INSERT INTO a_first VALUES (%s)', (nxt,))
                    cur.execute('INSERT INTO z_last VALUES (%s)', (nxt,))
                    wconn.commit()
                    committed[0] = nxt
        except Exception as exc:  # pylint: disable=broad-except
            errors.append(exc)
        finally:
            wconn.close()

    def watcher():
        while not stop.is_set():
            argv_leaks.extend(c for c in _cmdlines() if cfg.password.encode() in c)
            samples[0] += 1
            stop.wait(0.01)

    threads = [threading.Thread(target=writer), threading.Thread(target=watcher)]
    for thread in threads:
        thread.start()
    try:
        poll(lambda: committed[0] >= 20 or errors, what='the writer to start')
        at_start = committed[0]
        res = backup_backend.BackendBackup(cfg, str(tmp_path / 'dest'), 'run1', 0).run()
        at_end = committed[0]
        poll(lambda: committed[0] >= at_end + 50 or errors, what='writes after the dump')
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert not errors and samples[0] > 3
    assert argv_leaks == []
    assert at_end > at_start + 10, 'the writer made too little progress during the dump to prove anything'
    copy = _copy_cfg(cfg, 'looker_copy')
    with gzip.open(res['path'], 'rb') as handle:
        mysql_client.run_restore(copy, handle)
    conn = mariadb.connect('looker_copy')
    try:
        with conn.cursor() as cur:
            cur.execute('SELECT id FROM a_first ORDER BY id')
            ids_first = [r[0] for r in cur.fetchall()]
            cur.execute('SELECT id FROM z_last ORDER BY id')
            ids_last = [r[0] for r in cur.fetchall()]
            cur.execute('SELECT COUNT(*) FROM m_big')
            assert cur.fetchone()[0] == 20000
    finally:
        conn.close()
    # one moment for both tables (dumped before and after the 20 MB table), inside the dump's run
    assert ids_first == ids_last == list(range(1, len(ids_first) + 1))
    assert at_start <= len(ids_first) <= at_end


def _user_sessions(cfg):
    with mysql_server.connect(cfg) as conn:
        return mysql_server.list_sessions(conn, cfg.user)


def test_list_sessions_sees_second_connection(mariadb, cfg):
    other = mariadb.connect_as_user()
    try:
        with other.cursor() as cur:
            cur.execute('SELECT CONNECTION_ID()')
            other_id = cur.fetchone()[0]
        with mysql_server.connect(cfg) as conn:
            rows = mysql_server.list_sessions(conn, cfg.user)
            assert other_id in [r['id'] for r in rows]
            with conn.cursor() as cur:
                cur.execute('SELECT CONNECTION_ID()')
                own = cur.fetchone()[0]
            assert own not in [r['id'] for r in rows]
            mine = [r for r in rows if r['id'] == other_id][0]
            assert mine['client'] == '127.0.0.1' and mine['host'].startswith('127.0.0.1:')
            assert other_id in [r['id'] for r in mysql_server.list_sessions(conn, cfg.user, client_host='127.0.0.1')]
            assert mysql_server.list_sessions(conn, cfg.user, client_host='127.0.0.9') == []
            assert mysql_server.list_sessions(conn, 'nobody') == []
    finally:
        other.close()


def _cmdlines():
    out = []
    for pid in os.listdir('/proc'):
        if pid.isdigit():
            try:
                with open('/proc/%s/cmdline' % pid, 'rb') as handle:
                    out.append(handle.read())
            except OSError:
                pass
    return out


def _ansible(module, args, check=False, env_extra=None):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_TREE, LC_ALL='C.UTF-8', ANSIBLE_LOCALHOST_WARNING='false', ANSIBLE_INVENTORY_UNPARSED_WARNING='false',
               AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing', AWS_DEFAULT_REGION='us-east-1',
               AWS_EC2_METADATA_DISABLED='true')
    env.update(env_extra or {})
    tree = tempfile.mkdtemp(prefix='lookerops-ansible-tree-')
    cmd = [ANSIBLE, 'localhost', '-t', tree, '-m', 'lookerops.encryption.%s' % module, '-a', json.dumps(args),
           '-e', 'ansible_python_interpreter=%s' % NODE_PYTHON]
    if check:
        cmd.append('--check')
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False, timeout=300)
    try:
        with open(os.path.join(tree, 'localhost'), encoding='utf-8') as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        raise AssertionError('no JSON result from ansible (rc=%d):\n%s\n%s' % (proc.returncode, proc.stdout, proc.stderr)) from None
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    return data, proc


@pytest.fixture(name='looker_home')
def looker_home_fixture(tmp_path):
    home = tmp_path / 'home' / 'looker'
    for rel, data in {'looker.jar': b'jar' * 1000, 'looker-dependencies.jar': os.urandom(100000),
                      'lookerstart.cfg': b'LOOKERARGS="--no-ssl"\n', '.db/looker.script': b'SET x\n' * 1000,
                      'log/looker.log': b'line\n', 'log/looker.log.20260101.gz': b'gz', '.tmp/looker.pid': b'4194305\n',
                      '.cache/c': b'c', '.snapshots/s': b's', 'dr-log/x': b'x', 'core': b'core',
                      '.ssh/authorized_keys': b'k', '.ssh/config': b'Host *\n', 'models-user-1/m.lkml': b'm',
                      'cmk.key': b'inside-home-key\n'}.items():
        path = home / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return str(home)


def test_lk_backup_end_to_end(looker_home, tmp_path):
    dest = str(tmp_path / 'backups')
    args = {'what': 'home', 'looker_home': looker_home, 'dest_dir': dest, 'backup_id': 'e2e-1', 'name': 'node1',
            'exclude_paths': [os.path.join(looker_home, 'cmk.key')]}
    res, proc = _ansible('lk_backup', args, check=True)
    assert proc.returncode == 0 and res['changed'] and not res.get('verified'), proc.stdout
    assert not os.path.exists(dest)

    res, proc = _ansible('lk_backup', args)
    assert proc.returncode == 0 and res['changed'] and res['verified'], proc.stdout
    path = res['path']
    assert path == os.path.join(dest, 'e2e-1', 'node1-looker-home.tar.gz')
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(res['manifest_path']).st_mode) == 0o600
    sha = subprocess.run(['sha256sum', path], stdout=subprocess.PIPE, text=True, check=True).stdout.split()[0]
    assert sha == res['sha256']
    listing = subprocess.run(['tar', '-tzf', path], stdout=subprocess.PIPE, text=True, check=True).stdout.split()
    names = sorted(n.rstrip('/') for n in listing)
    assert names == sorted(['looker', 'looker/looker-dependencies.jar', 'looker/lookerstart.cfg', 'looker/.db',
                            'looker/.db/looker.script', 'looker/.ssh', 'looker/.ssh/config', 'looker/models-user-1',
                            'looker/models-user-1/m.lkml'])
    # the same selection as the procedure's tar command (GNU tar, same excludes, relative names)
    gnu = str(tmp_path / 'gnu.tar.gz')
    excl = ['--exclude=%s' % e for e in backup_home.DEFAULT_EXCLUDES] + ['--exclude=looker/cmk.key']
    subprocess.run(['tar', '-zcf', gnu, '-C', os.path.dirname(looker_home)] + excl + ['looker'], check=True)
    gnu_listing = subprocess.run(['tar', '-tzf', gnu], stdout=subprocess.PIPE, text=True, check=True).stdout.split()
    gnu_names = sorted(n.rstrip('/') for n in gnu_listing)
    assert names == gnu_names
    with tarfile.open(path) as tar:
        member = tar.getmember('looker/looker-dependencies.jar')
        with open(os.path.join(looker_home, 'looker-dependencies.jar'), 'rb') as handle:
            assert tar.extractfile(member).read() == handle.read()
    mtime = os.stat(path).st_mtime_ns

    res, proc = _ansible('lk_backup', args)
    assert proc.returncode == 0 and not res['changed'] and res['sha256'] == sha, proc.stdout
    res, proc = _ansible('lk_backup', args, check=True)
    assert proc.returncode == 0 and not res['changed']
    assert os.stat(path).st_mtime_ns == mtime
    assert sorted(os.listdir(os.path.dirname(path))) == ['node1-looker-home.manifest.json', 'node1-looker-home.tar.gz']


def test_lk_backup_and_lk_restore_backend_through_ansible(mariadb, cfg, tmp_path):
    _rich(mariadb, cfg)
    before = mariadb.canonical_dump('looker')
    creds = mariadb.creds_yaml(str(tmp_path / 'creds.yml'))
    args = {'what': 'backend', 'dest_dir': str(tmp_path / 'b'), 'backup_id': 'e2e', 'backend': {'creds_file': creds}}
    res, proc = _ansible('lk_backup', args, check=True)
    assert proc.returncode == 0 and res['changed'] and not res['verified'], proc.stdout
    assert res['tool']['path'].endswith(('mariadb-dump', 'mysqldump')) and not os.path.exists(res['path'])
    res, proc = _ansible('lk_backup', dict(args, key_check_value='legacy'))
    assert proc.returncode == 0 and res['changed'] and res['verified'], proc.stdout
    assert res['objects']['triggers'] == 1 and res['objects']['events'] == 1
    assert cfg.password not in proc.stdout + proc.stderr
    res2, proc = _ansible('lk_backup', args)
    assert proc.returncode == 0 and not res2['changed']
    bad, proc = _ansible('lk_backup', dict(args, backup_id='e2e-2', backend={'creds_file': creds, 'tools_dir': str(tmp_path / 'none')}),
                         check=True)
    assert proc.returncode != 0 and 'mariadb-client' in bad['msg'] and 'lookerops_backend_tools_dir' in bad['msg']
    conn = mariadb.connect('looker')
    try:
        with conn.cursor() as cur:
            cur.execute('DROP TRIGGER lk_rich_log_ai')
            cur.execute('DELETE FROM lk_rich_audit')
    finally:
        conn.close()
    out, proc = _ansible('lk_restore', {'what': 'backend', 'backup_path': res['manifest_path'], 'backend': {'creds_file': creds},
                                        'looker_home': str(tmp_path / 'no-looker-here')})
    assert proc.returncode == 0 and out['changed'] and out['key_check_value'] == 'legacy', proc.stdout
    assert mariadb.canonical_dump('looker') == before
    assert cfg.password not in proc.stdout + proc.stderr


def test_lk_backend_info_counts_what_the_database_holds(mariadb, cfg):
    backend = {'host': cfg.host, 'port': cfg.port, 'user': cfg.user, 'password': cfg.password, 'database': 'looker'}
    res, proc = _ansible('lk_backend_info', {'backend': backend}, check=True)
    assert proc.returncode == 0 and not res['changed'], proc.stdout
    assert res['empty'] and res['objects'] == {'tables': 0, 'views': 0, 'routines': 0, 'triggers': 0, 'events': 0}
    assert res['backend']['database'] == 'looker' and cfg.password not in json.dumps(res) + proc.stdout + proc.stderr
    _rich(mariadb, cfg)
    res, proc = _ansible('lk_backend_info', {'backend': backend})
    assert proc.returncode == 0 and not res['empty'], proc.stdout
    objects = res['objects']
    assert objects['tables'] >= 4 and objects['views'] >= 1 and objects['triggers'] >= 1 and objects['routines'] >= 1
    assert res['data_bytes'] > 0 and res['server_version']
    # A wrong password: a message that names the server and what to check, never the password.
    res, proc = _ansible('lk_backend_info', {'backend': dict(backend, password='not-the-password')})
    assert proc.returncode != 0 and 'cannot connect to the Looker backend database' in res['msg']
    assert '%s:%s' % (cfg.host, cfg.port) in res['msg'] and 'not-the-password' not in res['msg'], res
