#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: our home backup (lk_backup's streaming tar.gz + sha256 + verify) against `tar -zcf`.

Builds a synthetic Looker home (mixed compressible and incompressible files) in a temp dir, runs each
tool in a child process, and prints wall time and the child's peak RSS (resource.getrusage
RUSAGE_CHILDREN, measured in a fresh wrapper process per tool so the figures do not mix). Cleans up.

    python tests/scripts/bench_backup.py --size-mb 256
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
EXCLUDES = ['.cache', 'log', '.tmp', '.snapshots', 'looker.jar', 'authorized_keys', 'dr-log', 'core']

OURS = r'''
import sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.lookerops.encryption.plugins.module_utils._backup.home import HomeBackup, DEFAULT_EXCLUDES
res = HomeBackup(sys.argv[2], sys.argv[3], 'bench', 'bench', DEFAULT_EXCLUDES, [], 0).run()
assert res['verified']
print(res['size'])
'''

MEASURE = r'''
import json, resource, subprocess, sys, time
start = time.monotonic()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
wall = time.monotonic() - start
print(json.dumps({'wall': wall, 'maxrss_kib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
'''


def build_home(home, size_mb):
    """Mixed files: text-like (compressible), random (incompressible), many small; plus excluded dirs."""
    os.makedirs(home)
    target = size_mb * 1024 * 1024
    written = 0
    text_line = b'2026-01-01 00:00:00.000 +0000 [INFO|007d0|db:looker] :: (0.000152s) SELECT * FROM user WHERE id = 42\n'
    index = 0
    chunk = 1024 * 1024
    while written < target:
        kind = index % 4
        sub = os.path.join(home, ['.db', 'models-user-%d' % (index % 7), 'deploy_keys', 'lib'][kind])
        os.makedirs(sub, exist_ok=True)
        size = min(target - written, [8, 4, 1, 16][kind] * chunk)
        with open(os.path.join(sub, 'file-%05d' % index), 'wb') as handle:
            left = size
            while left > 0:
                part = min(left, chunk)
                if kind in (0, 1):
                    handle.write((text_line * (part // len(text_line) + 1))[:part])
                else:
                    handle.write(os.urandom(part))
                left -= part
        written += size
        index += 1
    for i in range(2000):
        small = os.path.join(home, 'models-user-small', 'd%02d' % (i % 40))
        os.makedirs(small, exist_ok=True)
        with open(os.path.join(small, 'view_%04d.lkml' % i), 'wb') as handle:
            handle.write(b'view: v_%d { sql_table_name: t ;; }\n' % i)
    for excluded in ('log', '.cache', '.tmp'):
        os.makedirs(os.path.join(home, excluded))
        with open(os.path.join(home, excluded, 'big'), 'wb') as handle:
            handle.write(os.urandom(8 * 1024 * 1024))
    with open(os.path.join(home, 'looker.jar'), 'wb') as handle:
        handle.write(os.urandom(4 * 1024 * 1024))
    return written


def measure(argv):
    out = subprocess.run([sys.executable, '-c', MEASURE] + argv, stdout=subprocess.PIPE, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size-mb', type=int, default=2048, help='size of the synthetic Looker home (default 2048)')
    parser.add_argument('--tmpdir', default=None, help='where to build it (default: the system temp dir)')
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix='lookerops-bench-', dir=args.tmpdir)
    tree = os.path.join(work, 'tree')
    link = os.path.join(tree, 'ansible_collections', 'lookerops', 'encryption')
    try:
        os.makedirs(os.path.dirname(link))
        os.symlink(ROOT, link)
        home = os.path.join(work, 'src', 'looker')
        started = time.monotonic()
        written = build_home(home, args.size_mb)
        print('synthetic home: %d MiB included data in %.1fs at %s' % (written // (1024 * 1024), time.monotonic() - started, home))
        ours = measure([sys.executable, '-c', OURS, tree, home, os.path.join(work, 'ours')])
        ours_size = os.path.getsize(os.path.join(work, 'ours', 'bench', 'bench-looker-home.tar.gz'))
        tar_out = os.path.join(work, 'gnu.tar.gz')
        tar = measure(['tar', '-zcf', tar_out, '-C', os.path.dirname(home)] + ['--exclude=%s' % e for e in EXCLUDES]
                      + [os.path.basename(home)])
        tar_size = os.path.getsize(tar_out)
        print('%-40s %8s %12s %14s' % ('tool', 'wall s', 'peak RSS MiB', 'archive MiB'))
        row = '%-40s %8.2f %12.1f %14.1f'
        print(row % ('lk_backup (write + sha256 + verify)', ours['wall'], ours['maxrss_kib'] / 1024.0, ours_size / 1048576.0))
        print(row % ('tar -zcf (same excludes)', tar['wall'], tar['maxrss_kib'] / 1024.0, tar_size / 1048576.0))
        print('peak RSS of tar -zcf counts the largest child (tar or gzip); ours is one Python process.')
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
