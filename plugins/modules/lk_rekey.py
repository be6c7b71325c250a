#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lk_rekey
short_description: Run Looker's rekey task on a stopped node, from the key in force to a new CMK
version_added: 0.1.0
description:
  - Runs C(java -jar looker.jar rekey [-d CREDS]) once, as the Looker user in the Looker home, after sourcing C(lookerstart.cfg),
    with every node of the cluster stopped. Looker documents the steps (stop and back up, set the C(_SOURCE) and
    C(_DESTINATION) variables, run C(rekey), set the new key settings, start); this module does the middle two.
  - The old key is the one C(lookerstart.cfg) gives Looker on this node now; a local key (file or environment) is handed on as
    C(LKR_MASTER_KEY_ENV_SOURCE), the documented name. The new key is O(key) (a local CMK, given to the task as
    C(LKR_MASTER_KEY_ENV_DESTINATION)) or the AWS KMS settings O(aws_region), O(aws_cmk), O(aws_cmk_ec).
  - The names for AWS KMS settings (C(LKR_AWS_CMK_SOURCE), C(AWS_REGION_DESTINATION), ...) are not public; they are inferred
    from the documented pattern (the setting's name plus C(_SOURCE) or C(_DESTINATION)) and can be renamed with
    O(variable_names). The result lists the inferred names used.
  - Keys reach the task in its environment only, never in argv; the plain key settings of C(lookerstart.cfg) are removed from
    that environment. The key never appears in the result.
  - Idempotent. Nothing runs when the node already gives Looker the new key, or when the state file O(state_path) records a
    completed rekey from the same old key to the same new key. A rekey that did not complete is run again with the same
    keys; a different new key is refused then.
  - Retries while Looker answers that other live nodes are connected to the backend; on O(timeout) the task is never stopped.
author:
  - lookerops.encryption contributors (@lookerops)
extends_documentation_fragment:
  - lookerops.encryption.attributes
  - lookerops.encryption.attributes.action_plugin
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - lookerops.encryption.looker_node
  - lookerops.encryption.task_scope
  - lookerops.encryption.offline_task
  - lookerops.encryption.escrow
attributes:
  check_mode:
    details: Checks the keys and the state file and reports the variables it would set; runs nothing.
options:
  new_key_source:
    description: The kind of the new key, V(local) (a 32-byte CMK) or V(aws_kms).
    type: str
    choices: [local, aws_kms]
    required: true
  key:
    description:
      - The new local CMK as base64 text. When omitted, the action plugin takes it from the escrow (never generates one).
    type: str
  controller_key_file:
    description: Controller side. A file on the controller holding the new local CMK, instead of O(key).
    type: path
  expected_kcv:
    description: The key check value the new local key must have; nothing runs otherwise.
    type: str
  aws_region:
    description: Region of the new AWS KMS key.
    type: str
  aws_cmk:
    description: Alias of the new AWS KMS key (C(alias/<name>)).
    type: str
  aws_cmk_ec:
    description: Encryption context of the new AWS KMS key (default Looker's C(Looker_Encryption_Context)).
    type: str
  expected_source:
    description:
      - The identity (key check value, or C(kms:<region>/<alias>/<context>)) the old key must have; refuses otherwise.
    type: str
  state_path:
    description: The rekey state file (identities only, 0600). It makes a resumed run safe; without it only the key in force is checked.
    type: path
  run_id:
    description: The run id written into the state file.
    type: str
  variable_names:
    description:
      - "Renames of the rekey variables, as C({SETTING: {source: NAME, destination: NAME}}), for a release whose names differ
        from the inferred ones."
    type: dict
    default: {}
seealso:
  - module: lookerops.encryption.lk_migrate_encryption
  - module: lookerops.encryption.lk_cmk
"""

EXAMPLES = r"""
- name: Rekey to the new local key held in the escrow (cluster stopped, backups taken)
  lookerops.encryption.lk_rekey:
    new_key_source: local
    escrow_path: ~/.lookerops/escrow/looker-cmk-next.vault
    expected_source: kcv1:0123456789abcdef
    state_path: /home/looker/.lookerops-rekey.json
  become: true
  run_once: true

- name: Move from a local key to AWS KMS
  lookerops.encryption.lk_rekey:
    new_key_source: aws_kms
    aws_region: eu-west-1
    aws_cmk: alias/looker
  become: true
  run_once: true
"""

RETURN = r"""
changed:
  description: True when the rekey task ran and succeeded.
  returned: always
  type: bool
source:
  description: Identity of the old key (key check value or C(kms:...)).
  returned: always
  type: str
destination:
  description: Identity of the new key.
  returned: always
  type: str
already_rekeyed:
  description: True when nothing ran because the new key is in force or the rekey already completed.
  returned: always
  type: bool
variables:
  description: Names of the variables given to the task (names only).
  returned: always
  type: list
  elements: str
inferred_variables:
  description: The names among RV(variables) that Looker does not document (inferred from the pattern).
  returned: always
  type: list
  elements: str
task_ran:
  description: True when the rekey task ran past Looker's live-node refusal (records may have changed).
  returned: always
  type: bool
attempts:
  description: One entry per attempt, C(attempt), C(rc), C(seconds), C(live_nodes).
  returned: always
  type: list
  elements: dict
log_lines:
  description: Log lines Looker wrote during the last attempt.
  returned: always
  type: list
  elements: str
command:
  description: The argv run (no secrets in it).
  returned: when the task ran
  type: list
  elements: str
duration_seconds:
  description: Seconds the run took, retries included.
  returned: always
  type: float
waited_seconds:
  description: Seconds waited before the first attempt (O(first_attempt_delay)).
  returned: when the task ran
  type: float
pid:
  description:
    - Pid of the C(rekey) task still running when O(timeout) ran out. It is not stopped (stopping it midway can corrupt the
      internal database); wait for it to finish, then run the module again.
  returned: failure, on timeout
  type: int
"""

from ansible_collections.lookerops.encryption.plugins.module_utils._escrow_options import escrow_argument_spec
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.migrate import offline_task_module, run_offline_operation
from ansible_collections.lookerops.encryption.plugins.module_utils._rekey import RekeyError, rekey


def main():
    module, node = offline_task_module(dict(
        new_key_source={'type': 'str', 'choices': ['local', 'aws_kms'], 'required': True},
        key={'type': 'str', 'no_log': True},
        expected_kcv={'type': 'str', 'no_log': False},
        aws_region={'type': 'str'},
        aws_cmk={'type': 'str', 'no_log': False},
        aws_cmk_ec={'type': 'str'},
        expected_source={'type': 'str'},
        state_path={'type': 'path'},
        run_id={'type': 'str'},
        variable_names={'type': 'dict', 'default': {}},
        **escrow_argument_spec(),  # controller side: the action plugin consumes them
    ), required_if=[('new_key_source', 'aws_kms', ('aws_region', 'aws_cmk'))])
    params = module.params
    if params['new_key_source'] == 'local' and not params['key']:
        module.fail_json(msg='new_key_source=local needs the new key: run the module through its action plugin (key or escrow_path)')
    try:
        run_offline_operation(
            module, node, rekey, params['new_key_source'], destination_key=params['key'], aws_region=params['aws_region'],
            aws_cmk=params['aws_cmk'], aws_cmk_ec=params['aws_cmk_ec'], expected_source=params['expected_source'],
            state_path=params['state_path'], run_id=params['run_id'], overrides=params['variable_names'], retry_backoff=1.0)
    except RekeyError as exc:
        module.fail_json(msg=str(exc), changed=False)


if __name__ == '__main__':
    main()
