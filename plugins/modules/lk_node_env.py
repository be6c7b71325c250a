#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lk_node_env
short_description: Manage the Looker key settings block in lookerstart.cfg (and an optional systemd drop-in)
version_added: 0.1.0
description:
  - Manages one block in C(<looker_home>/lookerstart.cfg), which Looker's startup script sources, between
    C(# BEGIN lookerops.encryption (managed; do not edit)) and C(# END lookerops.encryption). Every other line is kept as it is.
  - O(mode=key_file) writes C(export LKR_MASTER_KEY_FILE='<key_file>') (the key file must already be there, C(0400), owned by
    O(owner), for example from M(lookerops.encryption.lk_cmk)).
  - O(mode=key_env) writes C(export LKR_MASTER_KEY_ENV='<key>'). The action plugin takes the key from O(key) or decrypts the
    escrow exactly as M(lookerops.encryption.lk_cmk) does, but never generates one (the key must already exist).
  - O(mode=aws_kms) writes C(export AWS_REGION='...' LKR_AWS_CMK='alias/...' LKR_AWS_CMK_EC='...').
    C(LKR_AWS_CMK_EC) is always written, also when it is Looker's default C(Looker_Encryption_Context), so the block states
    the whole setting.
  - O(mode=absent) removes the block (and the drop-in O(systemd_dropin) when given).
  - Temp files that an interrupted write left next to C(lookerstart.cfg) (C(.lookerstart.cfg.XXXXXXXX.tmp)), or next to the
    drop-in's environment file, may hold the key; they are removed first (not while another write holds them) and
    RV(stale_temp_files_removed) and a warning name them.
  - For O(mode=key_env) the action plugin sends the key only on the module's standard input (pipelining, whatever
    C(pipelining) and C(ANSIBLE_KEEP_REMOTE_FILES) say), so it is never in a remote C(AnsiballZ_*) file; when the connection
    cannot pipeline (C(become_method=su), a connection plugin without pipelining, an ssh tty requested, C(async)) the task
    fails before anything is sent.
  - Values are single-quoted for C(/bin/sh). The file is created when missing and is C(0600) owned by O(owner) whenever the block
    exists (written through a temp file that has that mode and owner from the first byte).
  - Fails, naming the line numbers, when the file sets C(LKR_MASTER_KEY_FILE), C(LKR_MASTER_KEY_ENV), C(LKR_AWS_CMK) or
    C(LKR_AWS_CMK_EC) outside the block (conflicting settings), or when the block markers are damaged.
author:
  - lookerops.encryption contributors (@lookerops)
options:
  looker_home:
    description: The Looker home (the directory holding C(looker.jar) and C(lookerstart.cfg)).
    type: path
    default: /home/looker/looker
  owner:
    description: The Looker user; owns C(lookerstart.cfg) (group its primary group).
    type: str
    default: looker
  mode:
    description: Which key setting Looker gets.
    type: str
    choices: [key_file, key_env, aws_kms, absent]
    required: true
  key_file:
    description: Key file path on the node for O(mode=key_file).
    type: path
    default: /home/looker/.lookerops/cmk.key
  key:
    description:
      - The CMK as base64 text for O(mode=key_env). Given by the operator or, when omitted, decrypted from the escrow by the
        action plugin. Never returned.
    type: str
  expected_kcv:
    description: When set, the key (O(mode=key_env)) or key file (O(mode=key_file)) must have this key check value.
    type: str
  replace:
    description:
      - The identity of the key settings this task may replace. When the block in force already gives Looker a different key
        (a local key with another key check value, another KMS alias, region or encryption context, or a change between a
        local key and KMS), the task fails and changes nothing, unless this option names exactly the identity in force
        (the C(kcv1:...) key check value, or C(kms:<region>/<alias>/<context>)), as reported by RV(key_identity_before) and
        by M(lookerops.encryption.lk_node_info).
      - Replacing the key of a migrated instance loses it; Looker's offline rekey procedure is the way to change a key in use.
    type: str
  aws_region:
    description: C(AWS_REGION) for O(mode=aws_kms).
    type: str
  aws_cmk:
    description: C(LKR_AWS_CMK) for O(mode=aws_kms); must be an alias, C(alias/<name>).
    type: str
  aws_cmk_ec:
    description: C(LKR_AWS_CMK_EC), the KMS encryption context, for O(mode=aws_kms). Always written.
    type: str
    default: Looker_Encryption_Context
  systemd_dropin:
    description:
      - Optional path of a systemd drop-in, for example C(/etc/systemd/system/looker.service.d/lookerops-encryption.conf),
        written C(0600) (owned by root) with the same settings; removed with O(mode=absent).
      - The drop-in never holds the key (systemd shows C(Environment=) values to unprivileged users over D-Bus). Settings that
        are not secret (C(LKR_MASTER_KEY_FILE), C(AWS_REGION), C(LKR_AWS_CMK), C(LKR_AWS_CMK_EC)) are C(Environment=) lines;
        for O(mode=key_env) the drop-in has C(EnvironmentFile=<drop-in path without .conf>.env) and that file, C(0600) owned by
        root, holds C(LKR_MASTER_KEY_ENV). The environment file is removed when the mode no longer needs it.
      - The caller reloads systemd when RV(daemon_reload_needed) is true (the C(lookerops.encryption.node_env) role does).
    type: path
