# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the lookerstart.cfg managed block helpers."""

from __future__ import annotations

import base64
import hashlib
import os
import pwd
import stat
import subprocess

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils import _key_material as km
from ansible_collections.lookerops.encryption.plugins.module_utils import _node_env as ne

KEY = base64.b64encode(bytes(range(32))).decode()
KEY_KCV = 'kcv1:85eaa8f81d9c4bb6'
OWNER = pwd.getpwuid(os.getuid()).pw_name


@pytest.fixture
def home(tmp_path):
    path = tmp_path / 'looker'
    path.mkdir()
    return path


def make(home, mode, **kwargs):
    kwargs.setdefault('owner', OWNER)
    return ne.NodeEnvBackend(str(home), mode=mode, **kwargs)


def key_file(tmp_path, key=KEY):
    path = tmp_path / 'keys' / 'cmk.key'
    km.write_key_file(str(path), key, os.getuid(), os.getgid())
    return str(path)


def sourced(cfg, names):
    """Values as /bin/sh sees them after sourcing the file (how Looker's script reads it)."""
    script = '. "$1"; ' + '; '.join('printf "%%s\\0" "${%s-UNSET}"' % name for name in names)
    out = subprocess.run(['/bin/sh', '-c', script, 'sh', str(cfg)], check=True, capture_output=True, env={'PATH': '/usr/bin:/bin'}).stdout
    return out.decode().split('\0')[:-1]


@pytest.mark.parametrize('value', ['plain', "it's", "'", 'a b', '$HOME `id` "x" \\n', "a'b'c", ''])
def test_sh_quote_round_trip(value):
    out = subprocess.run(['/bin/sh', '-c', 'printf %s ' + ne.sh_quote(value)], check=True, capture_output=True).stdout.decode()
    assert out == value


@pytest.mark.parametrize('value', ['a\nb', 'a\x00b', 'a\rb'])
def test_sh_quote_refuses_multiline(value):
    with pytest.raises(ne.NodeEnvError):
        ne.sh_quote(value)


def test_key_file_block_exactly_as_design(tmp_path, home):
    path = key_file(tmp_path)
    result = make(home, 'key_file', key_file=path).run()
    cfg = home / 'lookerstart.cfg'
    assert cfg.read_text() == ('# BEGIN lookerops.encryption (managed; do not edit)\n'
                               "export LKR_MASTER_KEY_FILE='%s'\n"
                               '# END lookerops.encryption\n' % path)
    assert result['changed'] is True and result['kcv'] == KEY_KCV and result['mode'] == 'key_file'
    assert stat.S_IMODE(os.stat(cfg).st_mode) == 0o600
    assert sourced(cfg, ['LKR_MASTER_KEY_FILE']) == [path]
    assert make(home, 'key_file', key_file=path).run()['changed'] is False


def test_preserves_other_lines_and_replaces_block(tmp_path, home):
    cfg = home / 'lookerstart.cfg'
    original = 'LOOKERARGS="--clustered -H a"\n# comment\nJAVAARGS=-Xmx2g'  # no final newline
    cfg.write_text(original)
    os.chmod(cfg, 0o644)
    first = make(home, 'key_env', key=KEY).run()
    text = cfg.read_text()
    assert text.startswith(original + '\n')
    assert stat.S_IMODE(os.stat(cfg).st_mode) == 0o600
    assert sourced(cfg, ['LOOKERARGS', 'JAVAARGS', 'LKR_MASTER_KEY_ENV']) == ['--clustered -H a', '-Xmx2g', KEY]
    assert first['kcv'] == KEY_KCV and KEY not in repr(first)
    with pytest.raises(ne.NodeEnvError, match='never replaced'):
        make(home, 'aws_kms', aws_region='eu-west-1', aws_cmk='alias/looker').run()
    assert sourced(cfg, ['LKR_MASTER_KEY_ENV']) == [KEY]
    aws = make(home, 'aws_kms', aws_region='eu-west-1', aws_cmk='alias/looker', replace=KEY_KCV).run()
    text = cfg.read_text()
    assert KEY not in text and text.count(ne.BEGIN) == 1
    assert text.startswith(original + '\n')
    assert sourced(cfg, ['AWS_REGION', 'LKR_AWS_CMK', 'LKR_AWS_CMK_EC', 'LKR_MASTER_KEY_ENV']) == [
        'eu-west-1', 'alias/looker', 'Looker_Encryption_Context', 'UNSET']
    assert aws['changed'] is True and 'kcv' not in aws
    gone = make(home, 'absent').run()
    assert gone['changed'] is True and gone['settings_fingerprint'] is None
    assert cfg.read_text() == original + '\n'
    assert make(home, 'absent').run()['changed'] is False


