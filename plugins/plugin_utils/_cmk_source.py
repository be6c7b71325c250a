# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption (controller side): where the CMK comes from. Not a public API.

Decides the key (operator-provided, escrow, or generated), keeps the Ansible Vault escrow and
verifies it, serialising parallel forks with an fcntl lock next to the escrow. No message or
return value ever holds key text.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import typing as t

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import env_fallback
from ansible.parsing.vault import AnsibleVaultError, VaultLib, is_encrypted

from ansible_collections.lookerops.encryption.plugins.module_utils._escrow_options import escrow_argument_spec
from ansible_collections.lookerops.encryption.plugins.module_utils._files import atomic_write
from ansible_collections.lookerops.encryption.plugins.module_utils._key_material import (
    KeyMaterialError,
    generate_key_text,
    kcv,
    key_text_from_raw,
    validate_key_text,
)
from ansible_collections.lookerops.encryption.plugins.plugin_utils._escrow_aws import ESCROW_AWS_OPTIONS, EscrowError, SecretsManagerEscrow
from ansible_collections.lookerops.encryption.plugins.plugin_utils._escrow_vault import (
    DEFAULT_ESCROW_VAULT_ID,
    ESCROW_VAULT_PASSWORD_ENV,
    EscrowVaultError,
    choose_escrow_secret,
    escrow_secrets,
)

ESCROW_WAIVER_TEXT = 'I have escrowed the CMK myself'
ESCROW_FILE_MODE = 0o600
ESCROW_DIR_MODE = 0o700

# Option spec of the controller-side arguments, shared by the lk_cmk, lk_node_env and lk_rekey action plugins: the escrow
# option group the modules list, with the controller's checks of escrow_aws and the vault password file's fallback.
SOURCE_ARGSPEC = dict(
    escrow_argument_spec(),
    key=dict(type='str', no_log=True),
    escrow_aws=dict(type='dict', options=ESCROW_AWS_OPTIONS),
    escrow_vault_password_file=dict(type='path', no_log=False, fallback=(env_fallback, [ESCROW_VAULT_PASSWORD_ENV])),
)


class CmkSourceError(Exception):
    """The key cannot be decided or escrowed; the message says what to do and never holds key text."""


@dataclasses.dataclass(eq=False)
class CmkSource:
    """The controller's answer to "which CMK": key text, its kcv, and what happened to the escrow (the repr leaves the
    key text out)."""

    key_text: str = dataclasses.field(repr=False)
    kcv: str
    generated: bool
    escrow_path: t.Optional[str]
    escrow_written: bool
    escrow_verified: bool

    def facts(self):
        """Result keys safe to show."""
        return {
            'kcv': self.kcv,
            'generated': self.generated,
            'escrow_path': self.escrow_path,
            'escrow_written': self.escrow_written,
            'escrow_verified': self.escrow_verified,
        }


def _secret_ids(secrets):
    return [vault_id for vault_id, dummy in secrets]


def pick_encrypt_secret(secrets, vault_id=None):
    """(vault_id, secret) used to encrypt a new escrow (the decision: _escrow_vault.choose_escrow_secret)."""
    try:
        return secrets[choose_escrow_secret(_secret_ids(secrets), vault_id)]
    except EscrowVaultError as exc:
        raise CmkSourceError(str(exc)) from None


def read_escrow(path, secrets):
    """Decrypt and validate the escrow; returns key text (stripped)."""
    try:
        with open(path, 'rb') as handle:
            data = handle.read()
    except OSError as exc:
        raise CmkSourceError('Cannot read the CMK escrow %s: %s.' % (path, exc.strerror)) from None
    if not is_encrypted(data):
        raise CmkSourceError('The CMK escrow %s is not an Ansible Vault file. It is never overwritten: inspect it, and move it away only if '
                             'you are sure no instance uses the key it held.' % path)
    try:
        plaintext = VaultLib(secrets).decrypt(data)
    except AnsibleVaultError:
        raise CmkSourceError('Cannot decrypt the CMK escrow %s with the loaded vault secrets (ids %s). Pass the vault password it was written with '
                             '(--vault-id ID@SOURCE or --vault-password-file FILE).' % (path, _secret_ids(secrets))) from None
    try:
        raw = validate_key_text(bytes(plaintext))
    except KeyMaterialError as exc:
        raise CmkSourceError('The CMK escrow %s decrypts but does not hold a valid key: %s' % (path, exc)) from None
    return raw


def write_escrow(path, key_text, secrets, vault_id=None):
    """Encrypt key text + newline with Ansible Vault and write it 0600, atomically, parent directory 0700."""
    dummy, secret = pick_encrypt_secret(secrets, vault_id)
    # Labelled with the escrow's vault id, whichever id the secret was loaded under: --vault-id <id>@SOURCE opens it.
    vaulttext = VaultLib(secrets).encrypt((key_text + '\n').encode('ascii'), secret=secret, vault_id=vault_id or DEFAULT_ESCROW_VAULT_ID)
    atomic_write(path, bytes(vaulttext), mode=ESCROW_FILE_MODE)


