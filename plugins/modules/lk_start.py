#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lk_start
short_description: Start Looker on a node with its startup script and wait until /alive answers
version_added: 0.1.0
description:
  - Does nothing when C(/alive) already answers HTTP 200.
  - Refuses while C(.deploying) exists, unless O(unfence=true), which removes this run's fence (never someone else's) first.
  - Runs C(./looker start) as the Looker user in the Looker home (the script sources C(lookerstart.cfg) itself), does not trust
    its exit code (run by dash it exits 0 even when the JVM refused to start), and polls C(/alive) until O(timeout).
  - When the Looker process dies and the log says C(Looker can not start because:), fails at once with that line and its remedy.
  - On any failure gathers the evidence (log lines written since the start, pid state, C(/alive) probe, script output) and fails
    once with all of it. A Looker that is still starting is never killed.
  - When a live Looker pid exists but C(/alive) does not answer yet (a node still starting), the script is not run again; the
    module only waits.
  - After a start that ran the startup script and saw C(/alive) answer, appends its RV(alive_after_seconds) with the UTC time
    to the node's restart history C(.lookerops-restarts.json) in the Looker home (the last 5 starts and the last 5 stops, JSON,
    written atomically, mode C(0600), owned by the Looker user; times only). M(lookerops.encryption.lk_node_info) reads it
    for the downtime forecast. A node that already answered, a start that was only waited for, a failed start and check
    mode add nothing. A history that cannot be written is a warning, never a failure of the start.
author:
  - lookerops.encryption contributors (@lookerops)
extends_documentation_fragment:
  - lookerops.encryption.attributes
  - ansible.builtin.action_common_attributes
  - lookerops.encryption.looker_node
attributes:
  check_mode:
    details: Reports whether it would start (and unfence) from reads only; writes nothing (no restart history either).
options:
  run_id:
    description: Identifier of this run; with O(unfence=true) only a fence naming it is removed.
    type: str
  unfence:
    description: Remove this run's C(.deploying) fence before starting.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for C(/alive) to answer.
    type: int
    default: 600
  startup_grace:
    description:
      - Seconds to keep waiting after the startup script ended while no Looker process is alive and the log names no cause
        (the JVM may daemonize late); then the task fails with the evidence.
    type: int
    default: 60
  after_url:
    description:
      - The start gate. Before anything else, wait until this URL (the first node's C(/alive), as this node reaches it)
        answers HTTP 200, then start as usual. The start role launches it on every node but the first one before the
        migration, so that each starts as soon as the first node answers, with no round of the controller in between.
      - While it waits the node stays fenced, and the module holds its gate file C(.lookerops-start-gate-<run_id>) in the
        Looker home (mode C(0600); its pid, the run id and the URL). Removing the file cancels the wait within half a
        second, and nothing is started (RV(cancelled)); M(lookerops.encryption.lk_job_wait) with C(remove_to_cancel) does
        that for a run that fails, and the preflight of a later run removes a gate file left by a controller that died.
        The wait also ends without starting when this run's fence is gone.
      - It fails without starting when the URL has not answered at all (not even with a refused connection, which is what
        a stopped node answers) for 30 seconds, or when it has not answered HTTP 200 within O(after_timeout).
      - Only whether it answers is read, and nothing is sent. HTTPS certificates are not verified (Looker's own is self-signed).
      - Not waited for in check mode.
    type: str
  after_timeout:
    description: Seconds to wait for O(after_url).
    type: int
    default: 3600
"""

EXAMPLES = r"""
- name: Start the first node and wait until it answers
  lookerops.encryption.lk_start:
    run_id: "{{ lookerops_run_id }}"
    unfence: true
  become: true
"""

RETURN = r"""
changed:
  description: Whether Looker was started (or a fence removed).
  returned: always
  type: bool
started:
  description: Whether the startup script was run.
  returned: always
  type: bool
unfenced:
  description: Whether this run's fence was removed.
  returned: always
  type: bool
alive_after_seconds:
  description: Seconds until C(/alive) answered; 0 when it already did.
  returned: success
  type: float
pid:
  description: The pid in C(.tmp/looker.pid) after the start.
  returned: success
  type: int
restart_recorded:
  description:
    - Whether this start was appended to the node's restart history C(.lookerops-restarts.json). False when there was
      nothing to record (already up, only waited for, check mode) or the history could not be written (then a warning
      says why).
  returned: success
  type: bool
gate_waited_seconds:
  description: With O(after_url), the seconds waited for the first node to answer.
  returned: with O(after_url), outside check mode
  type: float
cancelled:
  description: With O(after_url), why the wait ended without starting (the gate file was removed, the fence was gone); null otherwise.
  returned: with O(after_url), outside check mode
  type: str
cannot_start:
  description: The C(Looker can not start because:) line of the log.
  returned: failure, when the log has one
  type: str
evidence:
  description: Log lines since the start, pid, pid_alive, alive probe, script rc and output tails.
  returned: failure
  type: dict
"""

from ansible_collections.lookerops.encryption.plugins.module_utils._looker.node import node_module
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.ops import run_operation, start_node
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.restarts import record_start
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.start_gate import wait_for_first_node


def start_and_record(module, node):
    """start_node, then its start time (when it ran the script and /alive answered) into the node's restart history."""
    params = module.params
    gate = None
    if params['after_url'] and not module.check_mode:
        node.require_home()
        gate = wait_for_first_node(node, params['run_id'], params['after_url'], params['after_timeout'])
        if not gate['open']:
            return {'changed': False, 'started': False, 'unfenced': False, 'cancelled': gate['cancelled'],
                    'gate_waited_seconds': gate['waited_seconds']}
    result = start_node(node, run_id=params['run_id'], unfence=params['unfence'], timeout=params['timeout'],
                        startup_grace=params['startup_grace'], check_mode=module.check_mode)
    if gate is not None:
        result.update(gate_waited_seconds=gate['waited_seconds'], cancelled=None)
    return record_start(node, result, module.check_mode, module.warn)


def main():
    module, node = node_module(dict(
        run_id={'type': 'str'},
        unfence={'type': 'bool', 'default': False},
        timeout={'type': 'int', 'default': 600},
        startup_grace={'type': 'int', 'default': 60},
        after_url={'type': 'str'},
        after_timeout={'type': 'int', 'default': 3600},
    ), required_if=[('unfence', True, ('run_id',))], required_by={'after_url': ('run_id',)})
    run_operation(module, start_and_record, module, node)


if __name__ == '__main__':
    main()
