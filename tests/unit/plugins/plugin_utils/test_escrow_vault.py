# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the choice of the vault secret that seals the CMK escrow (_escrow_vault) and its use by _cmk_source."""

from __future__ import annotations

import base64

import pytest

from ansible.parsing.vault import VaultLib, VaultSecret

from ansible_collections.lookerops.encryption.plugins.plugin_utils import _cmk_source as src
from ansible_collections.lookerops.encryption.plugins.plugin_utils import _escrow_vault as ev

KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.mark.parametrize('ids, vault_id, chosen', [
    (['lookerops'], None, 0),                    # the default id, loaded
    (['default', 'lookerops'], None, 1),          # AWX's Vault credential beside the escrow credential: the escrow's id wins
    (['default'], None, 0),                      # --vault-password-file alone: unambiguous
    (['prod'], 'lookerops', 0),                  # one secret under another id: unambiguous
    (['a', 'prod', 'b'], 'prod', 1),              # a chosen id among several
])
def test_choose_escrow_secret(ids, vault_id, chosen):
    assert ev.choose_escrow_secret(ids, vault_id) == chosen


def test_choose_refuses_no_secret_with_the_remedy():
    with pytest.raises(ev.EscrowVaultError, match='No Ansible Vault secret is loaded.*--vault-id lookerops@FILE'):
        ev.choose_escrow_secret([], None)


def test_choose_refuses_an_ambiguous_set_up_with_the_remedy():
    with pytest.raises(ev.EscrowVaultError) as excinfo:
        ev.choose_escrow_secret(['default', 'dev'], 'lookerops')
    message = str(excinfo.value)
    assert "'default', 'dev'" in message and '--vault-id lookerops@FILE' in message
    assert 'lookerops_cmk_escrow_vault_id' in message and 'Vault Identifier lookerops' in message


def test_password_file_secret(tmp_path):
    path = tmp_path / 'pw'
    path.write_bytes(b'escrow-pass\n')
    vault_id, secret = ev.password_file_secret(str(path), None)
    assert vault_id == ev.DEFAULT_ESCROW_VAULT_ID and secret.bytes == b'escrow-pass'
    assert ev.password_file_secret(str(path), 'prod')[0] == 'prod'


@pytest.mark.parametrize('content', [None, b'', b'\n', b'x' * 70000])
def test_password_file_refused(tmp_path, content):
    path = tmp_path / 'pw'
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ev.EscrowVaultError, match=ev.ESCROW_VAULT_PASSWORD_ENV):
        ev.password_file_secret(str(path), None)


def test_escrow_secrets_puts_the_password_file_first(tmp_path):
    path = tmp_path / 'pw'
    path.write_bytes(b'escrow-pass')
    loaded = [('default', VaultSecret(b'other'))]
    assert [i for i, dummy in ev.escrow_secrets(loaded, None, str(path))] == ['lookerops', 'default']
    assert ev.escrow_secrets(loaded, None, None) == loaded


def test_escrow_is_sealed_and_labelled_with_the_escrow_vault_id(tmp_path):
    """AWX's Vault credential (id default) beside the escrow password file: the escrow uses the file's secret, labelled lookerops."""
    path = tmp_path / 'pw'
    path.write_bytes(b'escrow-pass\n')
    escrow = tmp_path / 'cmk.vault'
    secrets = ev.escrow_secrets([('default', VaultSecret(b'playbook-vars-pass'))], 'lookerops', str(path))
    src.resolve_cmk(key=KEY, escrow_path=str(escrow), secrets=secrets, escrow_vault_id='lookerops')
    data = escrow.read_bytes()
    assert data.startswith(b'$ANSIBLE_VAULT;1.2;AES256;lookerops\n')
    # The escrow password alone opens it.
    assert VaultLib([('lookerops', VaultSecret(b'escrow-pass'))]).decrypt(data) == (KEY + '\n').encode()


def test_single_default_secret_labels_with_the_escrow_vault_id(tmp_path):
    escrow = tmp_path / 'cmk.vault'
    src.resolve_cmk(key=KEY, escrow_path=str(escrow), secrets=[('default', VaultSecret(b'p'))])
    assert escrow.read_bytes().startswith(b'$ANSIBLE_VAULT;1.2;AES256;lookerops\n')


def test_task_params_take_the_password_file_from_the_environment(monkeypatch, tmp_path):
    path = tmp_path / 'pw'
    path.write_bytes(b'escrow-pass')
    monkeypatch.setenv(ev.ESCROW_VAULT_PASSWORD_ENV, str(path))
    dummy, params, error = src.split_task_args({'escrow_path': str(tmp_path / 'e.vault')}, src.SOURCE_ARGSPEC)
    assert error is None and params['escrow_vault_password_file'] == str(path) and params['escrow_vault_id'] == 'lookerops'

    class _Loader:
        class _vault:  # pylint: disable=invalid-name
            secrets = [('default', VaultSecret(b'a')), ('dev', VaultSecret(b'b'))]

    # Ambiguous without the file ...
    monkeypatch.delenv(ev.ESCROW_VAULT_PASSWORD_ENV)
    dummy, bare, error = src.split_task_args({'escrow_path': str(tmp_path / 'e.vault')}, src.SOURCE_ARGSPEC)
    source, error = src.resolve_task_cmk(bare, _Loader(), KEY, False, False)
    assert source is None and "none has the escrow's vault id 'lookerops'" in error
    # ... unambiguous with it.
    source, error = src.resolve_task_cmk(params, _Loader(), KEY, False, False)
    assert error is None and source.escrow_written
