# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the lk_fence module (arguments, results, failures) against a fake Looker home."""

from __future__ import annotations

import json
import os

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.lookerops.encryption.plugins.modules import lk_fence
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
            lk_fence.main()
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


def test_fence_present_absent(fake, monkeypatch):
    fence = os.path.join(fake.home, '.deploying')
    res = run_module(common(fake, run_id='r1'), monkeypatch, check_mode=True)
    assert res['changed'] and not os.path.exists(fence)
    res = run_module(common(fake, run_id='r1'), monkeypatch)
    assert res['changed'] and res['fence']['ours']
    with open(fence) as handle:
        assert handle.read() == 'lookerops.encryption run r1\n'
    assert run_module(common(fake, run_id='r1'), monkeypatch)['changed'] is False
    res = run_module(common(fake, run_id='r2'), monkeypatch)
    assert res['failed'] and 'run r1 (not this run)' in res['msg']
    res = run_module(common(fake, run_id='r2', state='absent'), monkeypatch)
    assert res['failed'] and os.path.exists(fence)
    assert run_module(common(fake, run_id='r2', state='absent', force=True), monkeypatch)['changed']
    assert not os.path.exists(fence)
    assert run_module(common(fake, run_id='r2', state='absent'), monkeypatch)['changed'] is False
