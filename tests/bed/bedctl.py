#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Command line for the test bed.

    python tests/bed/bedctl.py up --name demo --nodes 3 [--single] [--moto] [--keep]
    python tests/bed/bedctl.py status --name demo
    python tests/bed/bedctl.py inspect --name demo
    python tests/bed/bedctl.py down --name demo

``up`` without ``--keep`` holds the bed until Ctrl-C (or SIGTERM), then tears it down; with
``--keep`` it returns and leaves the bed up for a later ``down`` (state is in the workdir).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bed import Bed, BedError  # noqa: E402  pylint: disable=wrong-import-position


def _describe(bed):
    lines = ['bed %s (%s, %d node(s)), workdir %s' % (bed.name, 'cluster' if bed.cluster else 'single node',
                                                      len(bed.nodes), bed.workdir)]
    for node in bed.nodes:
        lines.append('  %s %s' % (node.name, node.address))
    lines.append('  MariaDB %s:%s database %s user %s' % (bed.mariadb.host, bed.mariadb.port, bed.mariadb.database,
                                                          bed.mariadb.user))
    if bed.moto is not None:
        lines.append('  moto %s' % bed.moto.url)
    lines.append('  inventory: %s' % bed.inventory)
    lines.append('  local inventory: %s' % bed.local_inventory)
    lines.append('  ssh: ssh -i %s root@%s' % (bed.ssh_key, bed.nodes[0].address))
    return '\n'.join(lines)


def cmd_up(args):
    """up: bring the bed up."""
    bed = Bed(name=args.name, nodes=args.nodes, cluster=not args.single, moto=args.moto, records=args.records)
    start = time.monotonic()
    try:
        bed.up()
    except BaseException:
        bed.down()
        raise
    print(_describe(bed))
    print('up in %.2f s' % (time.monotonic() - start))
    sys.stdout.flush()
    if args.keep:
        return 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *_a: stop.append(1))
    try:
        while not stop:
            signal.pause() if hasattr(signal, 'pause') else time.sleep(1)  # pylint: disable=expression-not-assigned
    except KeyboardInterrupt:
        pass
    bed.down()
    print('down')
    return 0


def _loaded(args):
    bed = Bed.load(args.name)
    if not os.path.exists(bed.state_file):
        raise BedError('no bed %r (no %s)' % (args.name, bed.state_file))
    return bed


def cmd_status(args):
    """status: ``looker status`` of each node."""
    bed = _loaded(args)
    print(_describe(bed))
    worst = 0
    for node in bed.nodes:
        if node.pid is None:
            print('%s: node not running' % node.name)
            worst = 1
            continue
        res = node.looker('status', timeout=60)
        print('%s: rc=%d %s' % (node.name, res.returncode, (res.stdout + res.stderr).strip()))
        worst = worst or (1 if res.returncode else 0)
    return worst


def cmd_inspect(args):
    """inspect: the stand-in's inspection JSON."""
    print(json.dumps(_loaded(args).inspect(), indent=2, sort_keys=True))
    return 0


def cmd_down(args):
    """down: tear the bed down (works on a bed brought up by another process)."""
    Bed.load(args.name).down()
    print('bed %s is down' % args.name)
    return 0


def main(argv=None):
    """Entry point."""
    parser = argparse.ArgumentParser(description='lookerops.encryption test bed')
    sub = parser.add_subparsers(dest='command', required=True)
    up = sub.add_parser('up', help='bring a bed up')
    up.add_argument('--name', default='demo')
    up.add_argument('--nodes', type=int, default=3)
    up.add_argument('--single', action='store_true', help='single node mode (no cluster backend)')
    up.add_argument('--moto', action='store_true', help='also start a moto server')
    up.add_argument('--records', type=int, default=50)
    up.add_argument('--keep', action='store_true', help='leave the bed up and return')
    up.set_defaults(func=cmd_up)
    for name, func in (('status', cmd_status), ('inspect', cmd_inspect), ('down', cmd_down)):
        parser_ = sub.add_parser(name)
        parser_.add_argument('--name', default='demo')
        parser_.add_argument('--nodes', type=int, help=argparse.SUPPRESS)
        parser_.set_defaults(func=func)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BedError as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
