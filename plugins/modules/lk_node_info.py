#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lk_node_info
short_description: Read-only facts about a customer-hosted Looker node
version_added: 0.1.0
description:
  - Reports the layout of a Looker node (home, C(looker.jar), C(looker-dependencies.jar), startup script), the release read from
    the C(looker.jar) manifest, the effective settings obtained by sourcing C(lookerstart.cfg) in C(/bin/sh) as the Looker user
    (C(LOOKERARGS), C(LOOKERPORT), C(JAVAARGS) and which key variables are set), the pid in C(.tmp/looker.pid) and whether it is a
    live Looker process, the C(/alive) probe, running Looker tasks, the C(.deploying) fence, process supervisors, a summary of the
    key settings, the collection marker C(.lookerops-encryption.json) and the node's restart history C(.lookerops-restarts.json)
    (the stop and start times M(lookerops.encryption.lk_stop_cluster) and M(lookerops.encryption.lk_start) measured here).
  - Never reports a key value; C(LKR_MASTER_KEY_ENV) is reported by presence only. Of C(LOOKER_DB) and of the C(-d) credentials
    file only the host, port, database and user are reported, never the password.
  - Runs as root on the node (C(become=true)); it sources C(lookerstart.cfg) as the Looker user, never as root.
author:
  - lookerops.encryption contributors (@lookerops)
extends_documentation_fragment:
  - lookerops.encryption.attributes
  - lookerops.encryption.attributes.info_module
  - ansible.builtin.action_common_attributes
  - lookerops.encryption.looker_node
options:
  run_id:
    description: When given, the C(ours) field of RV(fence) tells whether the C(.deploying) fence was written by this run.
    type: str
  api_port:
    description: Port of Looker's API on the node, asked for the release (C(GET /versions)) when the C(looker.jar) manifest names none.
    type: int
    default: 19999
  systemd_unit:
    description:
      - The systemd unit that runs Looker. When C(systemctl) answers and the unit is loaded, its effective environment
        (C(systemctl show -p Environment -p EnvironmentFiles) and the content of those files) is one of the sources of
        RV(key_sources). An empty string skips it.
    type: str
    default: looker.service
notes:
  - C(lookerstart.cfg) is sourced (executed) by C(/bin/sh) in a subshell as the Looker user, as Looker's startup script does.
seealso:
  - module: lookerops.encryption.lk_fence
"""

EXAMPLES = r"""
- name: Gather facts about the Looker node
  lookerops.encryption.lk_node_info:
  become: true
  register: looker_node

- name: Show the release and whether the node answers
  ansible.builtin.debug:
    msg: "{{ looker_node.release }} {{ looker_node.alive.state }}"
"""

RETURN = r"""
changed:
  description: Always false.
  returned: always
  type: bool
looker_home:
  description: The Looker home examined.
  returned: always
  type: str
looker_user:
  description: The Looker user.
  returned: always
  type: str
user_exists:
  description: Whether the Looker user exists.
  returned: always
  type: bool
home_exists:
  description: Whether O(looker_home) is a directory.
  returned: always
  type: bool
jar_present:
  description: Whether C(looker.jar) is present.
  returned: always
  type: bool
dependencies_jar_present:
  description: Whether C(looker-dependencies.jar) is present.
  returned: always
  type: bool
startup_script_present:
  description: Whether the startup script C(looker) is present.
  returned: always
  type: bool
internal_db_present:
  description: Whether Looker's internal database (C(.db/looker.script)) exists in the home, that is the instance has run and holds data.
  returned: always
  type: bool
lookerstart_cfg_present:
  description: Whether C(lookerstart.cfg) is present.
  returned: always
  type: bool
release:
  description:
    - Release from C(META-INF/MANIFEST.MF) of C(looker.jar) (first of Implementation-Version, Looker-Version, Bundle-Version).
    - When the manifest names none and the node is running, the C(looker_release_version) its API answers to C(GET /versions)
      on O(api_port). Null when neither tells.
  returned: always
  type: str
  sample: "24.0.12"
