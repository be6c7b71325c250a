# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the CMK escrow option group (documented by the ``escrow`` doc fragment).

This is not a public API; it may change without notice. Standard library only.

The options are controller side: the action plugins of lk_cmk, lk_node_env and lk_rekey consume them
(``plugin_utils/_cmk_source.py`` adds the controller's checks: the ``escrow_aws`` sub-options and the
environment fallback of the vault password file). The modules list them so that their argument spec matches
their documentation; the ``escrow`` action group of ``meta/runtime.yml`` lets a play set them once.
"""

from __future__ import annotations

import copy

DEFAULT_ESCROW_VAULT_ID = 'lookerops'
ESCROW_CHOICES = ('vault', 'aws_secretsmanager', 'none')

_ESCROW_OPTIONS = dict(
    controller_key_file=dict(type='path'),
    escrow=dict(type='str', choices=list(ESCROW_CHOICES), default='vault'),
    escrow_aws=dict(type='dict'),
    escrow_path=dict(type='path'),
    escrow_vault_id=dict(type='str', default=DEFAULT_ESCROW_VAULT_ID),
    escrow_vault_password_file=dict(type='path', no_log=False),
    escrow_waiver=dict(type='str'),
)


def escrow_argument_spec():
    """The escrow option group, to compose into the argument spec of a module whose action plugin takes the key."""
    return copy.deepcopy(_ESCROW_OPTIONS)
