# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the lk_start module (arguments, results, failures) against a fake Looker home."""

from __future__ import annotations

import json
import os

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.lookerops.encryption.plugins.modules import lk_start
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
            lk_start.main()
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


def test_start(fake, monkeypatch):
    res = run_module(common(fake, timeout=30), monkeypatch, check_mode=True)
    assert res['changed'] and fake.pid() is None
    res = run_module(common(fake, timeout=30), monkeypatch)
    assert res['changed'] and res['pid'] == fake.pid() and res['alive_after_seconds'] >= 0
    assert run_module(common(fake), monkeypatch)['changed'] is False


def test_start_fenced(fake, monkeypatch):
    fake.node().create_fence('r1')
    res = run_module(common(fake, run_id='r1'), monkeypatch)
    assert res['failed'] and 'unfence=true' in res['msg']
    res = run_module(common(fake, run_id='r2', unfence=True), monkeypatch)
    assert res['failed'] and 'not this run' in res['msg']
    res = run_module(common(fake, run_id='r1', unfence=True, timeout=30), monkeypatch)
    assert res['changed'] and res['unfenced'] and not os.path.exists(os.path.join(fake.home, '.deploying'))


def test_start_cannot_start(fake, monkeypatch):
    fake.configure(start='cannot', message='Size of the Master Key is invalid it must be 32 bytes however is 12')
    res = run_module(common(fake, timeout=60), monkeypatch)
    assert res['failed'] and 'Size of the Master Key is invalid' in res['msg'] and '32 random bytes' in res['msg']
    assert res['evidence']['pid_alive'] is False and res['evidence']['log_lines']
