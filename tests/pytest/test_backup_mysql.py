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

from ansible_collections.lookerops.encryption.plugins.module_utils import _backup as bk  # noqa: E402
from ansible_collections.lookerops.encryption.plugins.module_utils import _mysql as my  # noqa: E402

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
    server = MariaDB(workdir)
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
    return my.BackendConfig(host=mariadb.host, port=mariadb.port, user=mariadb.user, password=mariadb.password,
                            database='looker', connect_timeout=5)


def _copy_cfg(cfg, database):
    return my.BackendConfig(host=cfg.host, port=cfg.port, user=cfg.user, password=cfg.password, database=database)


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
        cur.execute('CREATE VIEW v_awk AS SELECT id, s FROM awk')


def _snapshot(conn):
    out = {}
    with conn.cursor() as cur:
        for table in ('awk', 'parent', 'child', 'empty_one'):
            cur.execute('SELECT * FROM `%s` ORDER BY id' % table)
            out[table] = cur.fetchall()
        cur.execute('SELECT id FROM v_awk ORDER BY id')
        out['v_awk'] = cur.fetchall()
    return out


def test_dump_restore_round_trip(mariadb, cfg):
    conn = mariadb.connect('looker')
    try:
        _fill_awkward(conn)
        before = _snapshot(conn)
    finally:
        conn.close()
    buf = io.BytesIO()
    info = my.dump(cfg, buf)
    assert info['tables'] == {'awk': 5, 'child': 3, 'empty_one': 0, 'parent': 2}
    assert info['views'] == ['v_awk'] and 'MariaDB' in info['server_version']
    text = buf.getvalue()
    assert text.startswith(b'-- ' + my.DUMP_FORMAT.encode())
    assert text.index(b'CREATE TABLE `parent`') < text.index(b'v_awk')

    # into another database
    buf.seek(0)
    loaded = my.restore(_copy_cfg(cfg, 'looker_copy'), buf)
    assert loaded['tables'] == info['tables']
    conn = mariadb.connect('looker_copy')
    try:
        assert _snapshot(conn) == before
    finally:
        conn.close()

    # over the damaged original: drop-and-recreate each table in the dump
    conn = mariadb.connect('looker')
    try:
        with conn.cursor() as cur:
            cur.execute('SET FOREIGN_KEY_CHECKS=0')
            cur.execute('UPDATE awk SET s = %s WHERE id = 2', ('changed',))
            cur.execute('DELETE FROM parent')
            cur.execute('DROP VIEW v_awk')
            cur.execute('CREATE TABLE not_in_dump (id INT)')
        buf.seek(0)
        my.restore(cfg, buf)
        assert _snapshot(conn) == before
        with conn.cursor() as cur:
            cur.execute("SHOW TABLES LIKE 'not_in_dump'")
            assert cur.fetchall()
    finally:
        conn.close()


def test_backend_backup_files_and_restore_module_logic(mariadb, cfg, tmp_path):
    conn = mariadb.connect('looker')
    try:
        _fill_awkward(conn)
        before = _snapshot(conn)
    finally:
        conn.close()
    dest = str(tmp_path / 'dest')
    res = bk.BackendBackup(cfg, dest, 'run1', 0).run()
    assert res['changed'] and res['verified'] and res['path'].endswith('/run1/backend-looker.sql.gz')
    assert stat.S_IMODE(os.stat(res['path']).st_mode) == 0o600
    with open(res['path'], 'rb') as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == res['sha256']
    with open(res['manifest_path'], encoding='utf-8') as handle:
        manifest = json.load(handle)
    assert manifest['tables'] == res['tables'] and manifest['server_version'] == res['server_version']
    again = bk.BackendBackup(cfg, dest, 'run1', 0).run()
    assert not again['changed']

    conn = mariadb.connect('looker')
    try:
        with conn.cursor() as cur:
            cur.execute('DELETE FROM awk')
        # a second session of the backend user (a "live Looker") blocks the restore
        other = mariadb.connect_as_user()
        try:
            with pytest.raises(bk.BackupError, match='other session'):
                bk.BackendRestore(cfg, res['path'], None).run()
        finally:
            other.close()
        poll(lambda: not _user_sessions(cfg), what='the second session to go away')
        out = bk.BackendRestore(cfg, res['path'], None).run()
        assert out['tables'] == manifest['tables']
        assert _snapshot(conn) == before
    finally:
        conn.close()

    # a corrupted dump is refused before anything is touched
    with open(res['path'], 'r+b') as handle:
        handle.seek(100)
        handle.write(b'garbage!')
    with pytest.raises(bk.BackupError, match='damaged|does not match'):
        bk.BackendRestore(cfg, res['path'], None).run()
    with pytest.raises(bk.BackupError, match='left untouched'):
        bk.BackendBackup(cfg, dest, 'run1', 0).run()


