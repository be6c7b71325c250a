#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lk_log_evidence
short_description: Find lines in a Looker node's log since a point in time
version_added: 0.1.0
description:
  - Reads C(log/looker.log) and its rotated files C(looker.log.YYYYMMDD) and C(looker.log.YYYYMMDD.gz), keeps the entries whose
    leading timestamp (C(YYYY-MM-DD HH:MM:SS.mmm +0000)) is at or after O(since) (continuation lines stay with their entry), in
    time order, and returns those matching O(pattern).
  - The procedure's evidence of the migration is C(grep GCM log/looker.log); that is the default pattern.
author:
  - lookerops.encryption contributors (@lookerops)
extends_documentation_fragment:
  - lookerops.encryption.attributes
  - lookerops.encryption.attributes.info_module
  - ansible.builtin.action_common_attributes
  - lookerops.encryption.looker_node
options:
  since:
    description:
      - UTC time, C(YYYY-MM-DD HH:MM:SS) or ISO 8601 (with C(Z) or an offset). Compares the node's log timestamps with this
        time, so a node whose clock is off misleads it; prefer O(after).
      - Exactly one of O(since) and O(after) is required.
    type: str
  after:
    description:
      - A log position as returned by M(lookerops.encryption.lk_node_info) in RV(lookerops.encryption.lk_node_info#module:log_position).
        Only lines written after it are read (across a rotation of C(looker.log)), whatever the node's clock says.
    type: dict
  pattern:
    description: Python regular expression searched in each line.
    type: str
    default: GCM
  required:
    description: Fail when no line matches.
    type: bool
    default: true
notes:
  - Only Looker's text log format is read (not C(--log-format=json)).
"""

EXAMPLES = r"""
- name: Prove the migration in the log
  lookerops.encryption.lk_log_evidence:
    since: "{{ migration_started_at }}"
    pattern: "AES-GCM-256"
  become: true
"""

RETURN = r"""
matched:
  description: The matching lines, in time order.
  returned: always
  type: list
  elements: str
count:
  description: Number of matching lines.
  returned: always
  type: int
files:
  description: Log files scanned.
  returned: always
  type: list
  elements: str
file_errors:
  description: Files that could not be read (path, error).
  returned: always
  type: list
  elements: dict
since:
  description: The O(since) time used, in UTC (null with O(after)).
  returned: always
  type: str
lines_since:
  description: Number of log lines at or after O(since) (or after O(after)).
  returned: always
  type: int
"""

from ansible_collections.lookerops.encryption.plugins.module_utils._looker.node import node_module
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.ops import log_evidence, run_operation


def main():
    module, node = node_module(dict(
        since={'type': 'str'},
        after={'type': 'dict'},
        pattern={'type': 'str', 'default': 'GCM'},
        required={'type': 'bool', 'default': True},
    ), mutually_exclusive=[('since', 'after')], required_one_of=[('since', 'after')])
    params = module.params
    run_operation(
        module, log_evidence, node, params['since'], pattern=params['pattern'], required=params['required'], after=params['after'])


if __name__ == '__main__':
    main()
