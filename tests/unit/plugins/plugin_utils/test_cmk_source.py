# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the controller side of lk_cmk / lk_node_env: key source, escrow, fork lock."""

from __future__ import annotations

import base64
import multiprocessing
import os
import stat

import pytest

from ansible.parsing.vault import VaultLib, VaultSecret

from ansible_collections.lookerops.encryption.plugins.module_utils._key_material import kcv_of_text
from ansible_collections.lookerops.encryption.plugins.plugin_utils import _cmk_source as src

KEY = base64.b64encode(bytes(range(32))).decode()
KEY_KCV = 'kcv1:85eaa8f81d9c4bb6'
OTHER = base64.b64encode(bytes(32)).decode()
OTHER_KCV = 'kcv1:313d00b65859203e'
SECRETS = [('default', VaultSecret(b'unit-test-vault-password'))]


def escrow_plain(path, secrets=None):
    with open(path, 'rb') as handle:
        return VaultLib(secrets or SECRETS).decrypt(handle.read()).decode()


def test_generate_escrow_and_verify(tmp_path):
    escrow = tmp_path / 'escrow' / 'cmk.vault'
    first = src.resolve_cmk(escrow_path=str(escrow), secrets=SECRETS)
    assert first.generated and first.escrow_written and first.escrow_verified
    assert stat.S_IMODE(os.stat(escrow).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(escrow.parent).st_mode) == 0o700
    assert escrow.read_bytes().startswith(b'$ANSIBLE_VAULT;')
    assert escrow_plain(escrow) == first.key_text + '\n'
    second = src.resolve_cmk(escrow_path=str(escrow), secrets=SECRETS)
    assert (second.kcv, second.key_text, second.generated, second.escrow_written, second.escrow_verified) == (
        first.kcv, first.key_text, False, False, True)
    assert first.key_text not in repr(first.facts())
    assert first.key_text not in repr(first) and first.kcv in repr(first)


def test_provided_key_is_escrowed_and_must_match(tmp_path):
    escrow = tmp_path / 'cmk.vault'
    result = src.resolve_cmk(key=KEY + '\n', escrow_path=str(escrow), secrets=SECRETS)
    assert result.kcv == KEY_KCV and result.escrow_written and not result.generated
    with pytest.raises(src.CmkSourceError) as excinfo:
        src.resolve_cmk(key=OTHER, escrow_path=str(escrow), secrets=SECRETS)
    message = str(excinfo.value)
    assert KEY_KCV in message and OTHER_KCV in message and 'never overwritten' in message
    assert KEY not in message and OTHER not in message
    assert escrow_plain(escrow) == KEY + '\n'


def test_no_vault_secret_fails_before_writing(tmp_path):
    escrow = tmp_path / 'e' / 'cmk.vault'
    with pytest.raises(src.CmkSourceError) as excinfo:
        src.resolve_cmk(escrow_path=str(escrow), secrets=[])
    assert '--vault-password-file' in str(excinfo.value) and '--vault-id' in str(excinfo.value)
    assert not escrow.parent.exists()


def test_wrong_vault_password_and_vault_id(tmp_path):
    escrow = tmp_path / 'cmk.vault'
    src.resolve_cmk(key=KEY, escrow_path=str(escrow), secrets=SECRETS)
    with pytest.raises(src.CmkSourceError, match='Cannot decrypt'):
        src.resolve_cmk(escrow_path=str(escrow), secrets=[('default', VaultSecret(b'wrong'))])
    # Several secrets and none under the escrow's vault id: refused, naming the remedy, before anything is written.
    other = tmp_path / 'other.vault'
    with pytest.raises(src.CmkSourceError, match="none has the escrow's vault id 'prod'.*--vault-id prod@FILE"):
        src.resolve_cmk(key=KEY, escrow_path=str(other), secrets=SECRETS + [('dev', VaultSecret(b'x'))], escrow_vault_id='prod')
    assert not other.exists()


def test_escrow_vault_id_labels_the_escrow(tmp_path):
    escrow = tmp_path / 'cmk.vault'
    secrets = [('default', VaultSecret(b'one')), ('looker', VaultSecret(b'two'))]
    src.resolve_cmk(key=KEY, escrow_path=str(escrow), secrets=secrets, escrow_vault_id='looker')
    assert escrow.read_bytes().startswith(b'$ANSIBLE_VAULT;1.2;AES256;looker')
    assert escrow_plain(escrow, [('looker', VaultSecret(b'two'))]) == KEY + '\n'


def test_not_a_vault_file_is_never_overwritten(tmp_path):
    escrow = tmp_path / 'cmk.vault'
    escrow.write_text(KEY + '\n')
    with pytest.raises(src.CmkSourceError, match='not an Ansible Vault file'):
        src.resolve_cmk(escrow_path=str(escrow), secrets=SECRETS)
    assert escrow.read_text() == KEY + '\n'