def _user_sessions(cfg):
    with my.connect(cfg) as conn:
        return my.list_sessions(conn, cfg.user)


def test_list_sessions_sees_second_connection(mariadb, cfg):
    other = mariadb.connect_as_user()
    try:
        with other.cursor() as cur:
            cur.execute('SELECT CONNECTION_ID()')
            other_id = cur.fetchone()[0]
        with my.connect(cfg) as conn:
            rows = my.list_sessions(conn, cfg.user)
            assert other_id in [r['id'] for r in rows]
            with conn.cursor() as cur:
                cur.execute('SELECT CONNECTION_ID()')
                own = cur.fetchone()[0]
            assert own not in [r['id'] for r in rows]
            mine = [r for r in rows if r['id'] == other_id][0]
            assert mine['client'] == '127.0.0.1' and mine['host'].startswith('127.0.0.1:')
            assert other_id in [r['id'] for r in my.list_sessions(conn, cfg.user, client_host='127.0.0.1')]
            assert my.list_sessions(conn, cfg.user, client_host='127.0.0.9') == []
            assert my.list_sessions(conn, 'nobody') == []
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


def test_dump_is_consistent_under_concurrent_writes(mariadb, cfg):
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

    seen = {}

    def on_snapshot():
        seen['at_snapshot'] = committed[0]
        # the writer must commit more rows after the snapshot, or this test would prove nothing
        poll(lambda: committed[0] >= seen['at_snapshot'] + 50 or errors, what='writes after the snapshot')
        seen['argv_leak'] = [c for c in _cmdlines() if cfg.password.encode() in c]

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        poll(lambda: committed[0] >= 20 or errors, what='the writer to start')
        buf = io.BytesIO()
        info = my.dump(cfg, buf, on_snapshot=on_snapshot)
        poll(lambda: committed[0] >= seen['at_snapshot'] + 200 or errors, what='writes after the dump')
    finally:
        stop.set()
        thread.join(30)
    assert not errors
    assert seen['argv_leak'] == []
    first, last = info['tables']['a_first'], info['tables']['z_last']
    # same moment for both tables (dumped before and after the 20 MB table), and within the snapshot window
    assert first == last
    assert seen['at_snapshot'] <= first <= seen['at_snapshot'] + 1
    assert committed[0] > first + 50
    buf.seek(0)
    my.restore(_copy_cfg(cfg, 'looker_copy'), buf)
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
    assert ids_first == ids_last == list(range(1, first + 1))


# -- lk_backup through ansible ------------------------------------------------------------------------


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
    excl = ['--exclude=%s' % e for e in bk.DEFAULT_EXCLUDES] + ['--exclude=looker/cmk.key']
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


def test_lk_backup_backend_end_to_end(mariadb, cfg, tmp_path):
    conn = mariadb.connect('looker')
    try:
        _fill_awkward(conn)
    finally:
        conn.close()
    creds = mariadb.creds_yaml(str(tmp_path / 'creds.yml'))
    args = {'what': 'backend', 'dest_dir': str(tmp_path / 'b'), 'backup_id': 'e2e', 'backend': {'creds_file': creds}}
    res, proc = _ansible('lk_backup', args)
    assert proc.returncode == 0 and res['changed'] and res['verified'], proc.stdout
    assert res['tables'] == {'awk': 5, 'child': 3, 'empty_one': 0, 'parent': 2}
    assert cfg.password not in proc.stdout + proc.stderr
    with gzip.open(res['path'], 'rb') as handle:
        loaded = my.restore(_copy_cfg(cfg, 'looker_copy'), handle)
    assert loaded['tables'] == res['tables']
    conn = mariadb.connect('looker_copy')
    try:
        copy = _snapshot(conn)
    finally:
        conn.close()
    conn = mariadb.connect('looker')
    try:
        assert _snapshot(conn) == copy
    finally:
        conn.close()
