#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bring a bed up for a molecule scenario (short stand-in timings) and print shell assignments
for tests/scripts/molecule.sh; or take it down."""

from __future__ import annotations

import os
import shlex
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'tests'))

from bed import Bed  # noqa: E402  pylint: disable=wrong-import-position
from e2e.runner import Controller, collections_path  # noqa: E402  pylint: disable=wrong-import-position

STANDIN = {'start_seconds': 0.5, 'stop_seconds': 0.5, 'migrate_seconds': 1, 'live_window_seconds': 5}


def main(argv):
    action, name = argv[0], argv[1]
    if action == 'down':
        Bed.load(name=name).down()
        return 0
    nodes = int(argv[2])
    single = '--single' in argv
    bed = Bed(name=name, nodes=nodes, cluster=not single, standin=STANDIN)
    try:
        bed.up()
        digest = bed.inspect()['digest']
    except BaseException:
        bed.down()
        raise
    controller = Controller(os.path.join(bed.workdir, 'controller'))
    out = {
        'LOOKEROPS_BED': name,
        'LOOKEROPS_BED_INVENTORY': bed.inventory,
        'LOOKEROPS_DIGEST_BEFORE': digest,
        'LOOKEROPS_VAULT_PASSWORD_FILE': controller.vault_password_file,
        'LOOKEROPS_ESCROW_PATH': controller.escrow_path,
        'ANSIBLE_COLLECTIONS_PATH': collections_path(),
    }
    for key, value in out.items():
        print('export %s=%s' % (key, shlex.quote(value)))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
