#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lk_api_proof
short_description: Ask Looker, through its own API, whether every database connection's stored credentials still work
version_added: 0.2.0
description:
  - Logs in to Looker's API 4.0 with Looker's official Python SDK (C(looker-sdk), C(looker_sdk.init40)), reads the release
    (C(GET /versions)) and runs Looker's own connection test (C(PUT /connections/{name}/test)) on every database connection
    (C(GET /connections)).
  - A connection whose stored credentials do not decrypt fails its test; run before the stop and after the start, the two
    results tell whether the migration kept every stored credential readable.
  - The SDK's settings come from where the SDK reads them (its C(LOOKERSDK_BASE_URL), C(LOOKERSDK_CLIENT_ID),
    C(LOOKERSDK_CLIENT_SECRET), C(LOOKERSDK_VERIFY_SSL) and C(LOOKERSDK_TIMEOUT) environment variables, and the C(looker.ini)
    named by O(config_file)), with the options given here over them.
  - When nothing configures the API (no option, no C(looker.ini) named, no C(LOOKERSDK_*) variable), the module does nothing and
    returns RV(configured=false).
  - Runs on the controller (C(delegate_to=localhost), C(run_once=true)).
author:
  - lookerops.encryption contributors (@lookerops)
extends_documentation_fragment:
  - lookerops.encryption.attributes
  - lookerops.encryption.attributes.info_module
  - ansible.builtin.action_common_attributes
options:
  base_url:
    description: Looker's API address, for example C(https://looker.example.com:19999) (without C(/api/4.0)).
    type: str
  client_id:
    description: Client ID of an API key of a Looker admin user (one who may list and test every connection).
    type: str
  client_secret:
    description: Client secret of that API key. Never returned or logged.
    type: str
  verify_ssl:
    description:
      - Verify the API's TLS certificate. Looker's own self-signed certificate needs V(false).
      - When not given, the SDK's setting (C(LOOKERSDK_VERIFY_SSL) or the C(looker.ini)); the SDK's default is V(true).
    type: bool
  config_file:
    description: A C(looker.ini) file on the controller that holds the settings (the SDK's format).
    type: path
  section:
    description: Section of O(config_file) to read; the first one when not given.
    type: str
  timeout:
    description: Seconds each API call may take.
    type: int
    default: 120
requirements:
  - looker-sdk (Python, on the controller)
seealso:
  - name: Looker API authentication and the SDK's settings
    description: Client ID and secret, C(looker.ini) and the C(LOOKERSDK_*) variables.
    link: https://cloud.google.com/looker/docs/api-auth
"""

EXAMPLES = r"""
- name: Test every connection through Looker's API
  lookerops.encryption.lk_api_proof:
    base_url: https://looker.example.com:19999
    client_id: "{{ looker_client_id }}"
    client_secret: "{{ looker_client_secret }}"
  delegate_to: localhost
  run_once: true
  register: api_before
"""

RETURN = r"""
configured:
  description: Whether anything configures the API; when V(false) nothing else is returned and no call was made.
  returned: always
  type: bool
base_url:
  description: The API address used.
  returned: when configured
  type: str
release:
  description: Looker's release, from C(GET /versions).
  returned: when configured
  type: str
  sample: 25.6.30
connections:
  description: Every database connection, sorted by name, with the outcome of Looker's test of it.
  returned: when configured
  type: list
  elements: dict
  contains:
    name:
      description: The connection's name.
      type: str
    ok:
      description: Every test of the connection passed.
      type: bool
    message:
      description: Looker's messages (the failing tests' when any failed).
      type: str
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.lookerops.encryption.plugins.module_utils import _looker_api


def main():
    module = AnsibleModule(argument_spec=dict(
        base_url={'type': 'str'},
        client_id={'type': 'str'},
        client_secret={'type': 'str', 'no_log': True},
        verify_ssl={'type': 'bool'},
        config_file={'type': 'path'},
        section={'type': 'str'},
        timeout={'type': 'int', 'default': 120},
    ), supports_check_mode=True)
    if not _looker_api.is_configured(module.params):
        module.exit_json(changed=False, configured=False)
    if _looker_api.SDK_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib('looker-sdk', reason="for the proof through Looker's API"),
                         exception=_looker_api.SDK_IMPORT_ERROR)
    try:
        result = _looker_api.prove(module.params)
    except _looker_api.ApiProofError as exc:
        module.fail_json(msg=str(exc), configured=True)
    module.exit_json(changed=False, configured=True, **result)


if __name__ == '__main__':
    main()
