# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption (controller side): which Ansible Vault secret seals the CMK escrow. Not a public API.

The escrow is sealed with the secret of one explicitly chosen vault id (``escrow_vault_id``, default
:data:`DEFAULT_ESCROW_VAULT_ID`) and labelled with it, so that ``--vault-id <id>@SOURCE`` alone opens it.
The escrow password can also come from a file named by :data:`ESCROW_VAULT_PASSWORD_ENV` (what the
AWX credential type "Looker CMK escrow vault password" injects): it is loaded under the escrow's vault id.
"""

from __future__ import annotations

from ansible.parsing.vault import VaultSecret

from ansible_collections.lookerops.encryption.plugins.module_utils._escrow_options import DEFAULT_ESCROW_VAULT_ID

ESCROW_VAULT_PASSWORD_ENV = 'LOOKEROPS_ESCROW_VAULT_PASSWORD_FILE'
_MAX_PASSWORD_BYTES = 65536


class EscrowVaultError(Exception):
    """The vault set-up cannot seal the escrow unambiguously; the message says what to do."""


def choose_escrow_secret(secret_ids, vault_id=None):
    """Index into ``secret_ids`` (the ids of the loaded vault secrets, in Ansible's order) of the secret that seals the escrow.

    The secret loaded under the escrow's vault id wins; a single loaded secret (whatever its id, such as ``default`` from
    ``--vault-password-file``) is unambiguous; several secrets and none under the escrow's id are refused.
    """
    vault_id = vault_id or DEFAULT_ESCROW_VAULT_ID
    ids = list(secret_ids)
    if not ids:
        raise EscrowVaultError(
            'No Ansible Vault secret is loaded, so the CMK escrow cannot be written or read. Run ansible-playbook with '
            '--vault-id %s@FILE (or --vault-password-file FILE, or --ask-vault-pass); in AWX attach the credential "Looker CMK escrow '
            'vault password" or a Vault credential with Vault Identifier %s. Nothing was written.' % (vault_id, vault_id))
    if vault_id in ids:
        return ids.index(vault_id)
    if len(ids) == 1:
        return 0
    raise EscrowVaultError(
        'Several Ansible Vault secrets are loaded (vault ids %s) and none has the escrow\'s vault id %r, so it is not clear which one '
        'seals the CMK escrow. Give the escrow password as --vault-id %s@FILE (in AWX: the credential "Looker CMK escrow vault '
        'password", or a Vault credential with Vault Identifier %s), or set lookerops_cmk_escrow_vault_id to the id of the secret '
        'that seals it. Nothing was written.' % (', '.join(repr(i) for i in ids), vault_id, vault_id, vault_id))


def password_file_secret(path, vault_id=None):
    """(vault id, VaultSecret) of the escrow password held in ``path`` (trailing newline stripped, as Ansible reads password files)."""
    vault_id = vault_id or DEFAULT_ESCROW_VAULT_ID
    try:
        with open(path, 'rb') as handle:
            data = handle.read(_MAX_PASSWORD_BYTES + 1)
    except OSError as exc:
        raise EscrowVaultError('Cannot read the escrow vault password file %s (%s): %s. Nothing was written.'
                               % (path, ESCROW_VAULT_PASSWORD_ENV, exc.strerror)) from None
    password = data.strip(b'\r\n')
    if not password or len(data) > _MAX_PASSWORD_BYTES:
        raise EscrowVaultError('The escrow vault password file %s (%s) is empty or not a password file; check the credential. '
                               'Nothing was written.' % (path, ESCROW_VAULT_PASSWORD_ENV))
    return vault_id, VaultSecret(password)


def escrow_secrets(loaded, vault_id=None, password_file=None):
    """The secrets that open and seal the escrow: the password file's (under the escrow's vault id) first, then those Ansible loaded."""
    secrets = list(loaded or [])
    if password_file:
        secrets.insert(0, password_file_secret(password_file, vault_id))
    return secrets