def _ensure_escrow_dir(path):
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        # exist_ok: parallel forks may race to create it.
        os.makedirs(directory, ESCROW_DIR_MODE, exist_ok=True)
        os.chmod(directory, ESCROW_DIR_MODE)
    return directory


class _EscrowLock:
    """Exclusive fcntl lock on ``.<escrow name>.lock`` next to the escrow (left in place: deleting it would race)."""

    def __init__(self, escrow_path):
        directory = _ensure_escrow_dir(escrow_path)
        self.path = os.path.join(directory, '.%s.lock' % os.path.basename(escrow_path))
        self.fd = None

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, 'O_CLOEXEC', 0), ESCROW_FILE_MODE)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc_info):
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
        return False


def read_key_file(path):
    """Key text from a controller file (an AWX credential's injected file, named by LOOKEROPS_CMK_KEY_FILE)."""
    try:
        with open(os.path.expanduser(path), 'rb') as handle:
            return handle.read(4096).decode('ascii', 'replace')
    except OSError as exc:
        raise CmkSourceError('Cannot read the CMK from controller_key_file %s (lookerops_cmk_key_file, or LOOKEROPS_CMK_KEY_FILE '
                             'set by the AWX credential): %s. Nothing was changed.' % (path, exc.strerror)) from None


def resolve_cmk(key=None, escrow='vault', escrow_path=None, escrow_vault_id=None, escrow_waiver=None, secrets=None,
                generate=True, check_mode=False, key_file=None, escrow_aws=None):
    """Decide the CMK and ensure its escrow. Returns a CmkSource.

    ``secrets`` is the list of (vault_id, VaultSecret) Ansible loaded. In check mode nothing is written
    (a key that would be generated is a throw-away stand-in). ``key_file`` is a controller file holding
    the key (an alternative to ``key``); ``escrow_aws`` the options of escrow=aws_secretsmanager.
    """
    secrets = list(secrets or [])
    if key_file:
        if key is not None:
            raise CmkSourceError('The CMK is given twice, in `key` (lookerops_cmk_key) and in controller_key_file %s (lookerops_cmk_key_file or '
                                 'the AWX credential); give only one.' % key_file)
        key = read_key_file(key_file)
    provided_raw = None
    if key is not None:
        try:
            provided_raw = validate_key_text(key)
        except KeyMaterialError as exc:
            raise CmkSourceError('The key given in `key` is invalid: %s' % exc) from None

    if escrow == 'none':
        if escrow_waiver != ESCROW_WAIVER_TEXT:
            raise CmkSourceError("escrow=none skips the controller escrow of the CMK; if the key is lost the instance is lost. It is accepted only "
                                 "with escrow_waiver: '%s' (exactly). Otherwise use escrow=vault with escrow_path." % ESCROW_WAIVER_TEXT)
        if provided_raw is None:
            raise CmkSourceError('escrow=none needs the key in `key`: a generated or node-only key would exist only on the nodes and be lost with them.')
        return CmkSource(key.strip(), kcv(provided_raw), False, None, False, False)

    if escrow == 'aws_secretsmanager':
        try:
            store = SecretsManagerEscrow(escrow_aws)
            return _decide(provided_raw, store.read(), store.location, None, secrets, generate, check_mode, store=store)
        except EscrowError as exc:
            raise CmkSourceError(str(exc)) from None
    if escrow != 'vault':
        raise CmkSourceError("escrow must be 'vault', 'aws_secretsmanager' or 'none', got %r." % escrow)
    if not escrow_path:
        raise CmkSourceError('escrow=vault needs escrow_path: the controller path of the Ansible Vault encrypted copy of the CMK.')
    escrow_path = os.path.abspath(os.path.expanduser(escrow_path))
    # Fail before anything is written when there is no secret to encrypt or decrypt with.
    pick_encrypt_secret(secrets, escrow_vault_id)

    if os.path.lexists(escrow_path) or check_mode or (provided_raw is None and not generate):
        # Nothing to write (or check mode: reads only): no lock file, no directory. An existing escrow
        # is complete (it is only ever renamed into place), so reading it needs no lock.
        escrow_raw = read_escrow(escrow_path, secrets) if os.path.lexists(escrow_path) else None
        return _decide(provided_raw, escrow_raw, escrow_path, escrow_vault_id, secrets, generate, check_mode)
    # The escrow may have to be written: one fork at a time; the others then find and read it.
    with _EscrowLock(escrow_path):
        escrow_raw = read_escrow(escrow_path, secrets) if os.path.lexists(escrow_path) else None
        return _decide(provided_raw, escrow_raw, escrow_path, escrow_vault_id, secrets, generate, check_mode)


