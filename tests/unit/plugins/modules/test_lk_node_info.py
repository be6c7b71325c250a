# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the lk_node_info module (arguments, results, failures) against a fake Looker home."""

from __future__ import annotations

import json

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


def test_node_info_missing_home(fake, monkeypatch):
    res = run_main(lk_node_info, common(fake, looker_home=fake.home + '-nope'), monkeypatch)
    assert res['home_exists'] is False and res['settings'] is None and res['jar_present'] is False