extends_documentation_fragment:
  - lookerops.encryption.attributes
  - lookerops.encryption.attributes.action_plugin
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - lookerops.encryption.escrow
attributes:
  action:
    details:
      - For O(mode=key_env) the action plugin supplies the key from O(key) or the escrow.
  check_mode:
    details:
      - Decides C(changed) from reads only; nothing is written on the node nor on the controller.
  diff_mode:
    support: partial
    details:
      - Metadata only (path, exists, mode, owner uid, setting mode, settings fingerprint), never the file content or the key.
notes:
  - Restart Looker (or let the procedure do it) for new settings to take effect.
seealso:
  - module: lookerops.encryption.lk_cmk
"""

EXAMPLES = r"""
- name: Point Looker at the key file
  lookerops.encryption.lk_node_env:
    mode: key_file
    key_file: /home/looker/.lookerops/cmk.key
  become: true

- name: Key in the environment, taken from the escrow
  lookerops.encryption.lk_node_env:
    mode: key_env
    escrow_path: "{{ playbook_dir }}/escrow/looker-cmk.vault"
    systemd_dropin: /etc/systemd/system/looker.service.d/lookerops-encryption.conf
  become: true

- name: AWS KMS
  lookerops.encryption.lk_node_env:
    mode: aws_kms
    aws_region: eu-west-1
    aws_cmk: alias/looker-cmk
  become: true
"""

RETURN = r"""
key_identity:
  description: Identity of the key the block gives Looker after the task (C(kcv1:...), C(kms:<region>/<alias>/<context>)), never the key.
  returned: success
  type: str
  sample: kcv1:9f2c4e0d1a7b3c55
key_identity_before:
  description: Identity of the key the block gave Looker before the task (null without one, C(invalid) for an unusable local key).
  returned: success
  type: str
path:
  description: The C(lookerstart.cfg) path.
  returned: always
  type: str
  sample: /home/looker/looker/lookerstart.cfg
mode:
  description: The setting mode (O(mode)); the action plugin sets it (the module alone would report the file mode here).
  returned: always
  type: str
  sample: key_file
setting_mode:
  description: The setting mode (O(mode)), as the module returns it.
  returned: always
  type: str
  sample: key_file
cfg_file_mode:
  description: Mode of C(lookerstart.cfg) after the task (the current one in check mode).
  returned: when the file exists
  type: str
  sample: '0600'
settings_fingerprint:
  description: sha256 hex of the managed block with any key value replaced by its key check value; null for O(mode=absent).
  returned: always
  type: str
kcv:
  description: Key check value of the key (O(mode=key_env)) or of the key file (O(mode=key_file)).
  returned: when O(mode) is key_file or key_env
  type: str
  sample: kcv1:9f2c4e0d1a7b3c55
dropin_path:
  description: The systemd drop-in path (O(systemd_dropin)).
  returned: always
  type: str
dropin_changed:
  description: Whether the drop-in was (or in check mode would be) written or removed.
  returned: always
  type: bool
daemon_reload_needed:
  description: The drop-in (or its environment file) changed; run C(systemctl daemon-reload) before restarting Looker.
  returned: always
  type: bool
stale_temp_files_removed:
  description: Temp files of an interrupted write that were removed (in check mode, would be removed). They count as a change.
  returned: always
  type: list
  elements: str
  sample: [/home/looker/looker/.lookerstart.cfg.3hx_0k2q.tmp]
escrow_verified:
  description: For O(mode=key_env) with O(escrow=vault), the escrow was decrypted and checked.
  returned: when O(mode=key_env)
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lookerops.encryption.plugins.module_utils._escrow_options import escrow_argument_spec
from ansible_collections.lookerops.encryption.plugins.module_utils._key_material import DEFAULT_KEY_PATH, KeyMaterialError
from ansible_collections.lookerops.encryption.plugins.module_utils._module_call import run_call, run_file_backend
from ansible_collections.lookerops.encryption.plugins.module_utils._node_env import DEFAULT_AWS_CMK_EC, SETTING_MODES, NodeEnvBackend, NodeEnvError


def argument_spec():
    return dict(
        escrow_argument_spec(),  # controller side: the action plugin consumes them
        looker_home=dict(type='path', default='/home/looker/looker'),
        owner=dict(type='str', default='looker'),
        mode=dict(type='str', choices=list(SETTING_MODES), required=True),
        key_file=dict(type='path', default=DEFAULT_KEY_PATH, no_log=False),
        key=dict(type='str', no_log=True),
        expected_kcv=dict(type='str', no_log=False),
        replace=dict(type='str', no_log=False),
        aws_region=dict(type='str'),
        aws_cmk=dict(type='str', no_log=False),
        aws_cmk_ec=dict(type='str', default=DEFAULT_AWS_CMK_EC, no_log=False),
        systemd_dropin=dict(type='path'),
    )


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        required_if=[('mode', 'aws_kms', ('aws_region', 'aws_cmk'))],
    )
    params = module.params

    def run():
        return run_file_backend(module, NodeEnvBackend(
            looker_home=params['looker_home'],
            owner=params['owner'],
            mode=params['mode'],
            key_file=params['key_file'],
            key=params['key'] if params['mode'] == 'key_env' else None,
            aws_region=params['aws_region'],
            aws_cmk=params['aws_cmk'],
            aws_cmk_ec=params['aws_cmk_ec'],
            systemd_dropin=params['systemd_dropin'],
            expected_kcv=params['expected_kcv'],
            replace=params['replace'],
            check_mode=module.check_mode,
        ))
    run_call(module, run, (NodeEnvError, KeyMaterialError),
             os_error=lambda exc: 'Cannot manage the key settings (%s): %s.' % (exc.filename or params['looker_home'], exc.strerror))


if __name__ == '__main__':
    main()
