#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lk_backup_probe
short_description: Find which Looker nodes write their backups to one shared filesystem
version_added: 0.1.0
description:
  - Nodes whose backup directory is one shared filesystem (NFS, a SAN volume) must fit all their backups into its free
    space together, not each alone. This module finds out which nodes share it, in three steps run on every node in
    turn. V(mark) creates an empty marker C(.lookerops-fs-probe-<token>.<name>) in O(dest_dir) (or its nearest existing
    parent, the filesystem the backups will land on). V(list) reports the names of the markers it sees, that is the nodes
    sharing the filesystem. V(clear) removes this node's marker.
  - Nothing else is written; the markers are empty files.
author:
  - lookerops.encryption contributors (@lookerops)
extends_documentation_fragment:
  - lookerops.encryption.attributes
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: none
    details: The probe needs its marker files; skip it in check mode.
options:
  dest_dir:
    description: The backup directory (as given to M(lookerops.encryption.lk_backup)).
    type: path
    default: /var/backups/lookerops
  token:
    description: A token unique to this probe (for example the run id); letters, digits, C(_), C(.) and C(-).
    type: str
    required: true
  name:
    description: This node's name in the probe (for example the inventory hostname).
    type: str
    required: true
  step:
    description: V(mark), V(list) or V(clear).
    type: str
    choices: [mark, list, clear]
    required: true
"""

EXAMPLES = r"""
- name: Mark the backup filesystem
  lookerops.encryption.lk_backup_probe:
    token: "{{ run_id }}"
    name: "{{ inventory_hostname }}"
    step: mark
"""

RETURN = r"""
directory:
  description: The directory the markers are written in.
  returned: success
  type: str
seen:
  description: Names of the nodes whose markers this node sees (itself included after V(mark)).
  returned: success
  type: list
  elements: str
free_bytes:
  description: Free bytes in that filesystem.
  returned: success
  type: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lookerops.encryption.plugins.module_utils._backup.errors import BackupError
from ansible_collections.lookerops.encryption.plugins.module_utils._backup.space import probe_step
from ansible_collections.lookerops.encryption.plugins.module_utils._module_call import run_call


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest_dir=dict(type='path', default='/var/backups/lookerops'),
            token=dict(type='str', required=True, no_log=False),
            name=dict(type='str', required=True),
            step=dict(type='str', choices=['mark', 'list', 'clear'], required=True),
        ),
        supports_check_mode=False,
    )
    params = module.params
    run_call(module, lambda: dict(probe_step(params['dest_dir'], params['token'], params['name'], params['step']),
                                  changed=params['step'] != 'list'),
             BackupError, os_error='Cannot probe the backup filesystem at %s' % params['dest_dir'])


if __name__ == '__main__':
    main()
