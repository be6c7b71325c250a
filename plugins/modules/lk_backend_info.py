#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: lk_backend_info
short_description: Read what a Looker MySQL backend database holds
version_added: 0.1.0
description:
  - Connects to the Looker backend database (MySQL) with PyMySQL and reports the server version, how many tables,
    views, routines, triggers and events the database holds, and the bytes of table data.
  - Used before C(new_install) to prove that the database holds no Looker data yet (an instance with data is moved to
    AES-256-GCM by the migration, which backs it up first).
  - Reads only; changes nothing.
author:
  - lookerops.encryption contributors (@lookerops)
extends_documentation_fragment:
  - lookerops.encryption.attributes
  - lookerops.encryption.attributes.info_module
  - ansible.builtin.action_common_attributes
  - lookerops.encryption.mysql_backend
requirements:
  - PyMySQL on the host the module runs on
'''

EXAMPLES = r'''
- name: Does the backend hold data yet?
  lookerops.encryption.lk_backend_info:
    backend:
      creds_file: /home/looker/looker/looker-db.yml
  register: backend_info
'''

RETURN = r'''
backend:
  description: Where the database is (host, port, database, user; never the password).
  returned: success
  type: dict
server_version:
  description: The server's version string.
  returned: success
  type: str
objects:
  description: Numbers of C(tables), C(views), C(routines), C(triggers) and C(events) in the database.
  returned: success
  type: dict
data_bytes:
  description: Bytes of table data (C(information_schema.TABLES.DATA_LENGTH)).
  returned: success
  type: int
empty:
  description: True when the database holds no table, view, routine, trigger or event.
  returned: success
  type: bool
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lookerops.encryption.plugins.module_utils._looker.node import read_looker_db
from ansible_collections.lookerops.encryption.plugins.module_utils._module_call import run_call
from ansible_collections.lookerops.encryption.plugins.module_utils._mysql.config import BackendConfig, BackendError, backend_argument_spec
from ansible_collections.lookerops.encryption.plugins.module_utils._mysql.server import backend_info


def main():
    module = AnsibleModule(argument_spec=backend_argument_spec(), supports_check_mode=True)
    if not module.params['backend']:
        module.fail_json(msg='backend is required: the Looker backend database to read (see the module documentation).')
    run_call(module, lambda: dict(backend_info(BackendConfig.from_params(module.params['backend'], read_looker_db=read_looker_db)),
                                  changed=False), BackendError)


if __name__ == '__main__':
    main()
