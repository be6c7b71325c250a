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
      - V(aws_secretsmanager) keeps the key in the AWS Secrets Manager secret named by C(secret_id) in O(escrow_aws), created once
        (never overwritten) and read back before any node gets the key; for controllers whose home does not last (AWX jobs).
      - V(none) skips the escrow. It is refused unless O(key) is given (a generated key would exist only on the nodes) and
        O(escrow_waiver) is exactly C(I have escrowed the CMK myself).
      - M(lookerops.encryption.lk_node_env) uses the escrow options with C(mode=key_env) only.
    type: str
    choices: [vault, aws_secretsmanager, none]
    default: vault
  escrow_aws:
    description:
      - Controller side. Options of O(escrow=aws_secretsmanager), a dictionary with the keys C(secret_id) (name or ARN of
        the secret), C(cluster) (the cluster's identity, which names the secret C(lookerops/<cluster>/cmk) when C(secret_id) is empty,
        and tags a new secret C(lookerops:cluster)), C(node_kcvs) (key check values of the keys the cluster's nodes use),
        C(region), C(kms_key_id) (the KMS key that encrypts a new secret; default the account's C(aws/secretsmanager) key),
        C(endpoint_url), C(profile) and C(retries) (default 10). One of C(secret_id) and C(cluster) is required.
      - A new secret gets a resource policy that denies overwriting, rotating and deleting it. With C(cluster), an existing
        secret is used only when its C(lookerops:cluster) tag is that cluster or its key is among C(node_kcvs); otherwise the
        task fails before any node gets a key.
      - Credentials come from the standard boto3 chain (an AWX C(Amazon Web Services) credential, for example).
    type: dict
  controller_key_file:
    description:
      - Controller side. A file on the controller holding the CMK as base64 text, read instead of O(key) (give one of them).
        An AWX credential of type C(Looker CMK (lookerops.encryption)) writes the key to such a file in the job's private data
        directory and names it in E(LOOKEROPS_CMK_KEY_FILE) (see C(docs/awx.md)); the key never becomes an Ansible variable.
    type: path
  escrow_path:
    description:
      - Controller side. Path on the controller of the escrow file, from which the key is taken and against which a given O(key)
        is checked. Required with O(escrow=vault).
      - A lock file C(.<name>.lock) is kept next to it (empty; used to serialise parallel forks).
    type: path
  escrow_vault_id:
    description:
      - Controller side. The escrow's vault id (as given to C(--vault-id ID@SOURCE)). A new escrow is sealed with the secret loaded
        under this id and labelled with it; when exactly one vault secret is loaded (whatever its id, for example C(default) from
        C(--vault-password-file)), that one. Several secrets and none under this id is refused before anything is written, as is
        no secret at all. Decryption tries every loaded secret.
    type: str
    default: lookerops
  escrow_vault_password_file:
    description:
      - Controller side. A file holding the escrow's vault password, loaded under O(escrow_vault_id) in addition to the secrets
        Ansible loaded. Default the environment variable E(LOOKEROPS_ESCROW_VAULT_PASSWORD_FILE), which the AWX credential type
        C(Looker CMK escrow vault password (lookerops.encryption)) sets (see C(docs/awx.md)).
    type: path
  escrow_waiver:
    description:
      - Controller side. The opt-out from the escrow; O(escrow=none) is accepted only when this is exactly
        C(I have escrowed the CMK myself).
    type: str
'''
