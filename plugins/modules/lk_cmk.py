#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lk_cmk
short_description: Ensure the local Looker Customer Master Key (CMK) file on a node, escrowed on the controller first
version_added: 0.1.0
description:
  - Places the local CMK (base64 of 32 random bytes) in a key file for C(LKR_MASTER_KEY_FILE), mode C(0400), owned by the Looker
    user from the first byte (temp file in the same directory, fchown, fsync, rename), content key plus one newline like
    C(openssl rand -base64 32 > file).
  - The controller side (action plugin) decides the key before anything reaches a node, in this order. A key given in O(key) is
    validated. Otherwise the escrow file O(escrow_path) is decrypted with the vault secrets Ansible loaded. Otherwise, with
    O(generate=true), a new key is generated.
  - With O(escrow=vault) (the default) the escrow, an Ansible Vault encrypted file on the controller (mode C(0600), directory
    C(0700)), is written when absent B(before) any node receives the key, and then always read back, decrypted and compared
    by key check value (KCV). Hosts running the task in parallel forks share a lock file next to the escrow, so exactly one
    of them generates the key and all use the same key.
  - The key travels to the node only inside the module payload as a C(no_log) argument, and that payload only on the module's
    standard input. The action plugin pipelines this module whatever C(pipelining) and C(ANSIBLE_KEEP_REMOTE_FILES) say, so the
    key is never in a remote C(AnsiballZ_*) file. When the connection cannot pipeline (a connection plugin without pipelining,
    C(become_method=su), an ssh tty requested, C(async)) the task fails before anything is sent, naming the cause and the remedy.
  - The key never appears in argv, results, diffs or warnings. Results carry only the KCV, C(kcv1:) plus the first 16 hex
    digits of HMAC-SHA256(key, C(lookerops.encryption key check value v1)).
  - With O(state=present), temp files that an interrupted write of the key file left next to it (C(.<name>.XXXXXXXX.tmp))
    are removed first (not while another write holds them); RV(stale_temp_files_removed) and a warning name them.
  - An existing different key is never replaced unless O(on_different_key=replace). Replacing the CMK of an instance that has
    already been migrated to AES-256-GCM loses the instance; Looker's offline C(rekey) task is the way to change it.
  - Runs as root on the node (C(become=true)).
author:
  - lookerops.encryption contributors (@lookerops)
