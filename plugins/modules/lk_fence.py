#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lk_fence
short_description: Set or remove the .deploying fence of a Looker node
version_added: 0.1.0
description:
  - While C(.deploying) exists in the Looker home, Looker's startup script refuses to start Looker; it is the documented fence that
    also keeps supervisors (systemd, SysV, monit) from starting Looker behind the back of a migration.
  - The fence written by this module holds C(lookerops.encryption run <run_id>) and belongs to the Looker user.
  - O(state=present) fails when a C(.deploying) exists that this run did not write (someone else is deploying).
  - O(state=absent) removes only this run's fence, unless O(force=true).
author:
  - lookerops.encryption contributors (@lookerops)
extends_documentation_fragment:
  - lookerops.encryption.attributes
  - ansible.builtin.action_common_attributes
  - lookerops.encryption.looker_node
attributes:
  check_mode:
    details: Decides C(changed) from reads only.
  diff_mode:
    support: full
    details: Presence and content of the fence.
options:
  state:
    description: Whether this run's fence should exist.
    type: str
    choices: [present, absent]
    default: present
  run_id:
    description: Identifier of this run, written into the fence.
    type: str
    required: true
  force:
    description: With O(state=absent), remove a C(.deploying) file that this run did not write.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Fence the node for this run
  lookerops.encryption.lk_fence:
    run_id: "{{ lookerops_run_id }}"
  become: true

- name: Remove this run's fence
  lookerops.encryption.lk_fence:
    run_id: "{{ lookerops_run_id }}"
    state: absent
  become: true
"""

RETURN = r"""
path:
  description: Path of the fence file.
  returned: always
  type: str
  sample: /home/looker/looker/.deploying
before:
  description: The fence before the task (present, content, collection, run_id, ours).
  returned: always
  type: dict
fence:
  description: The fence after the task.
  returned: always
  type: dict
"""

from ansible_collections.lookerops.encryption.plugins.module_utils._looker.node import node_module
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.ops import fence_op, run_operation


def main():
    module, node = node_module(dict(
        state={'type': 'str', 'choices': ['present', 'absent'], 'default': 'present'},
        run_id={'type': 'str', 'required': True},
        force={'type': 'bool', 'default': False},
    ))
    run_operation(
        module, fence_op, node, module.params['state'], module.params['run_id'], force=module.params['force'], check_mode=module.check_mode)


if __name__ == '__main__':
    main()
