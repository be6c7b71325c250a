# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the lk_start module (arguments, results, failures) against a fake Looker home."""

from __future__ import annotations

import os

from ansible_collections.lookerops.encryption.plugins.modules import lk_start
from ansible_collections.lookerops.encryption.tests.unit.plugins.modules.utils import common, run_main


def test_start(fake, monkeypatch):
    res = run_main(lk_start, common(fake, timeout=30), monkeypatch, check_mode=True)
    assert res['changed'] and fake.pid() is None
    res = run_main(lk_start, common(fake, timeout=30), monkeypatch)
    assert res['changed'] and res['pid'] == fake.pid() and res['alive_after_seconds'] >= 0
    assert run_main(lk_start, common(fake), monkeypatch)['changed'] is False


def test_start_fenced(fake, monkeypatch):
    fake.node().fence.create('r1')
    res = run_main(lk_start, common(fake, run_id='r1'), monkeypatch)
    assert res['failed'] and 'unfence=true' in res['msg']
    res = run_main(lk_start, common(fake, run_id='r2', unfence=True), monkeypatch)
    assert res['failed'] and 'not this run' in res['msg']
    res = run_main(lk_start, common(fake, run_id='r1', unfence=True, timeout=30), monkeypatch)
    assert res['changed'] and res['unfenced'] and not os.path.exists(os.path.join(fake.home, '.deploying'))


def test_start_cannot_start(fake, monkeypatch):
    fake.configure(start='cannot', message='Size of the Master Key is invalid it must be 32 bytes however is 12')
    res = run_main(lk_start, common(fake, timeout=60), monkeypatch)
    assert res['failed'] and 'Size of the Master Key is invalid' in res['msg'] and '32 random bytes' in res['msg']
    assert res['evidence']['pid_alive'] is False and res['evidence']['log_lines']
