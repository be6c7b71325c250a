#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: lk_backup
short_description: Verified backup of a Looker home or of the Looker backend database
version_added: 0.1.0
description:
  - Writes a verified backup before the encryption migration changes anything, as the migration procedure requires.
  - With O(what=home), streams the Looker home into C(<dest_dir>/<backup_id>/<name>-looker-home.tar.gz) with the same
    exclusions as the procedure's C(tar) command (GNU tar C(--exclude=NAME) semantics), plus a manifest
    C(<name>-looker-home.manifest.json).
  - With O(what=backend), writes a consistent logical dump of the MySQL backend database with the database's own
    client, C(mariadb-dump) or C(mysqldump), with C(--single-transaction), routines, triggers, events, C(--hex-blob),
    utf8mb4, UTC timestamps, no tablespaces and no GTID statements so that a non-SUPER user can dump and restore it),
    streamed through gzip to C(<dest_dir>/<backup_id>/backend-<database>.sql.gz) plus C(backend-<database>.manifest.json)
    (server and client versions, database, sizes, sha256, object counts, key check value).
  - The credentials reach the client only through a 0600 option file (C(--defaults-extra-file)) in a private 0700
    directory that is removed on every path; never through argv or the environment. A non-zero exit of the client or
    a dump without its C(-- Dump completed) trailer fails the backup, and nothing is left behind.
  - In check mode with O(what=backend), the client is found and the whole schema (without rows) is dumped to nowhere,
    which proves the client, the credentials and the privileges for every object type.
  - Files are written 0600 (directory 0700) atomically. The sha256 is computed while writing; afterwards the file is
    read back, the sha256 recomputed and every archive member (or the whole dump) decompressed so that the gzip CRCs
    are checked. RV(verified) is true only then.
  - Before anything is created, the free space in O(dest_dir) is compared with an estimate of the backup size plus
    O(free_space_margin_mb); the module refuses when it is not enough.
  - A re-run with the same O(backup_id) finds the existing backup, verifies it against its manifest and reports no
    change. An existing backup that does not verify is never overwritten; the module fails and says what to do.
  - A home backup never takes a temp file that an interrupted atomic write left (C(.<name>.XXXXXXXX.tmp), for example
    C(.lookerstart.cfg.k2x9_q1a.tmp)), because it may hold key material. This holds whatever O(excludes) says;
    RV(temp_files_left_out) names them (the next run of the module that owns the file removes them).
author:
  - lookerops.encryption contributors (@lookerops)
extends_documentation_fragment:
  - lookerops.encryption.attributes
  - ansible.builtin.action_common_attributes
  - lookerops.encryption.mysql_backend
attributes:
  check_mode:
    details:
      - Computes the estimate and the free-space verdict, reads an existing backup, writes nothing.
  diff_mode:
    support: partial
    details:
      - The diff shows metadata only (path, size, sha256, counts).
