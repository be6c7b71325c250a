#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lk_run_lock
short_description: Take or release the cluster-wide lock of a lookerops.encryption run on a Looker node
version_added: 0.1.0
description:
  - One run per cluster at a time. The lock is a JSON file created exclusively (C(O_EXCL)) holding the run id, the controller
    (C(user@host)) and the time it was taken. The playbooks take it on the first node before the others, so of two runs
    started together exactly one goes on.
  - The lock also names its holder, the ansible-playbook process of the controller (host name, pid and start time); the action
    plugin fills it in. A lock held by another run is reported by its run id and controller and never overridden. The same
    ansible-playbook finds it its own. A second holder with the same run id (a resume from another controller, or a second
    ansible-playbook, while the first may still run) is refused; the action plugin takes the lock over only when the holder
    ran on this controller and its process is gone (a resume after a crash). V(absent) removes only this run's lock.
author:
  - lookerops.encryption contributors (@lookerops)
extends_documentation_fragment:
  - lookerops.encryption.attributes
  - lookerops.encryption.attributes.action_plugin
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    details:
      - The controller-side action plugin names the holder and, for a resume after a crash on this controller, takes over the
        dead holder's lock.
  check_mode:
    details: Reports whether the lock would be taken or released; a lock of another run fails in check mode too.
options:
  path:
    description: The lock file on the node; its directory must exist.
    type: path
    default: /home/looker/.lookerops-run.lock
  run_id:
    description: The run that takes or releases the lock.
    type: str
    required: true
  controller:
    description: Who runs it (for example C(user@host) of the controller), shown to a second run.
    type: str
    default: unknown
  holder:
    description:
      - Internal, set by the action plugin; do not set it. The controller's host name (C(host)), and the pid (C(pid)) and start
        time in epoch seconds (C(started)) of its ansible-playbook process.
    type: dict
  takeover_of:
    description:
      - Internal, set by the action plugin; do not set it. The holder of this run's lock that the controller found dead; the
        lock is replaced only while it still names that holder.
    type: dict
  state:
    description: V(present) takes the lock (or finds it this run's own), V(absent) releases this run's lock.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: One run per cluster at a time
  lookerops.encryption.lk_run_lock:
    run_id: "{{ run_id }}"
    controller: "ops@laptop"
  become: true
"""

RETURN = r"""
path:
  description: The lock file.
  returned: always
  type: str
lock:
  description: The lock after the task (run_id, controller, taken), or null.
  returned: always
  type: dict
ours:
  description: Whether this run holds (or held) the lock.
  returned: always
  type: bool
took_over:
  description: Whether the lock of a dead holder of the same run was taken over.
  returned: when state is present
  type: bool
"""

import functools

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lookerops.encryption.plugins.module_utils._module_call import run_call
from ansible_collections.lookerops.encryption.plugins.module_utils._run_lock import RunLockError, acquire, release


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', default='/home/looker/.lookerops-run.lock'),
            run_id=dict(type='str', required=True),
            controller=dict(type='str', default='unknown'),
            holder=dict(type='dict'),
            takeover_of=dict(type='dict'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params['state'] == 'present':
        call = functools.partial(acquire, params['path'], params['run_id'], params['controller'], check_mode=module.check_mode,
                                 holder=params['holder'], takeover_of=params['takeover_of'])
    else:
        call = functools.partial(release, params['path'], params['run_id'], check_mode=module.check_mode, holder=params['holder'])
    run_call(module, call, RunLockError, os_error='Cannot use the run lock %s' % params['path'], path=params['path'])


if __name__ == '__main__':
    main()
