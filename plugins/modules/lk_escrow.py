#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lk_escrow
short_description: Retire the old CMK's escrow and put the new one in force after a rekey (or back, for its rollback)
version_added: 0.1.0
description:
  - Runs on the controller (C(delegate_to) C(localhost)). Works on the Ansible Vault escrow files of one cluster without reading
    them. C(<stem>.vault) holds the key in force, C(<stem>-next.vault) the new key of a rekey under way, and
    C(<stem>-retired-<kcv>.vault) an old key, with a C(.json) note beside it (when it was retired, by which run, and that it
    must be kept as long as any backup taken under it).
  - V(promoted) after a rekey proved itself; the old key is retired, never deleted.
  - V(restored) for the rollback of a rekey; the new key is retired and the old one is in force again.
  - The copies are 0600 from their first byte. Running it again changes nothing.
author:
  - lookerops.encryption contributors (@lookerops)
extends_documentation_fragment:
  - lookerops.encryption.attributes
  - ansible.builtin.action_common_attributes
options:
  path:
    description: The escrow of the key in force (C(<stem>.vault)).
    type: path
    required: true
  state:
    description: V(promoted) or V(restored).
    type: str
    choices: [promoted, restored]
    required: true
  old_kcv:
    description: Key check value of the old local key; omit when the old key is AWS KMS.
    type: str
  new_kcv:
    description: Key check value of the new local key; omit when the new key is AWS KMS.
    type: str
  run_id:
    description: The rekey run, written into the notes.
    type: str
"""

EXAMPLES = r"""
- name: Retire the old key's escrow and put the new one in force
  lookerops.encryption.lk_escrow:
    path: ~/.lookerops/escrow/looker-cmk.vault
    state: promoted
    old_kcv: kcv1:0123456789abcdef
    new_kcv: kcv1:fedcba9876543210
    run_id: 20261202T101500Z-1a2b3c
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
path:
  description: The escrow in force.
  returned: always
  type: str
retired_path:
  description: The escrow file of the key retired by this call (or that was retired before), or null.
  returned: always
  type: str
old_path:
  description:
    - Where the old key's escrow is before this call (its retired copy, or the escrow in force when the rekey never promoted
      the new key). A rollback checks in check mode that this file opens and holds the old key before anything is restored.
  returned: when state is restored
  type: str
next_path:
  description: The escrow of the new key of a rekey under way.
  returned: when state is promoted
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lookerops.encryption.plugins.module_utils._escrow_files import EscrowFilesError, promote, restore
from ansible_collections.lookerops.encryption.plugins.module_utils._module_call import run_call


def main():
    module = AnsibleModule(argument_spec=dict(
        path=dict(type='path', required=True),
        state=dict(type='str', choices=['promoted', 'restored'], required=True),
        old_kcv=dict(type='str', no_log=False),
        new_kcv=dict(type='str', no_log=False),
        run_id=dict(type='str'),
    ), supports_check_mode=True)
    params = module.params
    call = promote if params['state'] == 'promoted' else restore
    run_call(module, lambda: call(params['path'], params['old_kcv'], params['new_kcv'], params['run_id'], module.check_mode),
             EscrowFilesError, os_error='Cannot move the escrow files beside %s' % params['path'])


if __name__ == '__main__':
    main()
