# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the CMK helpers: validation, KCV, key file reads and writes, lk_cmk backend."""

from __future__ import annotations

import base64
import os
import stat

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils import _files
from ansible_collections.lookerops.encryption.plugins.module_utils import _key_material as km

ZERO_KEY = 'A' * 43 + '='
SEQ_KEY = base64.b64encode(bytes(range(32))).decode()
FF_KEY = base64.b64encode(b'\xff' * 32).decode()
REMEDY = 'openssl rand -base64 32'


@pytest.mark.parametrize('text, raw, expected', [
    (ZERO_KEY, bytes(32), 'kcv1:313d00b65859203e'),
    # checked with: openssl dgst -sha256 -mac HMAC -macopt hexkey:000102...1f
    (SEQ_KEY, bytes(range(32)), 'kcv1:85eaa8f81d9c4bb6'),
    (FF_KEY, b'\xff' * 32, 'kcv1:dbebc2f5023f90f1'),
])
def test_kcv_vectors(text, raw, expected):
    assert km.validate_key_text(text) == raw
    assert km.kcv(raw) == expected
    assert km.kcv_of_text(text + '\n') == expected
    assert km.is_kcv(expected)


@pytest.mark.parametrize('text', [SEQ_KEY, SEQ_KEY + '\n', '  ' + SEQ_KEY + ' \n', '\t' + SEQ_KEY + '\r\n', (SEQ_KEY + '\n').encode()])
def test_accepts_surrounding_whitespace(text):
    assert km.validate_key_text(text) == bytes(range(32))


def _noncanonical():
    # The last base64 character of a 32-byte key carries 2 padding bits: 'A' -> 'B' sets one of them.
    return ZERO_KEY[:-2] + 'B='


@pytest.mark.parametrize('text, fragment', [
    ('', 'is empty'),
    ('   \n', 'is empty'),
    (SEQ_KEY[:20] + ' ' + SEQ_KEY[20:], 'inner whitespace'),
    (SEQ_KEY[:20] + '\n' + SEQ_KEY[20:], 'inner whitespace'),
    (base64.urlsafe_b64encode(b'\xfb' * 32).decode(), 'url-safe'),
    ('A' * 42 + '*=', 'not base64'),
    (SEQ_KEY.rstrip('='), 'not base64'),
    (SEQ_KEY + '==', 'not base64'),
    (base64.b64encode(b'x' * 16).decode(), 'decoded length 16 bytes, must be 32'),
    (base64.b64encode(b'x' * 33).decode(), 'decoded length 33 bytes, must be 32'),
    (base64.b64encode(b'x' * 64).decode(), 'decoded length 64 bytes, must be 32'),
    (_noncanonical(), 'not canonical'),
    ('\xe9' * 44, 'not base64'),
    (b'\xe9' * 44, 'non-ASCII'),
    (None, 'must be a string'),
])
def test_validation_failures_name_problem_and_remedy(text, fragment):
    with pytest.raises(km.KeyMaterialError) as excinfo:
        km.validate_key_text(text)
    message = str(excinfo.value)
    assert fragment in message
    assert REMEDY in message
    if isinstance(text, str) and len(text.strip()) > 8:
        assert text.strip() not in message
        assert text.strip()[:12] not in message


def test_generate_key_text_is_valid_and_random():
    keys = {km.generate_key_text() for dummy in range(20)}
    assert len(keys) == 20
    for key in keys:
        assert len(km.validate_key_text(key)) == 32


def test_write_key_file_modes_and_content(tmp_path, monkeypatch):
    seen = []
    real_fsync = os.fsync

    def spy_fsync(fd):
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode):
            seen.append(stat.S_IMODE(st.st_mode))
        return real_fsync(fd)

    monkeypatch.setattr(_files.os, 'fsync', spy_fsync)
    path = tmp_path / 'lookerops' / 'cmk.key'
    uid, gid = os.getuid(), os.getgid()
    km.write_key_file(str(path), SEQ_KEY, uid, gid)
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o400
    assert (st.st_uid, st.st_gid) == (uid, gid)
    assert path.read_text() == SEQ_KEY + '\n'
    # The temp file already had mode 0400 (at most 0600 narrowed) while the key bytes were in it.
    assert seen and all(mode == 0o400 for mode in seen)
    assert sorted(os.listdir(path.parent)) == ['cmk.key']