@pytest.mark.parametrize('kwargs, fragment', [
    (dict(escrow='none'), "escrow_waiver: 'I have escrowed the CMK myself'"),
    (dict(escrow='none', key=KEY, escrow_waiver='i have escrowed the cmk myself'), 'exactly'),
    (dict(escrow='none', escrow_waiver='I have escrowed the CMK myself'), 'exist only on the nodes'),
    (dict(), 'needs escrow_path'),
    (dict(escrow_path='ESCROW', generate=False), 'does not exist'),
    (dict(key='AAAA', escrow_path='ESCROW'), 'decoded length 3 bytes'),
])
def test_source_errors(tmp_path, kwargs, fragment):
    if kwargs.get('escrow_path') == 'ESCROW':
        kwargs['escrow_path'] = str(tmp_path / 'escrow' / 'cmk.vault')
    with pytest.raises(src.CmkSourceError) as excinfo:
        src.resolve_cmk(secrets=SECRETS, **kwargs)
    assert fragment in str(excinfo.value)
    assert os.listdir(tmp_path) == []


def test_escrow_none_with_waiver(tmp_path):
    result = src.resolve_cmk(key=KEY, escrow='none', escrow_waiver=src.ESCROW_WAIVER_TEXT, secrets=[])
    assert result.kcv == KEY_KCV and result.escrow_path is None and result.escrow_verified is False


def test_check_mode_writes_nothing(tmp_path):
    escrow = tmp_path / 'e' / 'cmk.vault'
    result = src.resolve_cmk(escrow_path=str(escrow), secrets=SECRETS, check_mode=True)
    assert result.generated and result.escrow_written and not escrow.parent.exists()
    src.resolve_cmk(key=KEY, escrow_path=str(escrow), secrets=SECRETS)
    listing = sorted(os.listdir(escrow.parent))
    result = src.resolve_cmk(escrow_path=str(escrow), secrets=SECRETS, check_mode=True)
    assert result.kcv == KEY_KCV and not result.escrow_written and result.escrow_verified
    assert sorted(os.listdir(escrow.parent)) == listing


def _race(escrow, barrier, queue):
    try:
        barrier.wait(30)
        result = src.resolve_cmk(escrow_path=escrow, secrets=SECRETS)
        queue.put((result.kcv, result.generated, result.escrow_written))
    except Exception as exc:  # pylint: disable=broad-except
        queue.put(('error', repr(exc), None))


@pytest.mark.parametrize('workers', [8])
def test_parallel_forks_share_one_generated_key(tmp_path, workers):
    """Like ansible forks: many processes start at once; exactly one generates, all end up with the same key."""
    ctx = multiprocessing.get_context('fork')
    escrow = str(tmp_path / 'escrow' / 'cmk.vault')
    barrier = ctx.Barrier(workers)
    queue = ctx.Queue()
    procs = [ctx.Process(target=_race, args=(escrow, barrier, queue)) for dummy in range(workers)]
    for proc in procs:
        proc.start()
    try:
        results = [queue.get(timeout=60) for dummy in range(workers)]
    finally:
        for proc in procs:
            proc.join(60)
            if proc.is_alive():
                proc.kill()
    assert all(r[0] != 'error' for r in results), results
    assert len({r[0] for r in results}) == 1
    assert sum(1 for r in results if r[1]) == 1
    assert sum(1 for r in results if r[2]) == 1
    assert kcv_of_text(escrow_plain(escrow)) == results[0][0]


class _Loader:
    """The part of Ansible's DataLoader that loaded_vault_secrets reads."""

    class _vault:  # pylint: disable=invalid-name
        secrets = SECRETS


def _task_params(**overrides):
    params = {'escrow': 'vault', 'escrow_path': None, 'escrow_vault_id': 'lookerops', 'escrow_waiver': None, 'escrow_aws': None,
              'escrow_vault_password_file': None}
    params.update(overrides)
    return params


def test_resolve_task_cmk_uses_the_task_options_and_the_loaded_vault_secrets(tmp_path):
    escrow = tmp_path / 'cmk.vault'
    source, error = src.resolve_task_cmk(_task_params(escrow_path=str(escrow)), _Loader(), KEY, False, False)
    assert error is None and source.kcv == KEY_KCV and source.escrow_written
    assert escrow_plain(escrow) == KEY + '\n'
    source, error = src.resolve_task_cmk(_task_params(escrow_path=str(escrow)), _Loader(), OTHER, False, False)
    assert source is None and KEY_KCV in error and OTHER_KCV in error


def test_resolve_task_cmk_turns_errors_into_messages(tmp_path):
    source, error = src.resolve_task_cmk(_task_params(escrow='none'), _Loader(), KEY, False, False)
    assert source is None and 'escrow_waiver' in error
    blocker = tmp_path / 'a-file'
    blocker.write_text('x')
    path = str(blocker / 'cmk.vault')
    source, error = src.resolve_task_cmk(_task_params(escrow_path=path), _Loader(), KEY, False, False)
    assert source is None and error.startswith('Cannot use the CMK escrow ')
