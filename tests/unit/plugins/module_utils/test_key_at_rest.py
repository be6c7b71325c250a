# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests: the key never rests on a node outside its key file and lookerstart.cfg.

Temp files of interrupted atomic writes (removed by the next run of their owner, never in a home backup),
the pre-restore copy of a home (loses its key settings), the systemd drop-in (never holds the key).
"""

from __future__ import annotations

import base64
import os
import pwd
import stat
import tarfile

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils._backup import home as backup_home
from ansible_collections.lookerops.encryption.plugins.module_utils import _files
from ansible_collections.lookerops.encryption.plugins.module_utils import _key_material as km
from ansible_collections.lookerops.encryption.plugins.module_utils import _node_env as ne

KEY = base64.b64encode(bytes(range(32))).decode()
OTHER_KEY = base64.b64encode(bytes(range(1, 33))).decode()
OWNER = pwd.getpwuid(os.getuid()).pw_name


def interrupted_write(dest, data):
    """What a killed process leaves: the AtomicFile temp file of ``dest`` with ``data``, never renamed."""
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    handle = _files.AtomicFile(dest, mode=0o600)
    handle.__enter__()
    handle.file.write(data)
    handle.file.flush()
    path = handle.tmp_path
    handle.file.close()  # the process died: its descriptor (and flock) are gone, the file stays
    return path


def write(path, data, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as handle:
        handle.write(data)
    os.chmod(path, mode)
    return path


# -- temp names and stale temp files ------------------------------------------------------------------


def test_temp_names_match_atomic_file(tmp_path):
    dest = str(tmp_path / 'lookerstart.cfg')
    path = interrupted_write(dest, b'x')
    name = os.path.basename(path)
    assert name.startswith('.lookerstart.cfg.') and name.endswith('.tmp')
    assert _files.is_atomic_temp_name(name) and _files.is_atomic_temp_name(name, dest)
    assert not _files.is_atomic_temp_name(name, str(tmp_path / 'cmk.key'))
    for other in ('lookerstart.cfg', '.lookerstart.cfg.tmp', '.lookerstart.cfg.bak', 'x.abcdefgh.tmp', '.a.ABCDEFGH.tmp'):
        assert not _files.is_atomic_temp_name(other), other


def test_remove_stale_temps(tmp_path):
    dest = str(tmp_path / 'cmk.key')
    stale = interrupted_write(dest, KEY.encode())
    other = interrupted_write(str(tmp_path / 'lookerstart.cfg'), b'not ours')
    unrelated = write(str(tmp_path / '.cmk.key.bak'), b'keep')
    assert _files.remove_stale_temps(dest, check_mode=True) == [stale]
    assert os.path.exists(stale)
    assert _files.remove_stale_temps(dest) == [stale]
    assert not os.path.exists(stale) and os.path.exists(other) and os.path.exists(unrelated)
    assert _files.remove_stale_temps(dest) == []
    assert _files.remove_stale_temps(str(tmp_path / 'missing' / 'cmk.key')) == []


def test_a_write_in_progress_is_never_taken(tmp_path):
    dest = str(tmp_path / 'cmk.key')
    with _files.AtomicFile(dest, mode=0o400) as handle:
        handle.file.write(KEY.encode())
        assert _files.remove_stale_temps(dest) == []
        assert os.path.exists(handle.tmp_path)
    with open(dest, 'rb') as src:
        assert src.read() == KEY.encode()


def test_stale_temp_symlink_is_not_followed(tmp_path):
    dest = str(tmp_path / 'cmk.key')
    target = write(str(tmp_path / 'elsewhere'), b'keep')
    os.symlink(target, str(tmp_path / '.cmk.key.abcd1234.tmp'))
    assert _files.remove_stale_temps(dest) == []
    assert os.path.exists(target)


def test_key_file_backend_removes_its_stale_temps(tmp_path):
    path = str(tmp_path / 'keys' / 'cmk.key')
    os.makedirs(os.path.dirname(path), mode=0o700)
    stale = interrupted_write(path, KEY.encode())
    backend = km.CmkFileBackend(path, OWNER, key=KEY, check_mode=True)
    assert backend.remove_stale_temps() == [stale] and os.path.exists(stale)
    backend = km.CmkFileBackend(path, OWNER, key=KEY)
    assert backend.remove_stale_temps() == [stale] and not os.path.exists(stale)
    assert backend.run()['changed'] is True
    assert km.CmkFileBackend(path, OWNER, expected_kcv=km.kcv_of_text(KEY), state='validated').remove_stale_temps() == []


def test_node_env_backend_removes_its_stale_temps(tmp_path):
    home = tmp_path / 'looker'
    home.mkdir()
    dropin = str(tmp_path / 'looker.service.d' / 'lookerops-encryption.conf')
    stale_cfg = interrupted_write(str(home / 'lookerstart.cfg'), ("export LKR_MASTER_KEY_ENV='%s'\n" % KEY).encode())
    stale_env = interrupted_write(ne.dropin_env_file(dropin), ('LKR_MASTER_KEY_ENV=%s\n' % KEY).encode())
    backend = ne.NodeEnvBackend(str(home), OWNER, 'key_env', key=KEY, systemd_dropin=dropin)
    assert sorted(backend.remove_stale_temps()) == sorted([stale_cfg, stale_env])
    assert not os.path.exists(stale_cfg) and not os.path.exists(stale_env)


# -- home backups leave temp files out -------------------------------------------------------------------


def test_home_backup_never_takes_a_temp_file(tmp_path):
    home = str(tmp_path / 'looker')
    write(os.path.join(home, 'lookerstart.cfg'), b'LOOKERARGS=""\n')
    write(os.path.join(home, 'models', 'view.lkml'), b'view: x {}')
    stale = interrupted_write(os.path.join(home, 'lookerstart.cfg'), ("export LKR_MASTER_KEY_ENV='%s'\n" % KEY).encode())
    nested = interrupted_write(os.path.join(home, 'keys', 'cmk.key'), KEY.encode())
    # Not the pattern: a Looker file that merely ends in .tmp is backed up as before.
    write(os.path.join(home, 'models', 'draft.tmp'), b'draft')
    res = backup_home.HomeBackup(home, str(tmp_path / 'dest'), 'r1', 'n1', [], [], 0).run()
    assert sorted(res['temp_files_left_out']) == sorted([stale, nested])
    with tarfile.open(res['path'], 'r:gz') as tar:
        names = tar.getnames()
        data = b''.join(tar.extractfile(m).read() for m in tar.getmembers() if m.isreg())
    assert 'looker/models/draft.tmp' in names and 'looker/lookerstart.cfg' in names
    assert not any(os.path.basename(n).endswith('.tmp') and n != 'looker/models/draft.tmp' for n in names), names
    assert KEY.encode() not in data
    estimate, entries, _bytes = backup_home.estimate_home(home, [], [])
    assert entries == len(names)


# -- the pre-restore copy loses its key settings ---------------------------------------------------------


def _backed_up_home(tmp_path, cfg):
    home = str(tmp_path / 'looker')
    write(os.path.join(home, 'lookerstart.cfg'), b'LOOKERARGS="--no-ssl"\n')
    write(os.path.join(home, 'looker.jar'), b'jar')
    res = backup_home.HomeBackup(home, str(tmp_path / 'dest'), 'r1', 'n', backup_home.DEFAULT_EXCLUDES, [], 0).run()
    write(os.path.join(home, 'lookerstart.cfg'), cfg.encode())
    return home, res['path']


def test_pre_restore_copy_loses_the_key_env_block(tmp_path):
    cfg = ('LOOKERARGS="--no-ssl"\n' + ne.BEGIN + '\n' + "export LKR_MASTER_KEY_ENV='%s'\n" % KEY + ne.END + '\n'
           + '# a comment about LKR_MASTER_KEY_ENV=stays\n' + "LKR_MASTER_KEY_ENV='%s'; export LKR_MASTER_KEY_ENV\n" % OTHER_KEY)
    home, archive = _backed_up_home(tmp_path, cfg)
    os.chmod(os.path.join(home, 'lookerstart.cfg'), 0o600)
    stale = interrupted_write(os.path.join(home, 'lookerstart.cfg'), cfg.encode())
    predicted = backup_home.HomeRestore(archive, home).run(check_mode=True)['aside_key_material_removed']
    out = backup_home.HomeRestore(archive, home).run()
    aside = out['moved_aside']
    assert out['aside_key_material_removed'] == predicted == [
        'lookerstart.cfg (managed key settings block, other LKR_MASTER_KEY_ENV lines)', os.path.basename(stale)]
    with open(os.path.join(aside, 'lookerstart.cfg'), encoding='utf-8') as handle:
        text = handle.read()
    assert KEY not in text and OTHER_KEY not in text and ne.BEGIN not in text
    assert text.startswith('LOOKERARGS="--no-ssl"\n# a comment about LKR_MASTER_KEY_ENV=stays\n')
    assert stat.S_IMODE(os.stat(os.path.join(aside, 'lookerstart.cfg')).st_mode) == 0o600
    for dirpath, _dirs, files in os.walk(aside):
        for name in files:
            with open(os.path.join(dirpath, name), 'rb') as handle:
                assert KEY.encode() not in handle.read(), name
    # The restored home is the backup, untouched; the excluded jar came back.
    with open(os.path.join(home, 'lookerstart.cfg'), 'rb') as handle:
        assert handle.read() == b'LOOKERARGS="--no-ssl"\n'
    assert os.path.exists(os.path.join(home, 'looker.jar'))


def test_pre_restore_copy_loses_a_key_file_inside_the_home(tmp_path):
    key_path = os.path.join(str(tmp_path / 'looker'), '.keys', 'cmk.key')
    cfg = ne.BEGIN + '\n' + "export LKR_MASTER_KEY_FILE='%s'\n" % key_path + ne.END + '\n'
    home, archive = _backed_up_home(tmp_path, cfg)
    write(key_path, (KEY + '\n').encode(), mode=0o400)
    stale = interrupted_write(key_path, KEY.encode())
    out = backup_home.HomeRestore(archive, home).run()
    aside = out['moved_aside']
    assert out['aside_key_material_removed'] == [
        'lookerstart.cfg (managed key settings block)', '.keys/cmk.key', '.keys/' + os.path.basename(stale)]
    assert os.listdir(os.path.join(aside, '.keys')) == []
    with open(os.path.join(aside, 'lookerstart.cfg'), encoding='utf-8') as handle:
        assert handle.read() == ''


def test_pre_restore_copy_without_key_settings_is_left_alone(tmp_path):
    home, archive = _backed_up_home(tmp_path, 'LOOKERARGS="--changed"\n')
    out = backup_home.HomeRestore(archive, home).run()
    assert out['aside_key_material_removed'] == []
    with open(os.path.join(out['moved_aside'], 'lookerstart.cfg'), encoding='utf-8') as handle:
        assert handle.read() == 'LOOKERARGS="--changed"\n'


# -- systemd drop-in: never the key --------------------------------------------------------------------


@pytest.mark.parametrize('mode, kwargs, lines', [
    ('key_file', {'key_file': '/home/looker/.lookerops/cmk.key'}, ['Environment="LKR_MASTER_KEY_FILE=/home/looker/.lookerops/cmk.key"']),
    ('key_env', {'key': KEY}, ['EnvironmentFile=/etc/systemd/system/looker.service.d/lookerops-encryption.env']),
    ('aws_kms', {'aws_region': 'eu-west-1', 'aws_cmk': 'alias/looker'},
     ['Environment="AWS_REGION=eu-west-1"', 'Environment="LKR_AWS_CMK=alias/looker"',
      'Environment="LKR_AWS_CMK_EC=Looker_Encryption_Context"']),
])
def test_render_dropin_never_holds_the_key(mode, kwargs, lines):
    dropin = '/etc/systemd/system/looker.service.d/lookerops-encryption.conf'
    text = ne.render_dropin(ne.settings_for(mode, **kwargs), ne.dropin_env_file(dropin))
    assert text.splitlines()[1:] == ['[Service]'] + lines
    assert KEY not in text and 'LKR_MASTER_KEY_ENV' not in text


def test_render_env_file_and_refusals():
    assert ne.render_env_file([('LKR_MASTER_KEY_ENV', KEY)]) == 'LKR_MASTER_KEY_ENV=%s\n' % KEY
    assert ne.dropin_env_file('/d/x.conf') == '/d/x.env' and ne.dropin_env_file('/d/x') == '/d/x.env'
    with pytest.raises(ne.NodeEnvError):
        ne.render_dropin([('LKR_MASTER_KEY_ENV', KEY)])  # a secret needs an environment file
    with pytest.raises(ne.NodeEnvError):
        ne.render_dropin([('LKR_MASTER_KEY_ENV', KEY)], '/with space/x.env')


def test_dropin_and_env_file_compare_before_write(tmp_path):
    home = tmp_path / 'looker'
    home.mkdir()
    dropin = tmp_path / 'looker.service.d' / 'lookerops-encryption.conf'
    env_file = tmp_path / 'looker.service.d' / 'lookerops-encryption.env'

    def run(mode, **kwargs):
        return ne.NodeEnvBackend(str(home), OWNER, mode, systemd_dropin=str(dropin), **kwargs).run()

    first = run('key_env', key=KEY)
    assert first['dropin_changed'] is True and first['daemon_reload_needed'] is True
    assert KEY not in dropin.read_text() and env_file.read_text() == 'LKR_MASTER_KEY_ENV=%s\n' % KEY
    assert stat.S_IMODE(os.stat(env_file).st_mode) == 0o600 and os.stat(env_file).st_uid == os.geteuid()
    # Same settings: nothing written, no reload.
    mtimes = (os.stat(dropin).st_mtime_ns, os.stat(env_file).st_mtime_ns)
    again = run('key_env', key=KEY)
    assert again['dropin_changed'] is False and again['daemon_reload_needed'] is False
    assert (os.stat(dropin).st_mtime_ns, os.stat(env_file).st_mtime_ns) == mtimes
    # A looser environment file is noticed and put back to 0600.
    os.chmod(env_file, 0o644)
    assert ne.NodeEnvBackend(str(home), OWNER, 'key_env', key=KEY, systemd_dropin=str(dropin), check_mode=True).run()['dropin_changed'] is True
    assert stat.S_IMODE(os.stat(env_file).st_mode) == 0o644
    assert run('key_env', key=KEY)['dropin_changed'] is True and stat.S_IMODE(os.stat(env_file).st_mode) == 0o600
    # A drop-in of an earlier version with the key in Environment= is replaced.
    dropin.write_text('[Service]\nEnvironment="LKR_MASTER_KEY_ENV=%s"\n' % KEY)
    assert run('key_env', key=KEY)['daemon_reload_needed'] is True and KEY not in dropin.read_text()
    # key_file needs no environment file: it goes.
    key_path = tmp_path / 'keys' / 'cmk.key'
    km.write_key_file(str(key_path), KEY, os.getuid(), os.getgid())
    res = run('key_file', key_file=str(key_path))
    assert res['daemon_reload_needed'] is True and not env_file.exists()
    assert dropin.read_text().splitlines()[-1] == 'Environment="LKR_MASTER_KEY_FILE=%s"' % key_path