release_source:
  description: Where RV(release) came from, C(manifest) or C(api); null when unknown.
  returned: always
  type: str
settings:
  description: Effective settings from sourcing C(lookerstart.cfg); null when they could not be read (see RV(settings_error)).
  returned: always
  type: dict
  sample: {"lookerargs": "--clustered -H node1 -d /home/looker/looker/looker-db.yml", "port": 9999, "clustered": true}
settings_error:
  description: Why the settings could not be read, or null.
  returned: always
  type: str
clustered:
  description: Whether C(LOOKERARGS) has C(--clustered).
  returned: always
  type: bool
host_id:
  description: The C(-H)/C(--hostname) value of C(LOOKERARGS).
  returned: always
  type: str
creds_file:
  description: The C(-d)/C(--internal-db-creds) file of C(LOOKERARGS), made absolute against the Looker home.
  returned: always
  type: str
shared_storage_dir:
  description: The C(--shared-storage-dir) value of C(LOOKERARGS).
  returned: always
  type: str
no_ssl:
  description: Whether C(LOOKERARGS) has C(--no-ssl) (then C(/alive) is plain http).
  returned: always
  type: bool
port:
  description: Port used for C(/alive).
  returned: always
  type: int
pid:
  description: The pid in C(.tmp/looker.pid), or null.
  returned: always
  type: int
pid_alive:
  description: Whether that pid is a live process whose command line mentions C(looker.jar).
  returned: always
  type: bool
started_at:
  description: When the running Looker (RV(pid)) started, in epoch seconds; null when it does not run.
  returned: always
  type: float
stale:
  description: True when a pid file exists but its process is gone (a stale pid file).
  returned: always
  type: bool
alive:
  description: The C(/alive) probe, C(state) up (HTTP 200), refused, or error with C(detail).
  returned: always
  type: dict
  sample: {"state": "refused", "status": null, "detail": "connection refused", "url": "https://127.0.0.1:9999/alive"}
key:
  description:
    - Key settings summary, C(mode) file, env, aws, multiple or none; C(not_exported) lists variables set but not exported;
      C(key_file) the path, existence, octal mode and owner of the C(LKR_MASTER_KEY_FILE) file. Never a key value.
    - C(identity) says which key Looker gets, without revealing it, C(kcv1:...) (the key check value of a local key, from
      C(LKR_MASTER_KEY_ENV) or the key file) or C(kms:<region>/<alias>/<context>); null without key settings. C(kind) is
      C(env), C(file) or C(aws_kms); C(error) says why a local key could not be read or is invalid.
    - C(proven_by_start) is true when the running Looker answers C(/alive) and started after the last change of
      C(lookerstart.cfg) and of the key file, so the key settings on disk are the ones that open its data; false when one of
      them changed since; null when Looker does not run on the node.
  returned: always
  type: dict
running_tasks:
  description: Processes running C(java -jar looker.jar TASK) with a task other than start (pid, task, user, jar).
  returned: always
  type: list
  elements: dict
fence:
  description: The C(.deploying) fence, C(present), C(content), C(collection) (written by this collection), C(run_id), C(ours).
  returned: always
  type: dict
supervisors:
  description: Supervisors found that can restart Looker (kind systemd, sysv or monit, and the path).
  returned: always
  type: list
  elements: dict
