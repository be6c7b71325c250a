#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lk_migrate_encryption
short_description: Run Looker's migrate_encryption task on a stopped node
version_added: 0.1.0
description:
  - Runs C(java -jar looker.jar migrate_encryption [-d CREDS]) as the Looker user in the Looker home, after sourcing
    C(lookerstart.cfg) in C(/bin/sh), so the JVM gets exactly the key settings Looker's startup script would give it. No secret is
    ever in argv.
  - Run it on ONE node after every node of the cluster is stopped. Refuses when Looker runs on this node or another
    C(looker.jar) task runs.
  - When Looker answers that other live nodes are connected to the backend database (a node stopped less than a minute ago),
    retries with backoff up to O(retries) times, reporting every attempt.
  - Maps the documented errors (no C(migrate_encryption) task before 6.4, missing backing keystore, wrong key size, key file not
    C(0400)) to a failure naming cause and remedy; any other non-zero exit fails with rc, stderr tail and log lines.
  - On O(timeout) the task is never stopped, because stopping it midway can corrupt the internal database; the module fails and
    names its pid. It runs in its own session, so it outlives the module.
  - Success returns the log lines written during the run (found by log position, safe across a log rotation) and the
    C(Starting migration from AES-128-CBC Legacy to AES-GCM-256) line; without that line (exit 0) the database was already
    migrated and nothing changed.
author:
  - lookerops.encryption contributors (@lookerops)
extends_documentation_fragment:
  - lookerops.encryption.attributes
  - ansible.builtin.action_common_attributes
  - lookerops.encryption.looker_node
  - lookerops.encryption.task_scope
  - lookerops.encryption.offline_task
attributes:
  check_mode:
    details: Checks the preconditions and reports the command it would run; runs nothing.
options:
  extra_args:
    description: Further arguments after the task (and C(-d)).
    type: list
    elements: str
    default: []
  retry_backoff:
    description: Factor applied to the delay after each retry.
    type: float
    default: 1.5
  retry_max_delay:
    description: Upper bound of one delay, in seconds.
    type: float
    default: 60
  require_key_settings:
    description: Refuse when C(lookerstart.cfg) gives Looker no key settings (or sets them without C(export)).
    type: bool
    default: true
seealso:
  - module: lookerops.encryption.lk_stop_cluster
  - module: lookerops.encryption.lk_log_evidence
"""

EXAMPLES = r"""
- name: Migrate the internal database to AES-256-GCM (one node, cluster stopped)
  lookerops.encryption.lk_migrate_encryption:
  become: true
  run_once: true
  register: migration

- name: Without -d although LOOKERARGS has one
  lookerops.encryption.lk_migrate_encryption:
    creds_file: none
  become: true
"""

RETURN = r"""
changed:
  description: True when the run wrote the migration start line.
  returned: always
  type: bool
command:
  description: The argv run (no secrets in it).
  returned: always
  type: list
  elements: str
  sample: ["java", "-jar", "looker.jar", "migrate_encryption", "-d", "/home/looker/looker/looker-db.yml"]
creds_file:
  description: The C(-d) file used, or null.
  returned: always
  type: str
attempts:
  description: One entry per attempt, C(attempt), C(rc), C(seconds), C(live_nodes).
  returned: always
  type: list
  elements: dict
log_lines:
  description: Log lines Looker wrote during the last attempt.
  returned: always
  type: list
  elements: str
migration_started:
  description: The C(Starting migration from AES-128-CBC Legacy to AES-GCM-256) line, or null.
  returned: always
  type: str
already_migrated:
  description: True when the task exited 0 without starting a migration.
  returned: always
  type: bool
duration_seconds:
  description: Seconds the run took, retries included.
  returned: always
  type: float
waited_seconds:
  description: Seconds waited before the first attempt (O(first_attempt_delay)).
  returned: when the task ran
  type: float
rc:
  description: Exit code of the last attempt.
  returned: when the task ended
  type: int
stderr_tail:
  description: Last lines of the task's stderr.
  returned: failure
  type: list
  elements: str
error:
  description:
    - Identifier of the documented error met (task_not_found, missing_keystore, key_size, key_file_mode), or live_nodes
      when Looker still saw other live nodes after every retry.
  returned: failure, for a documented error
  type: str
pid:
  description:
    - Pid of the C(migrate_encryption) task still running when O(timeout) ran out. It is not stopped (stopping it midway can corrupt the
      internal database); wait for it to finish, then run the module again.
  returned: failure, on timeout
  type: int
"""

from ansible_collections.lookerops.encryption.plugins.module_utils._looker.migrate import migrate_encryption, offline_task_module, run_offline_operation


def main():
    module, node = offline_task_module(dict(
        extra_args={'type': 'list', 'elements': 'str', 'default': []},
        retry_backoff={'type': 'float', 'default': 1.5},
        retry_max_delay={'type': 'float', 'default': 60},
        require_key_settings={'type': 'bool', 'default': True},
    ))
    params = module.params
    run_offline_operation(module, node, migrate_encryption, extra_args=params['extra_args'], retry_backoff=params['retry_backoff'],
                          retry_max_delay=params['retry_max_delay'], require_key_settings=params['require_key_settings'])


if __name__ == '__main__':
    main()
