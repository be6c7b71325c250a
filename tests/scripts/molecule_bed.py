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
    moto = '--moto' in argv
    bed = Bed(name=name, nodes=nodes, cluster=not single, standin=STANDIN, moto=moto)
    try:
        bed.up()
        digest = bed.inspect()['digest']
        if moto:
            # The "RDS instance" behind the backend, for the snapshot step.
            import boto3  # pylint: disable=import-outside-toplevel
            env = bed.aws_env()
            boto3.client('rds', region_name='us-east-1', endpoint_url=env['AWS_ENDPOINT_URL']).create_db_instance(
                DBInstanceIdentifier='looker-backend', DBInstanceClass='db.t3.micro', Engine='mysql',
                MasterUsername='admin', MasterUserPassword='not-a-secret-1', AllocatedStorage=20)
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
    if moto:
        out.update(bed.aws_env())
    for key, value in out.items():
        print('export %s=%s' % (key, shlex.quote(value)))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