options:
  what:
    description:
      - What to back up.
    type: str
    required: true
    choices: [home, backend]
  looker_home:
    description:
      - The Looker home directory (holding C(looker.jar)). Used with O(what=home).
    type: path
    default: /home/looker/looker
  dest_dir:
    description:
      - Directory that receives C(<backup_id>/). Created 0700 when missing.
    type: path
    default: /var/backups/lookerops
  backup_id:
    description:
      - Identifier of this backup (a run id); letters, digits, C(_), C(.) and C(-).
    type: str
    required: true
  name:
    description:
      - Prefix of the home archive file names. Defaults to the node's hostname.
    type: str
  excludes:
    description:
      - GNU-tar-like exclude patterns. A pattern without C(/) excludes every path that has a component equal to
        (or matching, with shell wildcards) the pattern; a pattern with C(/) matches a trailing run of components.
      - The default is the list of the procedure's C(tar) command.
    type: list
    elements: str
    default: [.cache, log, .tmp, .snapshots, looker.jar, authorized_keys, dr-log, core]
  exclude_paths:
    description:
      - Absolute paths to leave out of the home archive (with everything below them), for example a key file that
        an operator put inside the Looker home.
    type: list
    elements: path
    default: []
  free_space_margin_mb:
    description:
      - Free space (MiB) that must remain in O(dest_dir) beyond the estimated backup size.
    type: int
    default: 64
  probe_seconds:
    description:
      - In check mode with O(what=home), measure for at most this many seconds how fast the node reads and compresses its
        home's own files as the backup does (nothing is written); RV(probe_bytes_per_second) is the result. 0 measures
        nothing. The downtime forecast divides the backup's estimate by it.
    type: float
    default: 0
  progress_file:
    description:
      - Outside check mode, a file where the module keeps how many bytes it has archived (O(what=home)) or dumped
        (O(what=backend)), then read back, and of how many (counts only, 0600, removed when the backup ends). Launched with C(async), the task's
        M(lookerops.encryption.lk_job_wait) with the same O(lookerops.encryption.lk_job_wait#module:progress_file) prints
        them while the backup runs. Unset, nothing is written.
    type: path
  key_check_value:
    description:
      - The key check value in force for the data being backed up (the migration marker's C(kcv), or a note such as
        C(legacy) before the first migration). Recorded in the manifest so that a restore knows which key the data needs.
    type: str
requirements:
  - For O(what=backend), PyMySQL on the node (C(python3-pymysql) on Debian) and the database client
    (C(mariadb-client) or C(default-mysql-client) on Debian).
notes:
  - Stop Looker before backing up its home, as the procedure says; the module does not stop it.
seealso:
  - module: lookerops.encryption.lk_restore
'''

EXAMPLES = r'''
- name: Back up the Looker home
  lookerops.encryption.lk_backup:
    what: home
    looker_home: /home/looker/looker
    backup_id: "{{ lookerops_run_id }}"
  become: true

- name: Back up the backend database (once per cluster)
  lookerops.encryption.lk_backup:
    what: backend
    backup_id: "{{ lookerops_run_id }}"
    backend:
      creds_file: /home/looker/looker/looker-db.yml
  run_once: true
  become: true
'''

RETURN = r'''
path:
  description: The archive or dump file.
  returned: always
  type: str
manifest_path:
  description: Its manifest (JSON).
  returned: always
  type: str
sha256:
  description: sha256 of the file (null in check mode when nothing exists yet).
  returned: always
  type: str
size:
  description: Size of the file in bytes.
  returned: always
  type: int
files:
  description: Number of regular files in the home archive.
  returned: when what=home
  type: int
temp_files_left_out:
  description: Temp files of interrupted atomic writes that the home archive left out (they may hold key material).
  returned: when what=home and an archive was written
  type: list
  elements: str
objects:
  description: Numbers of tables, views, routines, triggers and events in the database when it was dumped.
  returned: when what=backend
  type: dict
tool:
  description: The dump client used (C(path), C(flavor) mariadb or mysql, C(version), C(version_text)).
  returned: when what=backend
  type: dict
server_version:
  description: The server's C(VERSION()).
  returned: when what=backend
  type: str
verified:
  description: True when the file was read back and matched its manifest.
  returned: always
  type: bool
estimate_bytes:
  description: Estimated size used for the free-space check (null when an existing backup was found).
  returned: always
  type: int
free_bytes:
  description: Free bytes in the filesystem of O(dest_dir).
  returned: always
  type: int
probe_bytes_per_second:
  description:
    - In check mode with O(what=home) and O(probe_seconds), the bytes per second at which the node read and compressed
      its home's files; null when nothing was measured (no file data, or O(probe_seconds) 0).
  returned: check mode, what=home, when no backup of this id exists yet
  type: float
'''

import socket

from ansible_collections.lookerops.encryption.plugins.module_utils._backup.backend import BackendBackup
from ansible_collections.lookerops.encryption.plugins.module_utils._backup.errors import is_enospc
from ansible_collections.lookerops.encryption.plugins.module_utils._backup.home import DEFAULT_EXCLUDES, HomeBackup
from ansible_collections.lookerops.encryption.plugins.module_utils._backup.jobs import job_module, run_job


def main():
    module = job_module({
        'dest_dir': {'type': 'path', 'default': '/var/backups/lookerops'},
        'backup_id': {'type': 'str', 'required': True},
        'name': {'type': 'str'},
        'excludes': {'type': 'list', 'elements': 'str', 'default': list(DEFAULT_EXCLUDES)},
        'exclude_paths': {'type': 'list', 'elements': 'path', 'default': []},
        'free_space_margin_mb': {'type': 'int', 'default': 64},
        'key_check_value': {'type': 'str', 'no_log': False},
        'probe_seconds': {'type': 'float', 'default': 0},
        'progress_file': {'type': 'path'},
    })
    params = module.params
    margin = params['free_space_margin_mb'] * 1024 * 1024

    def disk_full(exc):
        if is_enospc(exc):
            return ('the filesystem of %s filled up while writing the backup (the partial file was removed): '
                    'free space there or choose another dest_dir (lookerops_backup_dir)' % params['dest_dir'])
        return None
    result = run_job(
        module,
        lambda: HomeBackup(params['looker_home'], params['dest_dir'], params['backup_id'], params['name'] or socket.gethostname(),
                           params['excludes'], params['exclude_paths'], margin, params['probe_seconds'],
                           params['progress_file']),
        lambda cfg: BackendBackup(cfg, params['dest_dir'], params['backup_id'], margin, params['key_check_value'],
                                  params['progress_file']),
        lambda job: job.run(check_mode=module.check_mode), 'backup', os_error=disk_full)
    if result['changed']:
        result['diff'] = {
            'before': {'path': result['path'], 'state': 'absent'},
            'after': {'path': result['path'], 'state': 'present', 'sha256': result.get('sha256'), 'size': result.get('size'),
                      'files': result.get('files'), 'objects': result.get('objects')},
        }
    module.exit_json(**result)


if __name__ == '__main__':
    main()
