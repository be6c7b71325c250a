#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lk_peer_alive
short_description: Whether this node reaches another Looker node's /alive
version_added: 0.4.0
description:
  - One C(GET) of O(url), another node's C(/alive), from this node, with the same code the start gate
    (O(lookerops.encryption.lk_start#module:after_url)) uses. Preflight runs it on every node but the first one while
    Looker runs, to learn whether the others can start as soon as the first node answers.
  - Only whether it answers is read. HTTPS certificates are not verified (Looker's own is self-signed); nothing is sent.
  - Changes nothing.
author:
  - lookerops.encryption contributors (@lookerops)
extends_documentation_fragment:
  - lookerops.encryption.attributes
  - lookerops.encryption.attributes.info_module
  - ansible.builtin.action_common_attributes
options:
  url:
    description: The URL, for example C(https://10.0.0.5:9999/alive).
    type: str
    required: true
  timeout:
    description: Seconds to wait for an answer.
    type: float
    default: 3
"""

EXAMPLES = r"""
- name: Does this node reach the first node's /alive?
  lookerops.encryption.lk_peer_alive:
    url: https://10.0.0.5:9999/alive
  register: peer
"""

RETURN = r"""
alive:
  description:
    - C(state) up (HTTP 200), refused (connection refused, nothing listens) or error (any other answer, a timeout, no
      route); C(status), C(detail), C(url).
  returned: always
  type: dict
  sample: {"state": "up", "status": 200, "detail": "HTTP 200", "url": "https://10.0.0.5:9999/alive"}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lookerops.encryption.plugins.module_utils._looker.http import probe_url_alive


def main():
    module = AnsibleModule(argument_spec=dict(url={'type': 'str', 'required': True}, timeout={'type': 'float', 'default': 3}),
                           supports_check_mode=True)
    url = module.params['url']
    if not url.startswith(('http://', 'https://')):
        module.fail_json(msg='url must start with http:// or https://, not %r.' % url)
    module.exit_json(changed=False, alive=probe_url_alive(url, module.params['timeout']))


if __name__ == '__main__':
    main()
