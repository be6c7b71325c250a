#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lk_transport_probe
short_description: Prove that a node can receive the CMK the way the collection sends it
version_added: 0.2.0
description:
  - A no-op sent exactly as the modules that carry the CMK are sent (M(lookerops.encryption.lk_cmk),
    M(lookerops.encryption.lk_node_env), M(lookerops.encryption.lk_rekey)) - pipelined, the arguments on the module's
    standard input, with the play's become - so that preflight finds, before any node is stopped, a sudo that needs a
    terminal or a password, a connection or become method that cannot pipeline, or a module that does not run as root.
  - The action plugin sends a random token (no key) and checks that the module answers its digest, as root.
  - Changes nothing.
author:
  - lookerops.encryption contributors (@lookerops)
extends_documentation_fragment:
  - lookerops.encryption.attributes
  - lookerops.encryption.attributes.action_plugin
  - lookerops.encryption.attributes.info_module
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
options:
  token:
    description: A random value the action plugin sends on the module's standard input; the module answers its digest.
    type: str
    required: true
notes:
  - Refused, like every module that carries a key, when Ansible's debug output is on.
"""

EXAMPLES = r"""
- name: Prove the key's transport to every node before anything is stopped
  lookerops.encryption.lk_transport_probe:
  become: true
"""

RETURN = r"""
euid:
  description: The effective uid the module ran as (0 with become).
  returned: success
  type: int
token_digest:
  description: The sha256 of the token the module received.
  returned: success
  type: str
pipelined:
  description: True when the probe's answer proves the transport (set by the action plugin).
  returned: success
  type: bool
dispatched_at:
  description:
    - When the controller reached this node, in seconds since the epoch on the controller's clock (set by the action
      plugin). The spread of these times over every node is how long a round to every node takes; the stop role uses it
      for its stop gate (P(lookerops.encryption.stop_gate#filter)).
  returned: success
  type: float
"""

import hashlib
import os

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(token=dict(type='str', required=True, no_log=True)), supports_check_mode=True)
    module.exit_json(changed=False, euid=os.geteuid(),
                     token_digest=hashlib.sha256(module.params['token'].encode('utf-8')).hexdigest())


if __name__ == '__main__':
    main()
