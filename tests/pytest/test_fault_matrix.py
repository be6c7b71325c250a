# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fault matrix script (tests/scripts/fault_matrix.py) on three cheap faults, so CI runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, 'tests', 'scripts', 'fault_matrix.py')
# fault -> how the first run must end
CHEAP = {'backup-full-one-node': 'refused in preflight', 'unreachable-before-stop': 'refused in preflight',
         # a failure after the stop, before the migration, on one node: every node gets service back
         'backup-disk-fills-on-one-node': 'service restored'}


def test_list_names_every_fault_of_the_issue():
    out = subprocess.run([sys.executable, SCRIPT, '--list'], capture_output=True, text=True, check=True).stdout.split()
    for phase in ('stop', 'backup', 'cmk', 'node_env', 'migrate', 'start'):
        assert 'sigkill-in-' + phase in out
    for name in list(CHEAP) + ['unreachable-after-stop', 'unreachable-during-start', 'sshd-killed-during-backup',
                               'backup-shared-too-small', 'backend-down-during-backup', 'migration-crash-midway',
                               'escrow-missing', 'second-concurrent-run', 'clock-10-minutes-off']:
        assert name in out


def test_cheap_faults_give_passing_rows(bed_factory, tmp_path):
    # This session holds the machine-wide bed lock: the script uses it through the inherited descriptor.
    bed_factory.exclusive()
    lock_fd = bed_factory._lock.fileno()  # pylint: disable=protected-access
    env = dict(os.environ, LOOKEROPS_BED_LOCK_FD=str(lock_fd), AWS_EC2_METADATA_DISABLED='true')
    rows_file = str(tmp_path / 'rows.json')
    argv = [sys.executable, SCRIPT, '--json', rows_file]
    for name in CHEAP:
        argv += ['--only', name]
    proc = subprocess.run(argv, env=env, pass_fds=(lock_fd,), capture_output=True, text=True, timeout=1800, check=False)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    with open(rows_file, encoding='utf-8') as handle:
        rows = {r['fault']: r for r in json.load(handle)}
    assert sorted(rows) == sorted(CHEAP)
    for name in CHEAP:
        row = rows[name]
        assert row['ok'] and row['outcome'] == CHEAP[name], row
        assert row['named'] == 'yes' and row['state'] == 'yes' and row['leaks'].startswith('0'), row
        assert '| %s ' % name in proc.stdout and name + ': reason: ' in proc.stdout, proc.stdout
    assert 'looker2' in rows['backup-full-one-node']['reason'] and 'not enough free space' in rows['backup-full-one-node']['reason']
    assert 'looker3' in rows['unreachable-before-stop']['reason']
    # Every bed the script made is down again.
    assert not os.path.exists('/tmp/lookerops-bed/fault-matrix/state.json')


def test_list_names_the_rollback_rows():
    out = subprocess.run([sys.executable, SCRIPT, '--list'], capture_output=True, text=True, check=True).stdout.split()
    for name in ('rollback-stale-run-without-acknowledgement', 'rollback-old-key-escrow-missing', 'rollback-node-unreachable'):
        assert name in out
