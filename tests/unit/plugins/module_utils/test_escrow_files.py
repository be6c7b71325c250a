# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The escrow files of a rekey: promotion after the new key proved itself, and the restore of a rollback."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils import _escrow_files as ef

OLD = 'kcv1:1111111111111111'
NEW = 'kcv1:2222222222222222'


def write(path, data):
    with open(path, 'wb') as handle:
        handle.write(data)


def read(path):
    with open(path, 'rb') as handle:
        return handle.read()


@pytest.fixture
def escrow(tmp_path):
    current = str(tmp_path / 'c-cmk.vault')
    write(current, b'old escrow')
    write(ef.next_path(current), b'new escrow')
    return current


def test_promote_retires_the_old_key_and_puts_the_new_one_in_force(escrow):
    res = ef.promote(escrow, OLD, NEW, 'run-1')
    retired = ef.retired_path(escrow, OLD)
    assert res['changed'] and res['retired_path'] == retired and retired.endswith('c-cmk-retired-1111111111111111.vault')
    assert read(escrow) == b'new escrow' and read(retired) == b'old escrow'
    assert not os.path.exists(ef.next_path(escrow))
    assert oct(os.stat(retired).st_mode & 0o777) == '0o600'
    with open(retired + '.json') as handle:
        note = json.load(handle)
    assert note['kcv'] == OLD and note['run_id'] == 'run-1' and 'backup' in note['keep'] and note['retired_utc']
    # again: nothing to do
    assert ef.promote(escrow, OLD, NEW, 'run-1')['changed'] is False
    assert read(escrow) == b'new escrow'


def test_check_mode_moves_nothing(escrow):
    assert ef.promote(escrow, OLD, NEW, 'run-1', check_mode=True)['changed']
    assert read(escrow) == b'old escrow' and os.path.exists(ef.next_path(escrow))
    assert not os.path.exists(ef.retired_path(escrow, OLD))


def test_a_move_to_kms_only_retires(escrow):
    os.unlink(ef.next_path(escrow))
    ef.promote(escrow, OLD, None, 'run-1')
    assert not os.path.exists(escrow) and read(ef.retired_path(escrow, OLD)) == b'old escrow'


def test_a_missing_new_escrow_is_an_error_not_a_loss(escrow):
    os.unlink(ef.next_path(escrow))
    os.unlink(escrow)
    with pytest.raises(ef.EscrowFilesError) as err:
        ef.promote(escrow, None, NEW, 'run-1')
    assert 'only copy' in str(err.value)


def test_restore_puts_the_old_key_back_and_keeps_the_new_one(escrow):
    ef.promote(escrow, OLD, NEW, 'run-1')
    res = ef.restore(escrow, OLD, NEW, 'run-1')
    assert res['changed'] and read(escrow) == b'old escrow'
    assert read(ef.retired_path(escrow, NEW)) == b'new escrow'
    assert ef.restore(escrow, OLD, NEW, 'run-1')['changed'] is False


def test_restore_before_any_promotion_changes_nothing(escrow):
    assert ef.restore(escrow, OLD, NEW, 'run-1')['changed'] is False
    assert read(escrow) == b'old escrow'


def test_retired_names_need_a_check_value(escrow):
    with pytest.raises(ef.EscrowFilesError):
        ef.retired_path(escrow, 'kms:us-east-1/alias/a/ctx')


def test_restore_names_where_the_old_key_is_in_check_mode_too(escrow):
    assert ef.restore(escrow, OLD, NEW, 'run-1', check_mode=True)['old_path'] == escrow  # never promoted
    ef.promote(escrow, OLD, NEW, 'run-1')
    res = ef.restore(escrow, OLD, NEW, 'run-1', check_mode=True)
    assert res['old_path'] == ef.retired_path(escrow, OLD) and res['changed']
    assert read(escrow) == b'new escrow'  # check mode wrote nothing
