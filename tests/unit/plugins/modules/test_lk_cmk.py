# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the lk_cmk node module, run through main() (the controller side is in plugin_utils/test_cmk_source.py)."""

from __future__ import annotations

import base64
import os
import pwd
import stat

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils._key_material import kcv_of_text
from ansible_collections.lookerops.encryption.plugins.modules import lk_cmk
from ansible_collections.lookerops.encryption.tests.unit.plugins.modules.utils import run_main_json

KEY = base64.b64encode(bytes(range(32))).decode()
KEY_KCV = 'kcv1:85eaa8f81d9c4bb6'
OTHER = base64.b64encode(bytes(32)).decode()
OTHER_KCV = 'kcv1:313d00b65859203e'
OWNER = pwd.getpwuid(os.getuid()).pw_name


def run_module(capsys, **args):
    args.setdefault('owner', OWNER)
    return run_main_json(lk_cmk, capsys, args, secrets=(KEY, OTHER))


def test_module_present_then_unchanged(tmp_path, capsys):
    path = str(tmp_path / 'k' / 'cmk.key')
    first = run_module(capsys, path=path, key=KEY, expected_kcv=KEY_KCV, _ansible_diff=True, _ansible_inject_invocation=True)
    assert first['changed'] is True and first['kcv'] == KEY_KCV and first['mode'] == '0400' and first['owner'] == OWNER
    assert first['diff']['after']['kcv'] == KEY_KCV and first['diff']['before']['exists'] is False
    assert first['invocation']['module_args']['key'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o400
    second = run_module(capsys, path=path, key=KEY)
    assert second['changed'] is False and 'diff' not in second
    check = run_module(capsys, path=path, key=KEY, _ansible_check_mode=True)
    assert check['changed'] is False


def test_module_check_mode_does_not_write(tmp_path, capsys):
    path = tmp_path / 'k' / 'cmk.key'
    result = run_module(capsys, path=str(path), key=KEY, _ansible_check_mode=True)
    assert result['changed'] is True and not path.parent.exists()


def test_module_different_key_fails(tmp_path, capsys):
    path = str(tmp_path / 'cmk.key')
    run_module(capsys, path=path, key=OTHER)
    result = run_module(capsys, path=path, key=KEY)
    assert result['failed'] is True and 'rekey' in result['msg'] and OTHER_KCV in result['msg'] and KEY_KCV in result['msg']
    with open(path) as handle:
        assert handle.read() == OTHER + '\n'


def test_module_validated_never_writes(tmp_path, capsys):
    path = str(tmp_path / 'cmk.key')
    missing = run_module(capsys, path=path, state='validated', expected_kcv=KEY_KCV)
    assert missing['failed'] is True and not os.path.exists(path)
    run_module(capsys, path=path, key=KEY)
    os.chmod(path, 0o600)
    wrong_mode = run_module(capsys, path=path, state='validated', expected_kcv=KEY_KCV)
    assert wrong_mode['failed'] is True and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    os.chmod(path, 0o400)
    assert run_module(capsys, path=path, state='validated', expected_kcv=KEY_KCV)['changed'] is False


@pytest.mark.parametrize('key, fragment', [
    ('abc', 'not base64'),
    (base64.b64encode(b'k' * 24).decode(), 'decoded length 24 bytes, must be 32'),
    (base64.urlsafe_b64encode(b'\xff' * 32).decode(), 'url-safe'),
])
def test_module_invalid_key_message(tmp_path, capsys, key, fragment):
    result = run_module(capsys, path=str(tmp_path / 'cmk.key'), key=key)
    assert result['failed'] is True and fragment in result['msg'] and 'openssl rand -base64 32' in result['msg']
    assert key not in result['msg']


def test_module_argspec_marks_key_no_log():
    spec = lk_cmk.argument_spec()
    assert spec['key']['no_log'] is True
    assert spec['expected_kcv']['no_log'] is False


def test_module_retired_removes_every_copy_of_the_retired_key_only(fake, tmp_path, capsys):
    """After a rekey: the key file still holding the old key, the .replaced-* hard link lk_cmk kept when it replaced a key
    file and a temp file of an interrupted write go; a file with another key stays; the key in force is never removed."""
    third = base64.b64encode(bytes(range(1, 33))).decode()
    third_kcv = kcv_of_text(third)
    path = str(tmp_path / 'k' / 'cmk.key')
    run_module(capsys, path=path, key=KEY)
    run_module(capsys, path=path, key=third, on_different_key='replace', replace_kcv=KEY_KCV)
    replaced = path + '.replaced-' + KEY_KCV.split(':')[1]
    assert os.path.exists(replaced)         # what lk_cmk keeps when it replaces a key file
    temp = str(tmp_path / 'k' / '.cmk.key.abcd1234.tmp')
    with open(temp, 'w') as handle:
        handle.write(KEY + '\n')
    common = dict(path=path, state='retired', looker_home=fake.home, owner=fake.user)
    check = run_module(capsys, expected_kcv=KEY_KCV, _ansible_check_mode=True, **common)
    assert check['changed'] and sorted(check['removed']) == sorted([replaced, temp]) and os.path.exists(replaced)
    result = run_module(capsys, expected_kcv=KEY_KCV, **common)
    assert result['changed'] and sorted(result['removed']) == sorted([replaced, temp]) and result['kept'] == [path]
    assert sorted(os.listdir(str(tmp_path / 'k'))) == ['cmk.key']
    # the file now holding the retired key goes too (a move to KMS or to env delivery leaves it behind otherwise)
    result = run_module(capsys, expected_kcv=third_kcv, **common)
    assert result['removed'] == [path] and os.listdir(str(tmp_path / 'k')) == []
    again = run_module(capsys, expected_kcv=third_kcv, **common)
    assert again['changed'] is False and again['removed'] == []
    # the key Looker's settings give it now (the fake home's key file) is not a retired key
    refused = run_module(capsys, path=fake.key_file, state='retired', expected_kcv=OTHER_KCV, looker_home=fake.home, owner=fake.user)
    assert refused['failed'] and 'key in force' in refused['msg'] and os.path.exists(fake.key_file)