options:
  path:
    description:
      - Key file on the node. Outside the Looker home on purpose, so that no backup of the home holds the key.
      - The parent directory is created C(0700) owned by O(owner) when missing (its own parent must exist).
    type: path
    default: /home/looker/.lookerops/cmk.key
  owner:
    description: The Looker user; owns the key file and its directory.
    type: str
    default: looker
  group:
    description: Group of the key file. Default the primary group of O(owner).
    type: str
  key:
    description:
      - The CMK as base64 text. Controller side, given by the operator (for example from Ansible Vault or an AWX credential); when
        omitted the action plugin takes it from the escrow or generates it. It is removed from the task arguments and handed
        to the node module as its C(no_log) argument.
      - Surrounding whitespace is stripped; anything but canonical standard base64 of exactly 32 bytes is refused.
    type: str
  expected_kcv:
    description:
      - KCV the key must have. The action plugin always sets it to the KCV of the key it sends, so the node checks what it got.
      - With O(state=validated), the KCV the key file must have; when omitted the action plugin takes it from O(key) or the escrow.
    type: str
  state:
    description:
      - V(present) writes the key file when missing, fixes its mode and owner when the key is the right one.
      - V(validated) only checks that the key file exists, is C(0400) owned by O(owner), and has the expected KCV; it never writes
        (on the node nor the escrow).
      - V(recovered) writes nothing on the node. It reads the local CMK that Looker gets on this node (C(LKR_MASTER_KEY_ENV) or the
        C(LKR_MASTER_KEY_FILE) file, as C(lookerstart.cfg) in O(looker_home) sets them when sourced as O(owner)) and the action
        plugin escrows it on the controller when the escrow is missing (the key travels in the module's reply, is checked
        against O(expected_kcv) and its own KCV, and is removed from the result). When the escrow exists it must hold the same key.
        This is how a controller without the escrow copy (a new laptop, an ephemeral AWX job) gets it back without ever
        generating a new key for an instance that has one.
      - V(retired) removes the key O(expected_kcv) (a key retired by a rekey, whose escrow is kept on the controller) from the
        node. O(path) is removed when it holds exactly that key, and so are the hard links C(<path>.replaced-*) that hold it
        and the temp files of interrupted writes beside O(path). Files holding another key are kept. It refuses when the
        settings in O(looker_home) still give Looker that key. Nothing is sent to the node but the key check value.
    type: str
    choices: [present, validated, recovered, retired]
    default: present
  looker_home:
    description: The Looker home (holding C(lookerstart.cfg)); used by O(state=recovered) and O(state=retired) only.
    type: path
    default: /home/looker/looker
  transport_pad:
    description:
      - Internal, set by the action plugin for O(state=recovered) only; do not set it. 32 random bytes (base64) used once to
        seal the key in the module's reply, which Ansible shows at high verbosity.
    type: str
  replace_kcv:
    description:
      - With O(on_different_key=replace), the KCV of the key file that may be replaced. A valid key in O(path) is replaced only
        when it has exactly this KCV (an invalid file, which Looker cannot use, needs no name).
    type: str
  on_different_key:
    description:
      - What to do when O(path) already holds a different (or invalid) key.
      - V(fail) refuses and explains; an instance migrated with the existing key would be lost if it were replaced.
      - V(replace) writes the new key when O(replace_kcv) names the key in place; the old file is kept as a hard link
        C(<path>.replaced-<kcv digits>) (still C(0400)).
    type: str
    choices: [fail, replace]
    default: fail
  generate:
    description: Controller side. Generate a new key when neither O(key) nor the escrow exists.
    type: bool
    default: true
  deliver:
    description:
      - Controller side. V(false) only ensures and verifies the escrow on the controller and returns the KCV; the node is not
        touched.
    type: bool
    default: true
extends_documentation_fragment:
  - lookerops.encryption.attributes
  - lookerops.encryption.attributes.action_plugin
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - lookerops.encryption.escrow
attributes:
  action:
    details:
      - The controller-side action plugin chooses the key and maintains the escrow before the module runs on the node.
  check_mode:
    details:
      - Decides C(changed) from reads only; neither the escrow nor the node is written (no lock file either).
      - When a new key would be generated, a throw-away key stands in for it, so the KCV reported in check mode is not the one a
        real run would produce.
  diff_mode:
    support: partial
    details:
      - Metadata only (path, exists, mode, owner, group, kcv), never the key.
notes:
  - Run the task for all nodes in one play (parallel forks are safe); every node gets the same key.
  - With the local or ssh connection, enable pipelining so the module payload (which carries the key) never touches the node's
    disk; without it, it lives in Ansible's remote temp directory (mode 0700) for the duration of the task.
seealso:
  - module: lookerops.encryption.lk_node_env
"""

EXAMPLES = r"""
- name: Ensure the CMK on every node (generated once, escrowed on the controller)
  lookerops.encryption.lk_cmk:
    escrow_path: "{{ playbook_dir }}/escrow/looker-cmk.vault"
  become: true

- name: Use a key the operator keeps elsewhere, verified against the escrow
  lookerops.encryption.lk_cmk:
    key: "{{ vault_looker_cmk }}"
    escrow_path: "{{ playbook_dir }}/escrow/looker-cmk.vault"
    escrow_vault_id: looker
  become: true

- name: Operator-managed key without escrow (explicit opt-out)
  lookerops.encryption.lk_cmk:
    key: "{{ awx_looker_cmk }}"
    escrow: none
    escrow_waiver: I have escrowed the CMK myself
  become: true

- name: Only check that the node holds the escrowed key
  lookerops.encryption.lk_cmk:
    state: validated
    escrow_path: "{{ playbook_dir }}/escrow/looker-cmk.vault"
  become: true
"""

RETURN = r"""
path:
  description: Key file path on the node.
  returned: when delivered
  type: str
  sample: /home/looker/.lookerops/cmk.key
kcv:
  description: Key check value of the key (never the key).
  returned: always
  type: str
  sample: kcv1:9f2c4e0d1a7b3c55
