# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in tunables, read from the JSON file named by LOOKER_STANDIN_CONFIG."""

from __future__ import annotations

import json
import os

DEFAULTS = {
    'release': '23.0.0',
    'start_seconds': 0.5,
    'stop_seconds': 0.5,
    'migrate_seconds': 1.0,
    'live_window_seconds': 60.0,
    'heartbeat_seconds': 5.0,
    'crash_midway': False,
    # rekey: exit abruptly (137) right after the destination-wrapped KEK was written as rekey_pending.
    'crash_rekey': False,
    'rotate_log_on_migrate': False,
    'records': 10,
    # Seconds the node's clock is off: Looker stamps its log lines with the node's clock.
    'clock_offset_seconds': 0,
    # Environment the node provides to Looker outside lookerstart.cfg (the bed: AWS endpoint and
    # test credentials, standing in for an EC2 instance role). Set only where not already set.
    'aws_env': {},
    # Looker's API (port 19999): the client ID and secret of the one API key POST /api/4.0/login accepts. Unset
    # (None): every login is refused.
    'api_client_id': None,
    'api_client_secret': None,
    # migrate_encryption writes the stored credential of this connection (e.g. 'conn-00006', from record rec-00006)
    # under a random foreign KEK: Looker's connection test of it then fails after the migration (None: off).
    'undecryptable_connection': None,
}


def load_config(path=None):
    """Tunables merged over the defaults; a missing file means all defaults."""
    path = path or os.environ.get('LOOKER_STANDIN_CONFIG')
    conf = dict(DEFAULTS)
    if path and os.path.exists(path):
        with open(path, encoding='utf-8') as handle:
            data = json.load(handle)
        unknown = sorted(set(data) - set(DEFAULTS))
        if unknown:
            raise ValueError('unknown stand-in tunables in %s: %s' % (path, ', '.join(unknown)))
        conf.update(data)
    return conf