def test_write_key_file_refuses_missing_grandparent(tmp_path):
    with pytest.raises(km.KeyMaterialError, match='parent'):
        km.write_key_file(str(tmp_path / 'no' / 'such' / 'cmk.key'), SEQ_KEY, os.getuid(), os.getgid())


def test_read_key_file(tmp_path):
    path = tmp_path / 'cmk.key'
    assert km.read_key_file(str(path))['exists'] is False
    path.write_text('not*a*key\n')
    os.chmod(path, 0o644)
    info = km.read_key_file(str(path))
    assert info['exists'] and info['kcv'] is None and 'not base64' in info['invalid'] and info['mode'] == '0644'
    path.write_text(SEQ_KEY + '\n')
    info = km.read_key_file(str(path))
    assert info['kcv'] == 'kcv1:85eaa8f81d9c4bb6' and info['invalid'] is None
    link = tmp_path / 'link.key'
    link.symlink_to(path)
    with pytest.raises(km.KeyMaterialError, match='not a regular file'):
        km.read_key_file(str(link))


def test_user_ids_unknown_user():
    with pytest.raises(km.KeyMaterialError, match="Looker user 'no-such-user-xyz' does not exist"):
        km.user_ids('no-such-user-xyz')


def _owner():
    import pwd
    return pwd.getpwuid(os.getuid()).pw_name


def backend(path, **kwargs):
    kwargs.setdefault('owner', _owner())
    return km.CmkFileBackend(str(path), **kwargs)


def test_backend_write_then_idempotent(tmp_path):
    path = tmp_path / 'd' / 'cmk.key'
    result = backend(path, key=SEQ_KEY).run()
    assert result['changed'] is True and result['kcv'] == 'kcv1:85eaa8f81d9c4bb6' and result['mode'] == '0400'
    assert result['diff']['before']['exists'] is False and result['diff']['after']['kcv'] == result['kcv']
    again = backend(path, key=SEQ_KEY + '\n').run()
    assert again['changed'] is False
    assert SEQ_KEY not in repr(result) + repr(again)


def test_backend_keeps_the_key_out_of_its_fields_and_repr(tmp_path):
    given = backend(tmp_path / 'cmk.key', key='  ' + SEQ_KEY + '\n', check_mode=True)
    assert given.key_text == SEQ_KEY and given.key_kcv == 'kcv1:85eaa8f81d9c4bb6'
    assert SEQ_KEY not in repr(given) and getattr(given, 'key', None) is None


def test_backend_check_mode_reads_only(tmp_path):
    path = tmp_path / 'd' / 'cmk.key'
    result = backend(path, key=SEQ_KEY, check_mode=True).run()
    assert result['changed'] is True and result['kcv'] == 'kcv1:85eaa8f81d9c4bb6'
    assert not (tmp_path / 'd').exists()
    backend(path, key=SEQ_KEY).run()
    os.chmod(path, 0o600)
    assert backend(path, key=SEQ_KEY, check_mode=True).run()['changed'] is True
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    os.chmod(path, 0o400)
    assert backend(path, key=SEQ_KEY, check_mode=True).run()['changed'] is False


def test_backend_fixes_mode(tmp_path):
    path = tmp_path / 'd' / 'cmk.key'
    backend(path, key=SEQ_KEY).run()
    os.chmod(path, 0o644)
    result = backend(path, key=SEQ_KEY).run()
    assert result['changed'] is True and result['mode'] == '0400'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o400
    assert result['diff']['before']['mode'] == '0644'