mode:
  description: Mode of the key file after the task (in check mode, the current one; C(diff.after) shows what it would be).
  returned: when delivered
  type: str
  sample: '0400'
owner:
  description: Owner of the key file after the task (in check mode, the current one).
  returned: when delivered
  type: str
  sample: looker
group:
  description: Group of the key file after the task (in check mode, the current one).
  returned: when delivered
  type: str
  sample: looker
backup_path:
  description: Hard link keeping the replaced key file (O(on_different_key=replace) only).
  returned: when a different key was replaced
  type: str
escrow_path:
  description: Escrow file on the controller (null with O(escrow=none)).
  returned: always
  type: str
escrow_verified:
  description: The escrow was read back, decrypted and has the same KCV.
  returned: always
  type: bool
escrow_written:
  description: The escrow was written by this task (in check mode, would be written).
  returned: always
  type: bool
generated:
  description: The key was generated by this task (in check mode, would be generated).
  returned: always
  type: bool
removed:
  description: Files holding the retired key that were removed (in check mode, would be removed), temp files included.
  returned: when O(state=retired)
  type: list
  elements: str
  sample: [/home/looker/.lookerops/cmk.key.replaced-0123456789abcdef]
kept:
  description: Files beside O(path) that hold another key (or are not regular files) and were left alone.
  returned: when O(state=retired)
  type: list
  elements: str
stale_temp_files_removed:
  description:
    - Temp files of an interrupted write of the key file that were removed (in check mode, would be removed). They count as
      a change.
  returned: when delivered
  type: list
  elements: str
  sample: [/home/looker/.lookerops/.cmk.key.k2x9_q1a.tmp]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lookerops.encryption.plugins.module_utils._escrow_options import escrow_argument_spec
from ansible_collections.lookerops.encryption.plugins.module_utils._key_material import DEFAULT_KEY_PATH, CmkFileBackend, KeyMaterialError
from ansible_collections.lookerops.encryption.plugins.module_utils._key_retire import retire_key
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.migrate import recover_key
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.node import LookerNode
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.ops import run_operation
from ansible_collections.lookerops.encryption.plugins.module_utils._module_call import run_call, run_file_backend


def argument_spec():
    return dict(
        escrow_argument_spec(),  # controller side: the action plugin consumes them
        path=dict(type='path', default=DEFAULT_KEY_PATH),
        owner=dict(type='str', default='looker'),
        group=dict(type='str'),
        key=dict(type='str', no_log=True),
        expected_kcv=dict(type='str', no_log=False),
        state=dict(type='str', choices=['present', 'validated', 'recovered', 'retired'], default='present'),
        on_different_key=dict(type='str', choices=['fail', 'replace'], default='fail', no_log=False),
        replace_kcv=dict(type='str', no_log=False),
        looker_home=dict(type='path', default='/home/looker/looker'),
        transport_pad=dict(type='str', no_log=True),
        generate=dict(type='bool', default=True),
        deliver=dict(type='bool', default=True),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    if params['state'] == 'recovered':
        run_operation(module, recover_key, LookerNode(params['looker_home'], params['owner']), params['expected_kcv'],
                      params['transport_pad'])

    if params['state'] == 'retired':
        node = LookerNode(params['looker_home'], params['owner'])

        def retire():
            return retire_key(params['path'], params['expected_kcv'], node.config.key_identity()['identity'], module.check_mode)

        def os_error(exc):
            return 'Cannot remove the retired key at %s: %s (%s).' % (params['path'], exc.strerror, exc.filename or params['path'])
        run_call(module, retire, KeyMaterialError, path=params['path'], os_error=os_error)

    def run():
        return run_file_backend(module, CmkFileBackend(
            path=params['path'],
            owner=params['owner'],
            group=params['group'],
            key=params['key'],
            expected_kcv=params['expected_kcv'],
            state=params['state'],
            on_different_key=params['on_different_key'],
            replace_kcv=params['replace_kcv'],
            check_mode=module.check_mode,
        ))
    run_call(module, run, KeyMaterialError, path=params['path'],
             os_error=lambda exc: 'Cannot manage the key file %s: %s (%s).' % (params['path'], exc.strerror, exc.filename or params['path']))


if __name__ == '__main__':
    main()
