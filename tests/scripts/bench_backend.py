#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: our backend backup (lk_backup what=backend: dump client + gzip + sha256 + read-back verify) against
`mysqldump --single-transaction | gzip > file` on the same data in the same run; then the home backup against
`tar -zcf` (tests/scripts/bench_backup.py). Prints figures, asserts nothing.

A throw-away MariaDB is started in a temp dir and filled server-side (several million rows, blobs included) up to
each size in --sizes-mb; at each size both tools run in a fresh wrapper process that reports wall time and the peak
RSS of its children (resource.getrusage RUSAGE_CHILDREN). Peak memory at two sizes shows whether it is flat in the
database size. Cleans up.

    nice -n 19 python tests/scripts/bench_backend.py --sizes-mb 256,1024 --home-mb 2048
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TESTS = os.path.join(ROOT, 'tests')
sys.path.insert(0, TESTS)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# pylint: disable=wrong-import-position
from bed.mariadb import MariaDB  # noqa: E402
import bench_backup  # noqa: E402

OURS = r'''
import json, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.lookerops.encryption.plugins.module_utils._backup import backend as backup_backend
from ansible_collections.lookerops.encryption.plugins.module_utils._mysql import client as mysql_client
from ansible_collections.lookerops.encryption.plugins.module_utils._mysql import config as mysql_config
cfg = mysql_config.BackendConfig(**json.loads(sys.argv[2]))
res = backup_backend.BackendBackup(cfg, sys.argv[3], 'bench', 0).run()
assert res['verified']
print(res['size'])
'''

FILL_SEED = ('CREATE TABLE IF NOT EXISTS bench_rows (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, a INT NOT NULL, '
             's VARCHAR(64) NOT NULL, ts TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, b VARBINARY(192)) ENGINE=InnoDB '
             'DEFAULT CHARSET=utf8mb4')
FILL_BLOBS = ('CREATE TABLE IF NOT EXISTS bench_blobs (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, '
              'payload MEDIUMBLOB NOT NULL) ENGINE=InnoDB')


def db_bytes(conn, database):
    with conn.cursor() as cur:
        cur.execute('ANALYZE TABLE bench_rows, bench_blobs')
        cur.fetchall()
        cur.execute('SELECT COALESCE(SUM(DATA_LENGTH), 0), COALESCE(SUM(TABLE_ROWS), 0) FROM information_schema.TABLES '
                    'WHERE TABLE_SCHEMA = %s', (database,))
        size, rows = cur.fetchone()
        cur.execute('SELECT COUNT(*) FROM bench_rows')
        return int(size), int(cur.fetchone()[0]), int(rows)