def test_backend_fails_when_mode_cannot_be_fixed(tmp_path, monkeypatch):
    path = tmp_path / 'd' / 'cmk.key'
    backend(path, key=SEQ_KEY).run()
    os.chmod(path, 0o644)
    monkeypatch.setattr(km.os, 'chmod', lambda *a, **k: None)
    with pytest.raises(km.KeyMaterialError, match='Looker refuses a key file that is not 0400'):
        backend(path, key=SEQ_KEY).run()


@pytest.mark.parametrize('existing', [ZERO_KEY + '\n', 'garbage\n'])
def test_backend_refuses_different_key(tmp_path, existing):
    path = tmp_path / 'cmk.key'
    path.write_text(existing)
    os.chmod(path, 0o400)
    with pytest.raises(km.KeyMaterialError) as excinfo:
        backend(path, key=SEQ_KEY).run()
    message = str(excinfo.value)
    assert 'rekey' in message and 'instance is lost' in message and 'kcv1:85eaa8f81d9c4bb6' in message
    assert SEQ_KEY not in message and ZERO_KEY not in message
    assert path.read_text() == existing


def test_backend_replace_needs_the_old_key_named(tmp_path):
    path = tmp_path / 'cmk.key'
    backend(path, key=ZERO_KEY).run()
    for named in (None, 'kcv1:0000000000000000'):
        with pytest.raises(km.KeyMaterialError) as excinfo:
            backend(path, key=SEQ_KEY, on_different_key='replace', replace_kcv=named).run()
        assert 'replace_kcv=kcv1:313d00b65859203e' in str(excinfo.value)
        assert path.read_text() == ZERO_KEY + '\n'


def test_backend_replace_keeps_backup(tmp_path):
    path = tmp_path / 'cmk.key'
    backend(path, key=ZERO_KEY).run()
    check = backend(path, key=SEQ_KEY, on_different_key='replace', replace_kcv='kcv1:313d00b65859203e', check_mode=True).run()
    assert check['changed'] is True and path.read_text() == ZERO_KEY + '\n'
    assert not os.path.exists(check['backup_path'])
    result = backend(path, key=SEQ_KEY, on_different_key='replace', replace_kcv='kcv1:313d00b65859203e').run()
    assert result['changed'] is True and result['kcv'] == 'kcv1:85eaa8f81d9c4bb6'
    assert path.read_text() == SEQ_KEY + '\n'
    backup = result['backup_path']
    assert backup.endswith('.replaced-313d00b65859203e')
    with open(backup) as handle:
        assert handle.read() == ZERO_KEY + '\n'
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o400


def test_backend_validated(tmp_path):
    path = tmp_path / 'cmk.key'
    with pytest.raises(km.KeyMaterialError, match='No key file'):
        backend(path, state='validated', expected_kcv='kcv1:85eaa8f81d9c4bb6').run()
    backend(path, key=SEQ_KEY).run()
    assert backend(path, state='validated', expected_kcv='kcv1:85eaa8f81d9c4bb6').run()['changed'] is False
    with pytest.raises(km.KeyMaterialError, match='different CMK'):
        backend(path, state='validated', expected_kcv='kcv1:313d00b65859203e').run()
    os.chmod(path, 0o440)
    with pytest.raises(km.KeyMaterialError, match='0400'):
        backend(path, state='validated', expected_kcv='kcv1:85eaa8f81d9c4bb6').run()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o440


@pytest.mark.parametrize('kwargs, fragment', [
    (dict(), 'needs the key'),
    (dict(key=SEQ_KEY, expected_kcv='kcv1:313d00b65859203e'), 'corrupted or the wrong one'),
    (dict(key=SEQ_KEY, expected_kcv='abc'), "expected_kcv must look like"),
    (dict(state='validated'), 'needs expected_kcv'),
])
def test_backend_argument_errors(tmp_path, kwargs, fragment):
    with pytest.raises(km.KeyMaterialError, match=fragment):
        backend(tmp_path / 'cmk.key', **kwargs)