def _decide(provided_raw, escrow_raw, escrow_path, escrow_vault_id, secrets, generate, check_mode, store=None):
    generated = False
    if provided_raw is not None:
        if escrow_raw is not None and provided_raw != escrow_raw:
            raise CmkSourceError(
                'The key given in `key` has %s but the escrow %s holds a different key, %s. The escrow is never overwritten. '
                'If the instance was migrated with the escrowed key, use that key (omit `key`); if the given key is the right one, '
                'find out why the escrow differs before moving it away (and use Looker\'s rekey task to change a migrated instance\'s key).'
                % (kcv(provided_raw), escrow_path, kcv(escrow_raw)))
        raw = provided_raw
    elif escrow_raw is not None:
        raw = escrow_raw
    elif generate:
        raw = validate_key_text(generate_key_text())
        generated = True
    else:
        raise CmkSourceError('No CMK: no `key` was given and the escrow %s does not exist. Run lookerops.encryption.lk_cmk first (it generates and '
                             'escrows the key), or give the key in `key`.' % escrow_path)

    key_text = key_text_from_raw(raw)
    key_kcv = kcv(raw)
    if check_mode:
        return CmkSource(key_text, key_kcv, generated, escrow_path, escrow_raw is None, escrow_raw is not None)
    written = False
    if escrow_raw is None:
        if store is not None:
            store.write(key_text)
        else:
            write_escrow(escrow_path, key_text, secrets, escrow_vault_id)
        written = True
    check_raw = store.read() if store is not None else read_escrow(escrow_path, secrets)
    if kcv(check_raw) != key_kcv:
        raise CmkSourceError('The CMK escrow %s read back holds %s, expected %s; nothing was sent to any node. Inspect the escrow.'
                             % (escrow_path, kcv(check_raw), key_kcv))
    return CmkSource(key_text, key_kcv, generated, escrow_path, written, True)


def loaded_vault_secrets(loader):
    """The vault secrets Ansible loaded (--vault-id / --vault-password-file / --ask-vault-pass), as (vault_id, secret) pairs."""
    vault = getattr(loader, '_vault', None)
    secrets = getattr(vault, 'secrets', None) if vault is not None else None
    if not secrets:
        try:
            from ansible.parsing.vault import VaultSecretsContext  # pylint: disable=import-outside-toplevel
            context = VaultSecretsContext.current(optional=True)
            secrets = context.secrets if context else None
        except ImportError:
            secrets = None
    return list(secrets or [])


def split_task_args(task_args, argspec):
    """Split a task's arguments into the module's and the controller's (validated against argspec).

    Returns (module_args, controller_params, error message or None).
    """
    module_args = dict(task_args)
    own = {name: module_args.pop(name) for name in list(argspec) if name in module_args}
    validation = ArgumentSpecValidator(argspec).validate(own)
    if validation.error_messages:
        return module_args, None, 'Invalid arguments: %s' % '; '.join(validation.error_messages)
    return module_args, validation.validated_parameters, None


def resolve_task_cmk(params, loader, key, generate, check_mode, key_file=None):
    """resolve_cmk with an action plugin's escrow options (``params``, from split_task_args) and Ansible's vault secrets.

    Returns (CmkSource, None), or (None, message for the operator) when the key or its escrow cannot be used.
    """
    try:
        return resolve_cmk(
            key=key,
            escrow=params['escrow'],
            escrow_path=params['escrow_path'],
            escrow_vault_id=params['escrow_vault_id'],
            escrow_waiver=params['escrow_waiver'],
            key_file=key_file,
            escrow_aws=params['escrow_aws'],
            secrets=escrow_secrets(loaded_vault_secrets(loader), params['escrow_vault_id'],
                                   params.get('escrow_vault_password_file') if params['escrow'] == 'vault' else None),
            generate=generate,
            check_mode=check_mode,
        ), None
    except (CmkSourceError, KeyMaterialError, EscrowVaultError) as exc:
        return None, str(exc)
    except OSError as exc:
        return None, 'Cannot use the CMK escrow %s: %s.' % (exc.filename or params['escrow_path'], exc.strerror)


def existing_key_for_module(params, loader, module_args, check_mode):
    """The key a module gets from the controller: ``key``, the controller key file or the escrow, never a generated one,
    and only when it has the module's ``expected_kcv`` (when given). Returns (CmkSource, None) or (None, message)."""
    source, error = resolve_task_cmk(params, loader, params['key'], False, check_mode, key_file=params['controller_key_file'])
    if error:
        return None, error
    expected = module_args.get('expected_kcv')
    if expected is not None and expected != source.kcv:
        return None, 'The CMK has %s but expected_kcv is %s; nothing was sent to the node.' % (source.kcv, expected)
    return source, None
