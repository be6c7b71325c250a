# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the lk_log_evidence module (arguments, results, failures) against a fake Looker home."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.lookerops.encryption.plugins.modules import lk_log_evidence
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
            lk_log_evidence.main()
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


def test_log_evidence(fake, monkeypatch):
    fake.log('2026-11-28 01:00:00.000 +0000 [INFO|007d0|crypt] :: Starting migration from AES-128-CBC Legacy to AES-GCM-256',
             '2026-11-28 01:00:01.000 +0000 [INFO|007d0|main] :: other')
    res = run_module(common(fake, since='2026-11-28 00:59:59'), monkeypatch)
    assert res['count'] == 1 and 'AES-GCM-256' in res['matched'][0] and res['files'] == [fake.home + '/log/looker.log']
    res = run_module(common(fake, since='2026-11-28T01:00:00.500Z'), monkeypatch)
    assert res['failed'] and 'no log line matching' in res['msg']
    res = run_module(common(fake, since='2026-11-28T01:00:00.500Z', required=False, pattern='other'), monkeypatch)
    assert res['count'] == 1 and not res.get('failed')
    res = run_module(common(fake, since='soon'), monkeypatch)
    assert res['failed'] and 'YYYY-MM-DD' in res['msg']
