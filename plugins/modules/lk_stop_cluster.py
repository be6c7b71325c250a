#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lk_stop_cluster
short_description: Fence and gracefully stop one Looker node, and wait until it is really down
version_added: 0.1.0
description:
  - Meant to run on every node of a cluster in parallel (one task, all hosts), so the cluster stops as a whole, as the procedure
    requires before C(migrate_encryption).
  - First writes this run's C(.deploying) fence (unless O(fence=false)) so neither the startup script nor a supervisor
    (systemd, SysV, monit) starts Looker again.
  - When Looker runs, refuses before doing anything if a Looker task (C(java -jar looker.jar migrate_encryption), C(rekey), ...)
    runs on the node; such tasks are never killed.
  - Stops Looker with the documented local control call C(/control/stop?token=...) using C(.status_server_token) (never shown),
    then waits up to O(stop_timeout) until the pid in C(.tmp/looker.pid) is gone B(and) C(/alive) refuses connections. It never
    sends SIGKILL.
  - With a O(backend) and O(client_host), then waits until the backend database shows no session of the backend user from that
    host, so that C(migrate_encryption) does not meet a node that is still connected (the node needs PyMySQL).
  - When none of O(backend.creds_file), O(backend.looker_db), O(backend.host) is given, the node's own settings are used,
    C(-d)/C(--internal-db-creds) in its C(LOOKERARGS), else the C(LOOKER_DB) its C(lookerstart.cfg) exports.
  - Once a running Looker is down, appends RV(stop_seconds) with the UTC time to the node's restart history
    C(.lookerops-restarts.json) in the Looker home (the last 5 stops and the last 5 starts, JSON, written atomically, mode
    C(0600), owned by the Looker user; times only). M(lookerops.encryption.lk_node_info) reads it for the downtime forecast.
    A node that was not running, a stop that did not finish and check mode add nothing. A history that cannot be written
    is a warning, never a failure of the stop.
author:
  - lookerops.encryption contributors (@lookerops)
extends_documentation_fragment:
  - lookerops.encryption.attributes
  - ansible.builtin.action_common_attributes
  - lookerops.encryption.looker_node
  - lookerops.encryption.task_scope
  - lookerops.encryption.mysql_backend
  - ansible.builtin.action_common_attributes.flow
attributes:
  check_mode:
    details: Reports what it would do (fence, stop method) from reads only; writes (no restart history either) and stops nothing.
  action:
    support: full
    details: The action plugin notes when the result came back (RV(returned_at)).
  async:
    support: full
    details: The stop role launches the stops with C(async) when there are more nodes than forks.
  bypass_host_loop:
    support: none
