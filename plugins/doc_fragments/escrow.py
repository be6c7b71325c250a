# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CMK escrow options of the modules whose action plugin takes the key on the controller (plugins/plugin_utils/_cmk_source.py)."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    """Documentation of the escrow option group (lk_cmk, lk_node_env)."""

    DOCUMENTATION = r'''
options:
  escrow:
    description:
      - Controller side. V(vault) keeps an Ansible Vault encrypted copy of the key at O(escrow_path) and verifies it on every run.
      - V(none) skips the escrow. It is refused unless O(key) is given (a generated key would exist only on the nodes) and
        O(escrow_waiver) is exactly C(I have escrowed the CMK myself).
      - M(lookerops.encryption.lk_node_env) uses the escrow options with C(mode=key_env) only.
    type: str
    choices: [vault, none]
    default: vault
  escrow_path:
    description:
      - Controller side. Path on the controller of the escrow file, from which the key is taken and against which a given O(key)
        is checked. Required with O(escrow=vault).
      - A lock file C(.<name>.lock) is kept next to it (empty; used to serialise parallel forks).
    type: path
  escrow_vault_id:
    description:
      - Controller side. Vault id (as given to C(--vault-id ID@SOURCE)) whose secret encrypts a new escrow. Default the first
        loaded secret. Decryption tries every loaded secret.
      - Without any vault secret loaded (C(--vault-password-file), C(--vault-id), C(--ask-vault-pass)) the task fails before
        anything is written.
    type: str
  escrow_waiver:
    description:
      - Controller side. The opt-out from the escrow; O(escrow=none) is accepted only when this is exactly
        C(I have escrowed the CMK myself).
    type: str
'''
