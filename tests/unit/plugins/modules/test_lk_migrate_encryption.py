# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the lk_migrate_encryption module (arguments, results, failures) against a fake Looker home."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.lookerops.encryption.plugins.modules import lk_migrate_encryption
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
            lk_migrate_encryption.main()
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


def test_migrate(fake, monkeypatch):
    res = run_module(common(fake), monkeypatch, check_mode=True)
    assert res['changed'] and fake.calls() == []
    res = run_module(common(fake), monkeypatch)
    assert res['changed'] and res['migration_started'] and res['duration_seconds'] >= 0
    fake.configure(migrate='already')
    res = run_module(common(fake), monkeypatch)
    assert res['changed'] is False and res['already_migrated']


def test_migrate_retry(fake, monkeypatch):
    fake.configure(migrate='live', live_failures=2)
    res = run_module(common(fake, retry_delay=0.01, retries=2), monkeypatch)
    assert res['changed'] and len(res['attempts']) == 3


@pytest.mark.parametrize('message, remedy', [
    ('Could not find task "migrate_encryption"', 'update Looker'),
    ('Looker can not start because: Missing backing keystore', 'LKR_MASTER_KEY_FILE'),
    ('Looker can not start because: Size of the Master Key is invalid it must be 32 bytes however is 3', 'exactly 32'),
    ('Looker can not start because: Permission for backing key file must be 0400, but is 600', 'chmod 0400'),
])
def test_migrate_errors(fake, monkeypatch, message, remedy):
    fake.configure(migrate='error', message=message)
    res = run_module(common(fake), monkeypatch)
    assert res['failed'] and remedy in res['msg'] and res['changed'] is False


def test_migrate_running_refused(fake, monkeypatch):
    fake.start_jvm()
    res = run_module(common(fake), monkeypatch)
    assert res['failed'] and 'lk_stop_cluster' in res['msg'] and not [c for c in fake.calls() if 'migrate_encryption' in c['argv']]
