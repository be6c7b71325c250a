#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: lk_restore
short_description: Restore a Looker home or the Looker backend database from a verified lk_backup backup
version_added: 0.1.0
description:
  - Restores a backup written by M(lookerops.encryption.lk_backup). The file is first checked against its manifest
    (sha256, complete decompression); nothing is touched when it does not match.
  - Refuses while a Looker JVM is running from O(looker_home) (the pid in C(.tmp/looker.pid) is alive).
  - With O(what=home), the archive is extracted next to the home (ownership and modes as in the archive; run as
    root), the current home is renamed to C(<looker_home>.pre-restore-<backup_id>-<UTC timestamp>) and the restored
    tree takes its place. Paths the backup excluded (C(looker.jar), C(log), C(.tmp), ...) are then moved back from
    the renamed home, so they stay as they were. Nothing is deleted; whatever was replaced or removed stays in the
    C(.pre-restore-) directory, except the key material (the escrow holds the key).
  - The C(.pre-restore-) copy loses its key settings. The managed block of its C(lookerstart.cfg) goes, as does any other
    line that sets C(LKR_MASTER_KEY_ENV), which becomes a comment. So do the key file that block names when the file lies
    inside the home, and the temp files that interrupted writes of either left. RV(aside_key_material_removed) lists them.
  - With O(what=backend), the dump is fed to the database's own client (C(mariadb) or C(mysql)) into the configured
    database; every table, view, routine, trigger and event in the dump is dropped and recreated (tables that are not in
    the dump are left alone). The credentials reach the client only through a 0600 option file in a private 0700
    directory that is removed on every path. Refuses while other sessions of the backend user are connected (a Looker
    node may still be running), and when the manifest names another database than the backend settings.
  - O(backup_path) may name the manifest (C(.manifest.json)) instead of the file; the file is then the one the manifest
    names, so a rollback never guesses a file name.
  - A restore always reports a change; it is meant to be run on purpose, not on every play.
author:
  - lookerops.encryption contributors (@lookerops)
extends_documentation_fragment:
  - lookerops.encryption.attributes
  - ansible.builtin.action_common_attributes
  - lookerops.encryption.mysql_backend
attributes:
  check_mode:
    details:
      - Verifies the backup and the preconditions, reports what would be done, changes nothing.
options:
  what:
    description:
      - What to restore.
    type: str
    required: true
    choices: [home, backend]
  backup_path:
    description:
      - The C(.tar.gz) (home) or C(.sql.gz) (backend) file; its C(.manifest.json) must sit beside it.
      - For O(what=backend) also the manifest itself.
    type: path
    required: true
  looker_home:
    description:
      - The Looker home to restore (O(what=home)) or whose Looker must not be running (both).
    type: path
    default: /home/looker/looker
  verify_only:
    description:
      - Only check the backup against its manifest (sha256, complete decompression, the archive or database it belongs to)
        and return what it holds; nothing is touched and Looker may be running. A rollback checks every backup this way
        before it stops anything.
    type: bool
    default: false
  keep_replaced:
    description:
      - Keep whatever the restore replaces or removes. Always true in effect; V(false) is refused so that a restore
        never deletes anything.
    type: bool
    default: true
requirements:
  - For O(what=backend), PyMySQL on the node (C(python3-pymysql) on Debian) and the database client
    (C(mariadb-client) or C(default-mysql-client) on Debian).
seealso:
  - module: lookerops.encryption.lk_backup
'''

EXAMPLES = r'''
- name: Restore the Looker home from the pre-migration backup
  lookerops.encryption.lk_restore:
    what: home
    backup_path: /var/backups/lookerops/run1/looker1-looker-home.tar.gz
    looker_home: /home/looker/looker
  become: true

- name: Restore the backend database
  lookerops.encryption.lk_restore:
    what: backend
    backup_path: /var/backups/lookerops/run1/backend-looker.manifest.json
    backend:
      creds_file: /home/looker/looker/looker-db.yml
  run_once: true
  become: true
'''

RETURN = r'''
created_utc:
  description: When the backup was written, from its manifest (C(YYYY-MM-DDTHH:MM:SSZ)).
  returned: when verify_only
  type: str
verified:
  description: True when the backup matched its manifest.
  returned: when verify_only
  type: bool
sha256:
  description: sha256 of the backup file (matched its manifest).
  returned: always
  type: str
backup_id:
  description: The backup id from the manifest.
  returned: always
  type: str
moved_aside:
  description: Where the previous home was moved (null when there was none).
  returned: when what=home
  type: str
kept_in_place:
  description: Paths (relative to the home) that the backup excluded and that were kept from the previous home.
  returned: when what=home
  type: list
  elements: str
files:
  description: Number of regular files restored.
  returned: when what=home
  type: int
aside_key_material_removed:
  description:
    - What was removed from the C(.pre-restore-) copy (relative to it), in check mode what would be; see the description.
  returned: when what=home and there was a previous home
  type: list
  elements: str
  sample: ['lookerstart.cfg (managed key settings block)', '.lookerstart.cfg.k2x9_q1a.tmp']
objects:
  description: Numbers of tables, views, routines, triggers and events in the database after the restore.
  returned: when what=backend
  type: dict
backup_path:
  description: The dump file that was restored (the one the manifest names).
  returned: when what=backend
  type: str
key_check_value:
  description: The key check value the manifest recorded for the restored data.
  returned: when what=backend
  type: str
'''

from ansible_collections.lookerops.encryption.plugins.module_utils._backup.backend import BackendRestore
from ansible_collections.lookerops.encryption.plugins.module_utils._backup.home import HomeRestore
from ansible_collections.lookerops.encryption.plugins.module_utils._backup.jobs import job_module, run_job


def main():
    module = job_module({
        'backup_path': {'type': 'path', 'required': True},
        'verify_only': {'type': 'bool', 'default': False},
        'keep_replaced': {'type': 'bool', 'default': True},
    })
    params = module.params
    if not params['keep_replaced']:
        module.fail_json(msg='keep_replaced=false is not supported: a restore never deletes what it replaces. Remove the '
                             '.pre-restore- directory yourself once you no longer need it.')
    result = run_job(
        module,
        lambda: HomeRestore(params['backup_path'], params['looker_home']),
        lambda cfg: BackendRestore(cfg, params['backup_path'], params['looker_home']),
        lambda job: job.verify() if params['verify_only'] else job.run(check_mode=module.check_mode), 'restore')
    module.exit_json(**result)


if __name__ == '__main__':
    main()