def test_block_in_middle_is_replaced_in_place(home):
    cfg = home / 'lookerstart.cfg'
    make(home, 'aws_kms', aws_region='us-east-1', aws_cmk='alias/a').run()
    block = cfg.read_text()
    cfg.write_text('A=1\n' + block + 'B=2\n')
    make(home, 'aws_kms', aws_region='us-east-1', aws_cmk='alias/b', replace='kms:us-east-1/alias/a/Looker_Encryption_Context').run()
    lines = cfg.read_text().splitlines()
    assert lines[0] == 'A=1' and lines[-1] == 'B=2' and "LKR_AWS_CMK='alias/b'" in lines[2]


def test_fingerprint_hides_key_and_tracks_settings(home):
    r1 = make(home, 'key_env', key=KEY).run()
    redacted = "%s\nexport LKR_MASTER_KEY_ENV='%s'\n%s\n" % (ne.BEGIN, KEY_KCV, ne.END)
    expected = hashlib.sha256(redacted.encode()).hexdigest()
    assert r1['settings_fingerprint'] == expected
    other = base64.b64encode(bytes(32)).decode()
    r2 = make(home, 'key_env', key=other, replace=KEY_KCV).run()
    assert r2['settings_fingerprint'] != r1['settings_fingerprint']
    r3 = make(home, 'aws_kms', aws_region='us-east-1', aws_cmk='alias/x', aws_cmk_ec='ctx', replace=r2['key_identity']).run()
    r4 = make(home, 'aws_kms', aws_region='us-east-1', aws_cmk='alias/x', replace=r3['key_identity']).run()
    assert r3['settings_fingerprint'] != r4['settings_fingerprint']
    assert r2['diff']['before']['settings_fingerprint'] == r1['settings_fingerprint']
    assert KEY not in repr(r1) + repr(r2) and other not in repr(r2)


@pytest.mark.parametrize('line, var', [
    ("export LKR_MASTER_KEY_FILE=/tmp/k", 'LKR_MASTER_KEY_FILE'),
    ("LKR_MASTER_KEY_ENV='abc'", 'LKR_MASTER_KEY_ENV'),
    ("  export AWS_REGION=x LKR_AWS_CMK=alias/y", 'LKR_AWS_CMK'),
    ("export LKR_AWS_CMK_EC=ctx", 'LKR_AWS_CMK_EC'),
])
def test_conflicts_outside_block_fail_with_line_number(home, line, var):
    cfg = home / 'lookerstart.cfg'
    cfg.write_text('# header\nLOOKERARGS=""\n%s\n' % line)
    before = cfg.read_bytes()
    with pytest.raises(ne.NodeEnvError) as excinfo:
        make(home, 'aws_kms', aws_region='us-east-1', aws_cmk='alias/x').run()
    message = str(excinfo.value)
    assert 'line 3 sets %s' % var in message and 'Remove those lines' in message and 'conflicting settings' in message
    assert cfg.read_bytes() == before


@pytest.mark.parametrize('line', ['# export LKR_MASTER_KEY_FILE=/old', 'MY_LKR_AWS_CMK=1', 'echo $LKR_AWS_CMK'])
def test_no_false_conflicts(home, line):
    (home / 'lookerstart.cfg').write_text(line + '\n')
    assert make(home, 'aws_kms', aws_region='us-east-1', aws_cmk='alias/x').run()['changed'] is True


@pytest.mark.parametrize('content', [ne.BEGIN + '\nx=1\n', 'x=1\n' + ne.END + '\n', (ne.BEGIN + '\n' + ne.END + '\n') * 2, ne.END + '\n' + ne.BEGIN + '\n'])
def test_damaged_block_fails(home, content):
    (home / 'lookerstart.cfg').write_text(content)
    with pytest.raises(ne.NodeEnvError, match='damaged'):
        make(home, 'absent').run()


def test_check_mode_reads_only(tmp_path, home):
    cfg = home / 'lookerstart.cfg'
    dropin = tmp_path / 'looker.service.d' / 'lookerops-encryption.conf'
    result = make(home, 'key_env', key=KEY, systemd_dropin=str(dropin), check_mode=True).run()
    assert result['changed'] is True and result['dropin_changed'] is True
    assert not cfg.exists() and not dropin.parent.exists()
    assert result['diff']['after']['mode'] == '0600'
    make(home, 'key_env', key=KEY, systemd_dropin=str(dropin)).run()
    assert make(home, 'key_env', key=KEY, systemd_dropin=str(dropin), check_mode=True).run()['changed'] is False
    os.chmod(cfg, 0o640)
    assert make(home, 'key_env', key=KEY, check_mode=True).run()['changed'] is True
    assert stat.S_IMODE(os.stat(cfg).st_mode) == 0o640
    assert make(home, 'absent', systemd_dropin=str(dropin), check_mode=True).run()['changed'] is True
    assert dropin.exists() and ne.BEGIN in cfg.read_text()