def fill(server, size_mb):
    """Grow the database server-side to about size_mb MiB: small rows with a random 64 or 128 byte blob, plus a
    table of 1 KiB random blobs (about a tenth of the size)."""
    conn = server.connect(server.database)
    target = size_mb * 1024 * 1024
    try:
        with conn.cursor() as cur:
            cur.execute(FILL_SEED)
            cur.execute(FILL_BLOBS)
            cur.execute('SELECT COUNT(*) FROM bench_rows')
            if cur.fetchone()[0] == 0:
                cur.execute("INSERT INTO bench_rows (a, s, b) VALUES (1, 'seed', UNHEX(SHA2('seed', 512)))")
        while True:
            size, _rows, _est = db_bytes(conn, server.database)
            if size >= target:
                return db_bytes(conn, server.database)
            with conn.cursor() as cur:
                cur.execute('SELECT COUNT(*) FROM bench_rows')
                have = cur.fetchone()[0]
                # about 250 bytes a row on disk: add at most what is missing, at most doubling
                step = max(1000, min(have, (target - size) // 250))
                cur.execute('INSERT INTO bench_rows (a, s, ts, b) SELECT a + 1, MD5(RAND()), FROM_UNIXTIME(1000000000 + id), '
                            'CONCAT(UNHEX(SHA2(RAND(), 512)), IF(id %% 2 = 0, UNHEX(SHA2(RAND(), 512)), \'\')) '
                            'FROM bench_rows LIMIT %d' % step)
                cur.execute('INSERT INTO bench_blobs (payload) SELECT RANDOM_BYTES(1024) FROM seq_1_to_%d'
                            % max(1, step // 40))
                conn.commit()
    finally:
        conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes-mb', default='256,1024', help='database sizes to measure at (default 256,1024)')
    parser.add_argument('--home-mb', type=int, default=2048, help='size of the home benchmark (0 to skip; default 2048)')
    parser.add_argument('--tmpdir', default=None, help='where the database and the backups go (default: system temp dir)')
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes_mb.split(',') if s.strip()]
    work = tempfile.mkdtemp(prefix='lookerops-bench-backend-', dir=args.tmpdir)
    os.chmod(work, 0o755)
    tree = os.path.join(work, 'tree')
    link = os.path.join(tree, 'ansible_collections', 'lookerops', 'encryption')
    os.makedirs(os.path.dirname(link))
    os.symlink(ROOT, link)
    sys.path.insert(0, tree)
    # pylint: disable-next=import-outside-toplevel
    from ansible_collections.lookerops.encryption.plugins.module_utils._mysql import client as mysql_client
    server = MariaDB(os.path.join(work, 'mariadb'), time_zone='+05:00')
    results = []
    try:
        server.start(timeout=120)
        server.ensure_database('looker_bench', user='looker')
        cfg = {'host': server.host, 'port': server.port, 'user': server.user, 'password': server.password,
               'database': server.database}
        cnf = os.path.join(work, 'client.cnf')
        fd = os.open(cnf, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'w') as handle:
            handle.write('[client]\nhost=%s\nport=%d\nuser=%s\npassword="%s"\n'
                         % (server.host, server.port, server.user, server.password))
        dump = mysql_client.find_tool('dump').path
        conn = server.connect()
        try:
            with conn.cursor() as cur:
                cur.execute('SELECT VERSION()')
                version = cur.fetchone()[0]
        finally:
            conn.close()
        for size_mb in sizes:
            started = time.monotonic()
            size, rows, _est = fill(server, size_mb)
            print('database: %.0f MiB of table data, %d small rows plus 1 KiB random blobs, filled in %.0fs'
                  % (size / 1048576.0, rows, time.monotonic() - started), flush=True)
            dest = os.path.join(work, 'ours-%d' % size_mb)
            ours = bench_backup.measure([sys.executable, '-c', OURS, tree, json.dumps(cfg), dest])
            ours_file = os.path.join(dest, 'bench', 'backend-looker_bench.sql.gz')
            ours_size = os.path.getsize(ours_file)
            ref_file = os.path.join(work, 'ref-%d.sql.gz' % size_mb)
            # the same dump options as ours, so that only the plumbing differs
            options = ' '.join(mysql_client.dump_options(mysql_client.find_tool('dump', None, version), version))
            pipeline = ('set -o pipefail; "%s" --defaults-extra-file="%s" %s looker_bench | gzip > "%s"'
                        % (dump, cnf, options, ref_file))
            ref = bench_backup.measure(['bash', '-c', pipeline])
            ref_size = os.path.getsize(ref_file)
            results.append((size_mb, size, rows, ours, ours_size, ref, ref_size))
            print('%-58s %8s %12s %10s' % ('tool (database %d MiB)' % (size / 1048576.0), 'wall s', 'peak RSS MiB', 'file MiB'))
            row = '%-58s %8.2f %12.1f %10.1f'
            print(row % ('lk_backup backend (dump | gzip + sha256 + verify)', ours['wall'], ours['maxrss_kib'] / 1024.0,
                         ours_size / 1048576.0))
            print(row % ('mysqldump --single-transaction | gzip > file', ref['wall'], ref['maxrss_kib'] / 1024.0,
                         ref_size / 1048576.0))
            print('time ratio ours / reference: %.3f (target at most 1.10)' % (ours['wall'] / ref['wall']), flush=True)
            shutil.rmtree(dest, ignore_errors=True)
            os.unlink(ref_file)
        if len(results) > 1:
            print('peak RSS of lk_backup backend by database size: %s'
                  % ', '.join('%d MiB: %.1f MiB' % (r[1] // 1048576, r[3]['maxrss_kib'] / 1024.0) for r in results))
    finally:
        server.stop()
        shutil.rmtree(os.path.join(work, 'mariadb'), ignore_errors=True)
    try:
        if args.home_mb > 0:
            print('home backup benchmark (%d MiB):' % args.home_mb, flush=True)
            subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'bench_backup.py'),
                            '--size-mb', str(args.home_mb)] + (['--tmpdir', args.tmpdir] if args.tmpdir else []), check=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
