# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the lk_migrate_encryption module (arguments, results, failures) against a fake Looker home."""

from __future__ import annotations

import pytest

from ansible_collections.lookerops.encryption.plugins.modules import lk_migrate_encryption
from ansible_collections.lookerops.encryption.tests.unit.plugins.modules.utils import common, run_main


def test_migrate(fake, monkeypatch):
    res = run_main(lk_migrate_encryption, common(fake), monkeypatch, check_mode=True)
    assert res['changed'] and fake.calls() == []
    res = run_main(lk_migrate_encryption, common(fake), monkeypatch)
    assert res['changed'] and res['migration_started'] and res['duration_seconds'] >= 0
    fake.configure(migrate='already')
    res = run_main(lk_migrate_encryption, common(fake), monkeypatch)
    assert res['changed'] is False and res['already_migrated']


def test_migrate_retry(fake, monkeypatch):
    fake.configure(migrate='live', live_failures=2)
    res = run_main(lk_migrate_encryption, common(fake, retry_delay=0.01, retries=2), monkeypatch)
    assert res['changed'] and len(res['attempts']) == 3


@pytest.mark.parametrize('message, remedy', [
    ('Could not find task "migrate_encryption"', 'update Looker'),
    ('Looker can not start because: Missing backing keystore', 'LKR_MASTER_KEY_FILE'),
    ('Looker can not start because: Size of the Master Key is invalid it must be 32 bytes however is 3', 'exactly 32'),
    ('Looker can not start because: Permission for backing key file must be 0400, but is 600', 'chmod 0400'),
])
def test_migrate_errors(fake, monkeypatch, message, remedy):
    fake.configure(migrate='error', message=message)
    res = run_main(lk_migrate_encryption, common(fake), monkeypatch)
    assert res['failed'] and remedy in res['msg'] and res['changed'] is False


def test_migrate_running_refused(fake, monkeypatch):
    fake.start_jvm()
    res = run_main(lk_migrate_encryption, common(fake), monkeypatch)
    assert res['failed'] and 'lk_stop_cluster' in res['msg'] and not [c for c in fake.calls() if 'migrate_encryption' in c['argv']]


def test_first_attempt_waits_for_the_live_window(fake, monkeypatch):
    # The caller's first_attempt_delay is waited before the first attempt, and reported.
    res = run_main(lk_migrate_encryption, common(fake, first_attempt_delay=0.3), monkeypatch)
    assert res['changed'] and len(res['attempts']) == 1
    assert res['waited_seconds'] >= 0.3 and res['duration_seconds'] >= res['waited_seconds']


def test_no_wait_by_default(fake, monkeypatch):
    res = run_main(lk_migrate_encryption, common(fake), monkeypatch)
    assert res['changed'] and res['waited_seconds'] < 0.3
