# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the lk_node_info module (arguments, results, failures) against a fake Looker home."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.lookerops.encryption.plugins.modules import lk_node_info
from ansible_collections.lookerops.encryption.tests.unit.plugins.module_utils.test_looker_node import (
    FakeLooker,
    confine_task_scan,
)


class _Exit(Exception):
    pass


def run_module(args, monkeypatch, check_mode=False):
    out = {}

    def _exit(self, **kwargs):  # pylint: disable=unused-argument
        out.update(kwargs)
        raise _Exit()

    def _fail(self, msg, **kwargs):  # pylint: disable=unused-argument
        out.update(kwargs)
        out['failed'] = True
        out['msg'] = msg
        raise _Exit()

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', _exit)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', _fail)
    payload = dict(args)
    payload['_ansible_check_mode'] = check_mode
    with patch_module_args(payload):
        with pytest.raises(_Exit):
            lk_node_info.main()
    json.dumps(out)
    return out


@pytest.fixture(name='fake')
def fake_fixture(tmp_path, monkeypatch):
    fake = FakeLooker(tmp_path)
    confine_task_scan(monkeypatch, tmp_path)
    yield fake
    fake.cleanup()


def common(fake, **kwargs):
    args = {'looker_home': fake.home, 'looker_user': fake.user, 'java': fake.java}
    args.update(kwargs)
    return args


def test_node_info(fake, monkeypatch):
    fake.write_cfg('export LKR_MASTER_KEY_ENV=c2VjcmV0LWtleS12YWx1ZQ==\n')
    for check_mode in (False, True):
        res = run_module(common(fake, run_id='r1'), monkeypatch, check_mode=check_mode)
        assert res['changed'] is False and res['release'] == '24.0.12' and res['alive']['state'] == 'refused'
        assert res['key']['modes'] == ['file', 'env'] and res['fence']['present'] is False
        assert 'c2VjcmV0' not in json.dumps(res)


def test_node_info_running(fake, monkeypatch):
    pid = fake.start_jvm()
    res = run_module(common(fake), monkeypatch)
    assert res['pid'] == pid and res['pid_alive'] and res['alive']['state'] == 'up'


def test_node_info_missing_home(fake, monkeypatch):
    res = run_module(common(fake, looker_home=fake.home + '-nope'), monkeypatch)
    assert res['home_exists'] is False and res['settings'] is None and res['jar_present'] is False