def test_systemd_dropin(tmp_path, home):
    dropin = tmp_path / 'looker.service.d' / 'lookerops-encryption.conf'
    result = make(home, 'aws_kms', aws_region='us-east-1', aws_cmk='alias/x', aws_cmk_ec='50%', systemd_dropin=str(dropin)).run()
    assert result['daemon_reload_needed'] is True
    assert dropin.read_text().splitlines()[1:] == ['[Service]', 'Environment="AWS_REGION=us-east-1"', 'Environment="LKR_AWS_CMK=alias/x"',
                                                   'Environment="LKR_AWS_CMK_EC=50%%"']
    assert stat.S_IMODE(os.stat(dropin).st_mode) == 0o600
    again = make(home, 'aws_kms', aws_region='us-east-1', aws_cmk='alias/x', aws_cmk_ec='50%', systemd_dropin=str(dropin)).run()
    assert again['changed'] is False and again['daemon_reload_needed'] is False
    with pytest.raises(ne.NodeEnvError, match='systemd Environment'):
        make(home, 'aws_kms', aws_region='us-east-1', aws_cmk='alias/x', aws_cmk_ec='a"b', systemd_dropin=str(dropin),
             replace='kms:us-east-1/alias/x/50%').run()
    assert make(home, 'absent', systemd_dropin=str(dropin)).run()['dropin_changed'] is True
    assert not dropin.exists()


@pytest.mark.parametrize('kwargs, fragment', [
    (dict(mode='aws_kms', aws_region='us-east-1', aws_cmk='arn:aws:kms:us-east-1:1:key/abc'), "alias/<name>"),
    (dict(mode='aws_kms', aws_region='us-east-1', aws_cmk='alias/'), "alias/<name>"),
    (dict(mode='aws_kms', aws_cmk='alias/x'), 'needs aws_region'),
    (dict(mode='key_env'), 'needs the key'),
    (dict(mode='key_env', key='short'), 'openssl rand -base64 32'),
    (dict(mode='key_env', key=KEY, expected_kcv='kcv1:313d00b65859203e'), 'different CMK'),
    (dict(mode='key_file', key_file='relative/path'), 'absolute path'),
])
def test_argument_errors(home, kwargs, fragment):
    with pytest.raises((ne.NodeEnvError, km.KeyMaterialError)) as excinfo:
        ne.NodeEnvBackend(str(home), owner=OWNER, **kwargs).run()
    assert fragment in str(excinfo.value)
    assert KEY not in str(excinfo.value)


def test_key_file_mode_checks_the_file(tmp_path, home):
    missing = str(tmp_path / 'none' / 'cmk.key')
    with pytest.raises(ne.NodeEnvError, match='lk_cmk'):
        make(home, 'key_file', key_file=missing)
    path = key_file(tmp_path)
    os.chmod(path, 0o644)
    with pytest.raises(ne.NodeEnvError, match='0400'):
        make(home, 'key_file', key_file=path)
    os.chmod(path, 0o400)
    with pytest.raises(ne.NodeEnvError, match='different CMK'):
        make(home, 'key_file', key_file=path, expected_kcv='kcv1:313d00b65859203e')


def test_missing_home_fails(tmp_path):
    with pytest.raises(ne.NodeEnvError, match='Looker home'):
        ne.NodeEnvBackend(str(tmp_path / 'nope'), owner=OWNER, mode='absent')


def test_a_key_in_use_is_never_replaced_unless_named(tmp_path, home):
    cfg = home / 'lookerstart.cfg'
    make(home, 'key_env', key=KEY).run()
    other = base64.b64encode(bytes(32)).decode()
    other_kcv = km.kcv_of_text(other)
    for kwargs in (dict(mode='key_env', key=other), dict(mode='key_env', key=other, replace='kcv1:0000000000000000'),
                   dict(mode='aws_kms', aws_region='us-east-1', aws_cmk='alias/x'),
                   dict(mode='key_file', key_file=key_file(tmp_path, other))):
        mode = kwargs.pop('mode')
        with pytest.raises(ne.NodeEnvError) as excinfo:
            make(home, mode, **kwargs).run()
        message = str(excinfo.value)
        assert KEY_KCV in message and 'replace=' + KEY_KCV in message and KEY not in message and other not in message
        assert sourced(cfg, ['LKR_MASTER_KEY_ENV']) == [KEY]
    # The same key in another form (a key file holding it) is no replacement.
    same = make(home, 'key_file', key_file=key_file(tmp_path)).run()
    assert same['key_identity_before'] == KEY_KCV and same['key_identity'] == KEY_KCV
    replaced = make(home, 'key_env', key=other, replace=KEY_KCV).run()
    assert replaced['changed'] is True and replaced['key_identity'] == other_kcv
    # Removing the settings (rollback) is not a replacement.
    assert make(home, 'absent').run()['changed'] is True
