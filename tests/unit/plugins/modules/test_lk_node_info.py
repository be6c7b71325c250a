# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the lk_node_info module (arguments, results, failures) against a fake Looker home."""

from __future__ import annotations

import json
import os
import time

from ansible_collections.lookerops.encryption.plugins.modules import lk_node_info
from ansible_collections.lookerops.encryption.tests.unit.plugins.modules.utils import common, run_main


def test_node_info(fake, monkeypatch):
    fake.write_cfg('export LKR_MASTER_KEY_ENV=c2VjcmV0LWtleS12YWx1ZQ==\n')
    for check_mode in (False, True):
        res = run_main(lk_node_info, common(fake, run_id='r1'), monkeypatch, check_mode=check_mode)
        assert res['changed'] is False and res['release'] == '24.0.12' and res['alive']['state'] == 'refused'
        assert res['key']['modes'] == ['file', 'env'] and res['fence']['present'] is False
        assert 'c2VjcmV0' not in json.dumps(res)


def test_node_info_running(fake, monkeypatch):
    pid = fake.start_jvm()
    res = run_main(lk_node_info, common(fake), monkeypatch)
    assert res['pid'] == pid and res['pid_alive'] and res['alive']['state'] == 'up'


def test_key_proven_by_start(fake, monkeypatch):
    res = run_main(lk_node_info, common(fake), monkeypatch)
    assert res['key']['proven_by_start'] is None  # not running: nothing proves the settings
    fake.start_jvm()
    res = run_main(lk_node_info, common(fake), monkeypatch)
    assert res['key']['proven_by_start'] is True
    later = time.time() + 30
    os.utime(fake.key_file, (later, later))  # the key file changed after Looker started
    res = run_main(lk_node_info, common(fake), monkeypatch)
    assert res['key']['proven_by_start'] is False


def test_node_info_missing_home(fake, monkeypatch):
    res = run_main(lk_node_info, common(fake, looker_home=fake.home + '-nope'), monkeypatch)
    assert res['home_exists'] is False and res['settings'] is None and res['jar_present'] is False


def test_node_info_backend_from_looker_db_never_shows_the_password(fake, monkeypatch):
    fake.write_cfg('LOOKERARGS="--no-ssl --port %d"\n' % fake.port
                   + "export LOOKER_DB='dialect=mysql&host=db.internal&username=lk&password=pw-s3cret%26x&database=lk_prod&port=3310'\n")
    res = run_main(lk_node_info, common(fake), monkeypatch)
    assert res['backend'] == {'mode': 'looker_db_env', 'host': 'db.internal', 'port': 3310, 'database': 'lk_prod', 'user': 'lk',
                              'ssl': False, 'source': 'LOOKER_DB', 'error': None}
    assert 'pw-s3cret' not in json.dumps(res)


def test_node_info_backend_from_creds_file_and_internal(fake, monkeypatch, tmp_path):
    creds = tmp_path / 'db.yml'
    creds.write_text('dialect: mysql\nhost: 10.0.0.5\nusername: looker\npassword: "pw-s3cret"\ndatabase: lk\nport: 3306\n',
                     encoding='utf-8')
    fake.write_cfg('LOOKERARGS="--no-ssl --port %d -d %s"\n' % (fake.port, creds))
    res = run_main(lk_node_info, common(fake), monkeypatch)
    assert res['backend']['mode'] == 'mysql_creds_file' and res['backend']['source'] == str(creds)
    assert res['backend']['database'] == 'lk' and 'pw-s3cret' not in json.dumps(res)
    fake.write_cfg('LOOKERARGS="--no-ssl --port %d"\n' % fake.port)
    res = run_main(lk_node_info, common(fake), monkeypatch)
    assert res['backend']['mode'] == 'internal'


def test_node_info_key_sources(fake, monkeypatch):
    fake.start_jvm()
    res = run_main(lk_node_info, common(fake, systemd_unit=''), monkeypatch)
    # lookerstart.cfg names the key file; the running (fake) Looker was started without key settings: they agree.
    assert res['key_sources']['problem'] is None and res['key_sources']['identity'] == res['key']['identity']
    assert [s['source'] for s in res['key_sources']['sources']] == ['lookerstart.cfg', 'process']
    res = run_main(lk_node_info, common(fake, looker_home=fake.home + '-nope'), monkeypatch)
    assert res['key_sources'] is None


def test_node_info_restarts(fake, monkeypatch):
    path = os.path.join(fake.home, '.lookerops-restarts.json')
    res = run_main(lk_node_info, common(fake), monkeypatch)
    assert res['restarts'] == {'stops': [], 'starts': [], 'error': None}  # no history yet
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump({'version': 1, 'stops': [{'utc': '2026-01-01T00:00:00Z', 'seconds': 11.5}, {'utc': None, 'seconds': 9}],
                   'starts': [{'utc': '2026-01-01T00:02:00Z', 'seconds': 88.25}]}, handle)
    res = run_main(lk_node_info, common(fake), monkeypatch)
    assert res['restarts'] == {'stops': [{'utc': '2026-01-01T00:00:00Z', 'seconds': 11.5}, {'utc': None, 'seconds': 9.0}],
                               'starts': [{'utc': '2026-01-01T00:02:00Z', 'seconds': 88.25}], 'error': None}
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write('{"stops": [')
    res = run_main(lk_node_info, common(fake), monkeypatch)
    assert 'failed' not in res and res['restarts']['stops'] == [] and 'not JSON' in res['restarts']['error']