options:
  run_id:
    description: Identifier of this run, written into the fence. Required unless O(fence=false).
    type: str
  fence:
    description: Write this run's C(.deploying) fence before stopping.
    type: bool
    default: true
  method:
    description:
      - V(control) calls C(/control/stop?token=...) itself and waits; when C(.status_server_token) is missing it falls back to
        V(script) (reported in RV(method_reason)).
      - V(script) runs C(./looker stop) as the Looker user. Not the default because the public startup script, run by a POSIX
        C(/bin/sh) such as dash, polls C(/alive) only once (its C({1..30}) loop is bash syntax) and then sends SIGTERM and at once
        SIGKILL when Looker still answers a second after the stop request; a killed node can leave work half done.
    type: str
    choices: [control, script]
    default: control
  stop_timeout:
    description: Seconds to wait for the node to be down (pid gone and C(/alive) refused). On timeout the task fails; nothing is killed.
    type: int
    default: 300
  supervisors:
    description:
      - V(report) only reports supervisors found; the fence keeps them from starting Looker (their start goes through the startup script).
      - V(pause) also runs C(monit unmonitor looker) before the stop (when monit is configured for Looker), and C(systemctl stop looker)
        after Looker is down (when a C(looker.service) unit exists), so systemd's view matches and its C(ExecStop) has nothing to kill.
    type: str
    choices: [report, pause]
    default: report
  client_host:
    description: The node's address as the backend database sees it (the host part of its sessions).
    type: str
  backend_timeout:
    description: Seconds to wait for the node's backend sessions to be gone.
    type: int
    default: 120
  delay:
    description:
      - Seconds to wait before anything else (the checks, the fence, the stop), at most 120. Not waited in check mode.
      - The stop role hands every node the seconds left until one instant, the stop gate
        (P(lookerops.encryption.stop_gate#filter)), so that the nodes keep serving while the controller reaches the last
        one and then stop together.
    type: float
    default: 0
notes:
  - The C(.deploying) fence stays after the stop; M(lookerops.encryption.lk_start) with C(unfence=true) or
    M(lookerops.encryption.lk_fence) with C(state=absent) removes it.
seealso:
  - module: lookerops.encryption.lk_fence
  - module: lookerops.encryption.lk_start
"""

EXAMPLES = r"""
- name: Stop every Looker node (in parallel) and wait for their backend sessions to end
  lookerops.encryption.lk_stop_cluster:
    run_id: "{{ lookerops_run_id }}"
    client_host: "{{ ansible_host }}"
    backend: {}
  become: true
"""

RETURN = r"""
changed:
  description: Whether a fence was written or Looker was stopped.
  returned: always
  type: bool
was_running:
  description: Whether Looker was running (live pid or C(/alive) not refused) when the task began.
  returned: always
  type: bool
fenced:
  description: Whether this run's fence is in place after the task.
  returned: always
  type: bool
fence_created:
  description: Whether the task created the fence.
  returned: always
  type: bool
method:
  description: How Looker was (or would be) stopped, control or script; null when it was not running.
  returned: always
  type: str
method_reason:
  description: Why the method differs from O(method), or null.
  returned: always
  type: str
stop_seconds:
  description: Seconds from the start of the task until the node was down.
  returned: always
  type: float
restart_recorded:
  description:
    - Whether this stop was appended to the node's restart history C(.lookerops-restarts.json). False when there was
      nothing to record (the node was not running, check mode) or the history could not be written (then a warning says
      why).
  returned: success
  type: bool
evidence:
  description:
    - State after the stop, C(pid), C(pid_alive), C(alive) (refused when down) and C(backend_sessions) (sessions of the
      backend user from O(client_host) left at the end, an empty list when they are gone, null when not checked).
  returned: always
  type: dict
supervisors:
  description: Supervisors found (kind, path).
  returned: always
  type: list
  elements: dict
supervisor_actions:
  description: Supervisor commands run with O(supervisors=pause) (argv, rc, output).
  returned: always
  type: list
  elements: dict
returned_at:
  description:
    - When the module's result came back to the controller, in seconds since the epoch on the controller's clock (set
      by the action plugin). The node was down before then; the stop role takes the latest over every node as the end of
      the stop, from which Looker's live window runs. Not returned by a stop launched with C(async).
  returned: success, when not launched with async
  type: float
backend_seconds:
  description: Seconds waited for the backend sessions to be gone.
  returned: when O(backend) and O(client_host) are given
  type: float
"""

import time

from ansible_collections.lookerops.encryption.plugins.module_utils._looker.home import LookerNodeError, OperationFailed
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.node import node_module
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.ops import run_operation, stop_node
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.proc import TASK_SCOPE_OPTION
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.restarts import record_stop
from ansible_collections.lookerops.encryption.plugins.module_utils._mysql.config import BackendConfig, BackendError, backend_argument_spec
from ansible_collections.lookerops.encryption.plugins.module_utils._mysql.server import connect, list_sessions


# The longest stop gate: the stop role never keeps a cluster waiting longer for its stop (plugin_utils/_gate.py).
MAX_DELAY = 120


def wait_for_gate(seconds):
    """The stop gate: every node of the cluster stops at the same instant."""
    time.sleep(seconds)


def wait_backend_sessions(node, params, timeout, interval=1.0):
    """Poll the backend until no session of its user from client_host remains; (sessions, seconds)."""
    backend = dict(params['backend'])
    if not (backend.get('creds_file') or backend.get('looker_db') or backend.get('host')):
        backend['creds_file'] = node.config.settings()['creds_file']
        if not backend['creds_file']:
            backend['looker_db'] = node.config.looker_db()
    cfg = BackendConfig.from_params(backend)
    t0 = time.monotonic()
    with connect(cfg) as conn:
        while True:
            sessions = list_sessions(conn, cfg.user, client_host=params['client_host'])
            elapsed = time.monotonic() - t0
            if not sessions or elapsed >= timeout:
                return sessions, cfg, round(elapsed, 3)
            time.sleep(interval)


def main():
    module, node = node_module(dict(
        backend_argument_spec(),
        run_id={'type': 'str'},
        fence={'type': 'bool', 'default': True},
        method={'type': 'str', 'choices': ['control', 'script'], 'default': 'control'},
        stop_timeout={'type': 'int', 'default': 300},
        supervisors={'type': 'str', 'choices': ['report', 'pause'], 'default': 'report'},
        client_host={'type': 'str'},
        backend_timeout={'type': 'int', 'default': 120},
        delay={'type': 'float', 'default': 0},
        task_scope=TASK_SCOPE_OPTION,
    ), required_if=[('fence', True, ('run_id',))], required_by={'client_host': ('backend',)})
    if not 0 <= module.params['delay'] <= MAX_DELAY:
        module.fail_json(msg='delay must be between 0 and %d seconds, not %s. Nothing was done.' % (MAX_DELAY, module.params['delay']))
    if module.params['delay'] and not module.check_mode:
        wait_for_gate(module.params['delay'])
    run_operation(module, stop_and_check_backend, node, module.params, module.check_mode, module.warn)


def stop_and_check_backend(node, params, check_mode, warn):
    """stop_node, then (with backend and client_host) wait until the backend shows no session of Looker from this host."""
    result = stop_node(node, run_id=params['run_id'], fence=params['fence'], method=params['method'],
                       stop_timeout=params['stop_timeout'], supervisor_action=params['supervisors'],
                       check_mode=check_mode, task_scope=params['task_scope'])
    # The node is down: its stop time goes into the node's restart history (never fails the stop, never in check mode).
    result = record_stop(node, result, check_mode, warn)
    if params['backend'] is None or not params['client_host'] or check_mode:
        return result
    try:
        sessions, cfg, seconds = wait_backend_sessions(node, params, params['backend_timeout'])
    except (BackendError, LookerNodeError) as exc:
        raise OperationFailed('Looker is down on this node, but its backend sessions could not be checked: %s' % exc,
                              **result) from None
    result['evidence']['backend_sessions'] = sessions
    result['backend_seconds'] = seconds
    if sessions:
        raise OperationFailed('Looker is down on this node, but the backend (%s) still shows %d session(s) of that user '
                              'from %s after %ss: a Looker process elsewhere on this host, or a pool the server has not '
                              'closed yet. Check evidence.backend_sessions, wait and run again (raise backend_timeout)'
                              % (cfg.where(), len(sessions), params['client_host'], params['backend_timeout']), **result)
    return result


if __name__ == '__main__':
    main()
