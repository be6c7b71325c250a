# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the lk_fence module (arguments, results, failures) against a fake Looker home."""

from __future__ import annotations

import os

from ansible_collections.lookerops.encryption.plugins.modules import lk_fence
from ansible_collections.lookerops.encryption.tests.unit.plugins.modules.utils import common, run_main


def test_fence_present_absent(fake, monkeypatch):
    fence = os.path.join(fake.home, '.deploying')
    res = run_main(lk_fence, common(fake, run_id='r1'), monkeypatch, check_mode=True)
    assert res['changed'] and not os.path.exists(fence)
    res = run_main(lk_fence, common(fake, run_id='r1'), monkeypatch)
    assert res['changed'] and res['fence']['ours']
    with open(fence) as handle:
        assert handle.read() == 'lookerops.encryption run r1\n'
    assert run_main(lk_fence, common(fake, run_id='r1'), monkeypatch)['changed'] is False
    res = run_main(lk_fence, common(fake, run_id='r2'), monkeypatch)
    assert res['failed'] and 'run r1 (not this run)' in res['msg']
    res = run_main(lk_fence, common(fake, run_id='r2', state='absent'), monkeypatch)
    assert res['failed'] and os.path.exists(fence)
    assert run_main(lk_fence, common(fake, run_id='r2', state='absent', force=True), monkeypatch)['changed']
    assert not os.path.exists(fence)
    assert run_main(lk_fence, common(fake, run_id='r2', state='absent'), monkeypatch)['changed'] is False
