# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the lk_log_evidence module (arguments, results, failures) against a fake Looker home."""

from __future__ import annotations

from ansible_collections.lookerops.encryption.plugins.modules import lk_log_evidence
from ansible_collections.lookerops.encryption.tests.unit.plugins.modules.utils import common, run_main


def test_log_evidence(fake, monkeypatch):
    fake.log('2026-11-28 01:00:00.000 +0000 [INFO|007d0|crypt] :: Starting migration from AES-128-CBC Legacy to AES-GCM-256',
             '2026-11-28 01:00:01.000 +0000 [INFO|007d0|main] :: other')
    res = run_main(lk_log_evidence, common(fake, since='2026-11-28 00:59:59'), monkeypatch)
    assert res['count'] == 1 and 'AES-GCM-256' in res['matched'][0] and res['files'] == [fake.home + '/log/looker.log']
    res = run_main(lk_log_evidence, common(fake, since='2026-11-28T01:00:00.500Z'), monkeypatch)
    assert res['failed'] and 'no log line matching' in res['msg']
    res = run_main(lk_log_evidence, common(fake, since='2026-11-28T01:00:00.500Z', required=False, pattern='other'), monkeypatch)
    assert res['count'] == 1 and not res.get('failed')
    res = run_main(lk_log_evidence, common(fake, since='soon'), monkeypatch)
    assert res['failed'] and 'YYYY-MM-DD' in res['msg']