log_position:
  description:
    - Where C(log/looker.log) ends now (inode, offset, a digest of its first bytes, path). Give it to
      M(lookerops.encryption.lk_log_evidence) as O(lookerops.encryption.lk_log_evidence#module:after) to read only what Looker
      logged later, whatever the node's clock says.
  returned: always
  type: dict
backend:
  description:
    - The backend database the node's settings name. C(mode) mysql_creds_file (C(-d)/C(--internal-db-creds) in C(LOOKERARGS)),
      looker_db_env (C(LOOKER_DB) exported by C(lookerstart.cfg)), internal (neither; Looker's HyperSQL database in C(.db/)),
      or unknown when the settings could not be read; C(host), C(port), C(database), C(user), C(ssl), C(source) (the
      credentials file, or C(LOOKER_DB)) and C(error) (why the credentials could not be read). Never the password.
    - Null when the settings could not be read.
  returned: always
  type: dict
  sample: {"mode": "mysql_creds_file", "host": "10.0.0.5", "port": 3306, "database": "looker", "user": "looker",
           "ssl": false, "source": "/home/looker/looker/looker-db.yml", "error": null}
marker:
  description: Content of the collection marker C(.lookerops-encryption.json) in the Looker home, or null.
  returned: always
  type: dict
start_gates:
  description:
    - The gate files of starts that wait for the first node (O(lookerops.encryption.lk_start#module:after_url)),
      C(.lookerops-start-gate-<run id>) in the Looker home, each with C(name), C(run_id), C(pid) and C(pid_alive). One
      left by a run whose controller died keeps a start waiting; preflight removes it, which cancels that start.
  returned: always
  type: list
  elements: dict
restarts:
  description:
    - The node's restart history C(.lookerops-restarts.json) in the Looker home, as written by
      M(lookerops.encryption.lk_stop_cluster) and M(lookerops.encryption.lk_start) after each stop of a running Looker and
      each start that reached C(/alive); the downtime forecast takes each node's stop and start times from it.
    - C(stops) and C(starts) list the last 5 measurements of each, oldest first, each with C(utc) (when, UTC) and C(seconds).
    - A missing file gives empty lists; an unreadable or malformed file (or a symbolic link, which is not followed) gives
      empty lists and C(error), which says why; malformed entries are left out. Never a failure.
  returned: always
  type: dict
  sample: {"stops": [{"utc": "2026-03-01T02:00:05Z", "seconds": 11.8}],
           "starts": [{"utc": "2026-03-01T02:04:40Z", "seconds": 96.2}], "error": null}
key_sources:
  description:
    - Every place Looker reads its key on the node, compared; identities only (C(kcv1:...) or
      C(kms:<region>/<alias>/<context>)), never key text. Null when the settings could not be read.
    - C(sources) lists C(lookerstart.cfg) (sourced as the Looker user), the systemd unit's effective environment (when
      systemd runs and O(systemd_unit) is loaded) and the running Looker's own environment (C(/proc/<pid>/environ) of the
      pid in C(.tmp/looker.pid), read as root), each with C(source), C(name), C(settings) (the key variables it sets),
      C(identities) and C(errors).
    - C(problem) says, when they disagree (the unit or the running Looker names a key that C(lookerstart.cfg) does not
      show, a source names two keys, or a source cannot be read), which source says what and what to do; null when they
      agree. C(identity) is the key they agree on, or null.
  returned: always
  type: dict
  sample: {"identity": "kcv1:0123456789abcdef", "problem": null,
           "sources": [{"source": "lookerstart.cfg", "name": "lookerstart.cfg", "settings": ["LKR_MASTER_KEY_FILE"],
                        "identities": ["kcv1:0123456789abcdef"], "errors": []}]}
"""

from ansible_collections.lookerops.encryption.plugins.module_utils._key_sources import DEFAULT_SYSTEMD_UNIT, key_sources
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.home import LookerNodeError, OperationFailed
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.node import node_module
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.ops import node_info


def main():
    module, node = node_module(dict(run_id={'type': 'str'}, api_port={'type': 'int', 'default': 19999},
                                    systemd_unit={'type': 'str', 'default': DEFAULT_SYSTEMD_UNIT}))
    try:
        result = node_info(node, run_id=module.params['run_id'], api_port=module.params['api_port'])
        result['key_sources'] = key_sources(node, module.params['systemd_unit']) if result['settings'] is not None else None
    except (LookerNodeError, OperationFailed) as exc:
        module.fail_json(msg=str(exc), changed=False)
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
