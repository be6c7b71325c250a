#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The demo: a 3-node simulated Looker cluster with a MariaDB backend, migrated to AES-256-GCM
by playbooks/migrate.yml; prints the run's summary and the stand-in's inspection before and after,
then tears the bed down (--keep leaves it up; `python tests/bed/bedctl.py down --name demo`)."""

from __future__ import annotations

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'tests'))

from bed import Bed  # noqa: E402  pylint: disable=wrong-import-position
from e2e.runner import Controller, run_playbook  # noqa: E402  pylint: disable=wrong-import-position


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--nodes', type=int, default=3)
    parser.add_argument('--keep', action='store_true', help='leave the bed up afterwards')
    parser.add_argument('--status-only', action='store_true', help='bring the bed up and show looker status only')
    args = parser.parse_args()

    # Short stand-in timings so the demo takes a minute, not ten; Looker's own "stopped within the
    # last minute counts as live" window is shortened to 10 s for the same reason.
    bed = Bed(name='demo', nodes=args.nodes, cluster=True,
              standin={'start_seconds': 1, 'stop_seconds': 1, 'migrate_seconds': 2, 'live_window_seconds': 10})
    ok = False
    try:
        print('== bringing up %d Looker nodes (network namespaces, sshd, MariaDB backend)' % args.nodes, flush=True)
        bed.up()
        for name, proc in bed.status().items():
            print('%s (%s): %s' % (name, bed.node(name).address, proc.stdout.strip()), flush=True)
        if args.status_only:
            ok = True
            return 0
        before = bed.inspect()
        print('== before: %s' % json.dumps(before, sort_keys=True), flush=True)
        controller = Controller(os.path.join(bed.workdir, 'controller'))
        print('== ansible-playbook lookerops.encryption.migrate', flush=True)
        proc = run_playbook(bed, 'migrate', controller)
        print(proc.stdout[-12000:])
        if proc.returncode != 0:
            print(proc.stderr[-4000:], file=sys.stderr)
            print('demo: the migration playbook failed (exit %d)' % proc.returncode, file=sys.stderr)
            return 1
        after = bed.inspect()
        print('== after:  %s' % json.dumps(after, sort_keys=True), flush=True)
        same = after['digest'] == before['digest'] and after['legacy'] == 0 and after['gcm'] == before['total']
        print('== every record on AES-GCM-256 and the plaintext digest unchanged: %s' % ('yes' if same else 'NO'))
        ok = same
        return 0 if same else 1
    finally:
        if args.keep:
            print('== bed left up: python tests/bed/bedctl.py down --name demo')
        else:
            bed.down()
            print('== bed torn down' + ('' if ok else ' (after a failure)'))


if __name__ == '__main__':
    sys.exit(main())
