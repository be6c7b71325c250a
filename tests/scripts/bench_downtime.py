#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: the downtime window of lookerops.encryption.migrate (or, --job rekey, of a rekey of the migrated
cluster) on the bed, beside its floor.

window = first node stopping to the last node answering /alive, read from the nodes' own logs
('Shutting down Looker' ... 'Looker started: listening').
floor  = slowest stop + max(backup, Looker's live window) + migration (or the rekey task, as measured) + first start +
slowest other start, from the stand-in's configured durations and the backup time measured on the nodes.
preflight = from the start of ansible-playbook to the first node stopping.
controller CPU = user + system seconds of ansible-playbook and its workers for the measured run, and per node.
forecast = the downtime forecast preflight printed before the stop (the same a --check run prints: the bed states the
stand-in's stop, start and task times, as an operator states their cluster's), and how far it was from the window.
--restore N...: on a bed of its own for each N, a migrate run that fails in the backup (node 2's backup filesystem fills when the home
backup begins), so the run gives service back; restore = the first node starting again to the last node answering
/alive, beside one node's start time.
Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'tests'))

from bed import Bed  # noqa: E402  pylint: disable=wrong-import-position
from e2e.runner import Controller, run_playbook  # noqa: E402  pylint: disable=wrong-import-position

TS = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \+0000 ')


def _ts(text):
    return time.mktime(time.strptime(text[:19], '%Y-%m-%d %H:%M:%S')) + float(text[19:])


def _events(node, since, needle):
    found = []
    log_dir = os.path.join(node.home, 'log')
    for name in os.listdir(log_dir):
        if name.startswith('looker.log') and not name.endswith('.gz'):
            with open(os.path.join(log_dir, name), encoding='utf-8', errors='replace') as handle:
                for line in handle:
                    match = TS.match(line)
                    if match and needle in line and _ts(match.group(1)) >= since:
                        found.append(_ts(match.group(1)))
    return sorted(found)


def run(nodes, standin, job='migrate'):
    bed = Bed(name='bench', nodes=nodes, cluster=True, standin=standin, records=200)
    try:
        bed.up()
        with tempfile.TemporaryDirectory() as tmp:
            controller = Controller(os.path.join(tmp, 'controller'))
            if job == 'rekey':
                proc = run_playbook(bed, 'migrate', controller)
                if proc.returncode != 0:
                    print(proc.stdout[-4000:])
                    raise SystemExit('migration failed at %d nodes' % nodes)
            since = time.time() - 1
            cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            run_began = time.time()
            proc = run_playbook(bed, job, controller)
            cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
            if proc.returncode != 0:
                print(proc.stdout[-4000:])
                raise SystemExit('%s failed at %d nodes' % (job, nodes))
        first_stop = min(t for n in bed.nodes for t in _events(n, since, 'Shutting down Looker'))
        last_alive = max(_events(n, since, 'Looker started: listening')[-1] for n in bed.nodes)
        window = last_alive - first_stop
        preflight = first_stop - run_began
        match = re.search(r'backup phase: (\d+(?:\.\d+)?) s', proc.stdout)
        backup = float(match.group(1)) if match else 0.0
        task = standin['migrate_seconds']
        if job == 'rekey':
            # The task's own time, from the stand-in's log of the first node (lk_rekey's duration also counts the
            # retries while Looker's live window runs, which the floor already holds).
            began = _events(bed.nodes[0], since, 'Starting rekey of the key encryption key')
            ended = _events(bed.nodes[0], since, 'Rekey of the key encryption key complete')
            task = (ended[-1] - began[-1]) if began and ended else 0.0
        floor = standin['stop_seconds'] + max(backup, standin['live_window_seconds']) + task + 2 * standin['start_seconds']
        # The forecast preflight made before the stop (the same one a --check run prints), against the window measured here.
        match = re.search(r'downtime forecast: (\d+(?:\.\d+)?) s', proc.stdout)
        forecast = float(match.group(1)) if match else float('nan')
        figures = (job, nodes, window, floor, window / floor, forecast, (forecast - window) / window * 100, preflight, cpu,
                   cpu / nodes, standin['stop_seconds'], standin['live_window_seconds'], backup, task, standin['start_seconds'])
        print('%s nodes=%-3d window=%6.1f s  floor=%6.1f s  window/floor=%.3f  forecast=%6.1f s (%+.0f %%)  preflight=%5.1f s'
              '  controller CPU=%6.1f s (%.2f s per node)  (stop %.1f, live window %.1f, backup %.1f, task %.1f, start %.1f)'
              % figures, flush=True)
    finally:
        bed.down()


def restore(nodes, standin):
    """The failure path: how long giving service back to ``nodes`` nodes takes."""
    bed = Bed(name='bench', nodes=nodes, cluster=True, standin=standin, records=200)
    try:
        bed.up()
        with tempfile.TemporaryDirectory() as tmp:
            controller = Controller(os.path.join(tmp, 'controller'))
            since = time.time() - 1
            proc = run_playbook(bed, 'migrate', controller,
                                at=('Backup | Back up the Looker home', lambda: bed.fill_backup_fs(min(2, nodes))))
            bed.unfill_backup_fs(min(2, nodes))
        if proc.returncode == 0 or 'service restored' not in proc.stdout:
            print(proc.stdout[-4000:])
            raise SystemExit('the failing run did not give service back at %d nodes' % nodes)
        starts = [t for n in bed.nodes for t in _events(n, since, 'Starting Looker')]
        alive = [_events(n, since, 'Looker started: listening') for n in bed.nodes]
        span = max(a[-1] for a in alive if a) - min(starts)
        figures = (nodes, span, standin['start_seconds'], span / standin['start_seconds'], sum(1 for a in alive if a), nodes)
        print('restore nodes=%-3d restore=%6.1f s (first node starting again to the last node answering /alive)  start=%.1f s'
              '  restore/start=%.2f  nodes back=%d/%d' % figures, flush=True)
    finally:
        bed.down()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--nodes', type=int, nargs='+', default=[3, 10])
    parser.add_argument('--live-window', type=float, default=60.0, help="Looker's window (60 s, as Looker documents)")
    parser.add_argument('--stop', type=float, default=2.0)
    parser.add_argument('--start', type=float, default=5.0)
    parser.add_argument('--migrate', type=float, default=5.0)
    parser.add_argument('--job', choices=['migrate', 'rekey'], default='migrate',
                        help='rekey: migrate first (not measured), then measure a rekey to a new local key')
    parser.add_argument('--restore', type=int, nargs='+', default=[], metavar='NODES',
                        help='also measure the failure path giving service back at these node counts (a bed of its own each)')
    args = parser.parse_args()
    standin = {'stop_seconds': args.stop, 'start_seconds': args.start, 'migrate_seconds': args.migrate,
               'live_window_seconds': args.live_window}
    for nodes in args.nodes:
        run(nodes, standin, args.job)
    for nodes in args.restore:
        restore(nodes, standin)
    return 0


if __name__ == '__main__':
    sys.exit(main())
