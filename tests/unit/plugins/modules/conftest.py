# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures shared by the module unit tests (the helper functions are in ``utils.py`` next to this file)."""

from __future__ import annotations

import pytest

from ansible_collections.lookerops.encryption.tests.unit.plugins.module_utils.test_looker_node import (
    FakeLooker,
    confine_task_scan,
)


@pytest.fixture(name='fake')
def fake_fixture(tmp_path, monkeypatch):
    """A fake Looker home (see FakeLooker), with the task scan confined to it."""
    fake = FakeLooker(tmp_path)
    confine_task_scan(monkeypatch, tmp_path)
    yield fake
    fake.cleanup()


@pytest.fixture
def aws_env(monkeypatch):
    """Dummy AWS credentials and region, no endpoint or profile from the environment, and moto's in-process AWS (mock_aws).

    Not autouse: the AWS test files ask for it with ``pytestmark = pytest.mark.usefixtures('aws_env')``.
    """
    from moto import mock_aws

    for name, value in (('AWS_ACCESS_KEY_ID', 'testing'), ('AWS_SECRET_ACCESS_KEY', 'testing'), ('AWS_DEFAULT_REGION', 'us-east-1'),
                        ('AWS_EC2_METADATA_DISABLED', 'true')):
        monkeypatch.setenv(name, value)
    for name in ('AWS_ENDPOINT_URL', 'AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_REGION'):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield
