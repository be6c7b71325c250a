# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the lk_node_env module (run through main())."""

from __future__ import annotations

import base64
import os
import pwd
import stat

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils._node_env import BEGIN
from ansible_collections.lookerops.encryption.plugins.modules import lk_node_env
from ansible_collections.lookerops.encryption.tests.unit.plugins.modules.utils import run_main_json

KEY = base64.b64encode(bytes(range(32))).decode()
KEY_KCV = 'kcv1:85eaa8f81d9c4bb6'
OWNER = pwd.getpwuid(os.getuid()).pw_name


def run_module(capsys, **args):
    args.setdefault('owner', OWNER)
    return run_main_json(lk_node_env, capsys, args, secrets=(KEY,))


@pytest.fixture
def home(tmp_path):
    path = tmp_path / 'looker'
    path.mkdir()
    return path


def test_key_env_apply_check_idempotent(home, capsys):
    cfg = home / 'lookerstart.cfg'
    check = run_module(capsys, looker_home=str(home), mode='key_env', key=KEY, _ansible_check_mode=True, _ansible_diff=True)
    assert check['changed'] is True and not cfg.exists()
    assert check['diff']['before']['exists'] is False and check['diff']['after']['setting_mode'] == 'key_env'
    applied = run_module(capsys, looker_home=str(home), mode='key_env', key=KEY, expected_kcv=KEY_KCV, _ansible_inject_invocation=True)
    assert applied['changed'] is True and applied['kcv'] == KEY_KCV and applied['setting_mode'] == 'key_env' and applied['mode'] == '0600'
    assert applied['invocation']['module_args']['key'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
    assert len(applied['settings_fingerprint']) == 64
    assert stat.S_IMODE(os.stat(cfg).st_mode) == 0o600 and KEY in cfg.read_text()
    assert run_module(capsys, looker_home=str(home), mode='key_env', key=KEY, _ansible_check_mode=True)['changed'] is False
    again = run_module(capsys, looker_home=str(home), mode='key_env', key=KEY)
    assert again['changed'] is False and again['settings_fingerprint'] == applied['settings_fingerprint']


def test_aws_requires_region_and_alias(home, capsys):
    missing = run_module(capsys, looker_home=str(home), mode='aws_kms', aws_cmk='alias/x')
    assert missing['failed'] is True and 'aws_region' in missing['msg']
    not_alias = run_module(capsys, looker_home=str(home), mode='aws_kms', aws_region='us-east-1', aws_cmk='mrk-123')
    assert not_alias['failed'] is True and 'alias/<name>' in not_alias['msg']
    ok = run_module(capsys, looker_home=str(home), mode='aws_kms', aws_region='us-east-1', aws_cmk='alias/x')
    assert ok['changed'] is True and 'kcv' not in ok
    assert "LKR_AWS_CMK_EC='Looker_Encryption_Context'" in (home / 'lookerstart.cfg').read_text()


def test_conflict_reported_by_module(home, capsys):
    (home / 'lookerstart.cfg').write_text('LOOKERARGS=""\nexport LKR_MASTER_KEY_ENV=%s\n' % KEY)
    result = run_module(capsys, looker_home=str(home), mode='key_env', key=KEY)
    assert result['failed'] is True and 'line 2 sets LKR_MASTER_KEY_ENV' in result['msg']
    assert BEGIN not in (home / 'lookerstart.cfg').read_text()


def test_absent_removes_block_and_dropin(home, tmp_path, capsys):
    dropin = tmp_path / 'd' / 'x.conf'
    env_file = tmp_path / 'd' / 'x.env'
    run_module(capsys, looker_home=str(home), mode='key_env', key=KEY, systemd_dropin=str(dropin))
    assert KEY not in dropin.read_text() and 'EnvironmentFile=%s\n' % env_file in dropin.read_text()
    assert KEY in env_file.read_text() and stat.S_IMODE(os.stat(env_file).st_mode) == 0o600
    result = run_module(capsys, looker_home=str(home), mode='absent', systemd_dropin=str(dropin))
    assert result['changed'] is True and result['daemon_reload_needed'] is True and not dropin.exists()
    assert not env_file.exists()
    assert (home / 'lookerstart.cfg').read_text() == ''


def test_argspec_no_log():
    spec = lk_node_env.argument_spec()
    assert spec['key']['no_log'] is True
    assert spec['key_file']['no_log'] is False
