# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the start gate, on a node other than the first one.

The node waits, fenced, until the first node answers ``/alive`` as this node reaches it, and then starts: the documented
order (the first node up before the others) kept by the nodes themselves, with no round of the controller between the
first node's ``/alive`` and the others' start. Preflight proved, while Looker ran, that this node reaches that address.

While it waits, the node holds its gate file, ``.lookerops-start-gate-<run id>`` in the Looker home (0600: the waiting
process's pid, the run id and the URL). Removing the file cancels the wait: the process ends within one poll, without
starting anything. A run that fails removes it (``lk_job_wait`` with ``remove_to_cancel``, until the job has ended), and
so does the preflight of any later run that holds the cluster's run lock (a start left waiting by a controller that died;
``lk_node_info`` lists the gate files as ``start_gates``). The wait also ends without starting when this run's fence is
gone (someone took the node over). It fails, so that the controller starts the node itself, when the first node's address
stops answering at all (no connection refused, which is what a stopped node answers) for ``unreachable_grace`` seconds,
and when the first node has not answered within ``timeout``.

This is not a public API; it may change without notice. Standard library only: it runs on the node.
"""

from __future__ import annotations

import json
import os
import time

from ansible_collections.lookerops.encryption.plugins.module_utils._looker.home import OperationFailed
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.http import probe_url_alive

GATE_PREFIX = '.lookerops-start-gate-'
# Half a second: the wait costs the others a quarter of a second on average, and the first node, while it starts, meets
# two connections a second from each other node, not five.
POLL_INTERVAL = 0.5
UNREACHABLE_GRACE = 30
GATE_FILE_LIMIT = 4096


def gate_file(home, run_id):
    """The gate file of ``run_id`` in the Looker home ``home``."""
    return os.path.join(home, GATE_PREFIX + run_id)


def _write_gate(path, run_id, url):
    """Write the gate file 0600 from the first byte, replacing one a dead process left."""
    tmp = '%s.%d.tmp' % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w', encoding='utf-8') as handle:
        json.dump({'pid': os.getpid(), 'run_id': run_id, 'url': url}, handle)
    os.replace(tmp, path)


def _read_gate(path):
    try:
        with open(path, encoding='utf-8') as handle:
            data = json.loads(handle.read(GATE_FILE_LIMIT))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _remove_own_gate(path):
    """Remove the gate file when it is still this process's (a later one may have replaced it)."""
    data = _read_gate(path)
    if data is not None and data.get('pid') == os.getpid():
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def read_gates(home, pid_alive):
    """The gate files in the Looker home: ``[{'name', 'run_id', 'pid', 'pid_alive'}]`` (``pid_alive(pid)`` decides)."""
    try:
        names = sorted(name for name in os.listdir(home) if name.startswith(GATE_PREFIX) and not name.endswith('.tmp'))
    except OSError:
        return []
    gates = []
    for name in names:
        data = _read_gate(os.path.join(home, name)) or {}
        pid = data.get('pid') if isinstance(data.get('pid'), int) else None
        gates.append({'name': name, 'run_id': data.get('run_id'), 'pid': pid, 'pid_alive': bool(pid) and pid_alive(pid)})
    return gates


def wait_for_first_node(node, run_id, url, timeout, poll_interval=POLL_INTERVAL, unreachable_grace=UNREACHABLE_GRACE,
                        clock=time.monotonic, sleep=time.sleep, probe=probe_url_alive):
    """Wait until ``url`` answers HTTP 200, holding the gate file. Returns ``{'open': True, 'waited_seconds'}`` then, or
    ``{'open': False, 'cancelled': reason, 'waited_seconds'}`` when the run gave up on the wait; raises OperationFailed
    otherwise."""
    path = gate_file(node.home, run_id)
    _write_gate(path, run_id, url)
    try:
        return _wait(node, run_id, url, timeout, path, poll_interval, unreachable_grace, clock, sleep, probe)
    finally:
        _remove_own_gate(path)


def _wait(node, run_id, url, timeout, path, poll_interval, unreachable_grace, clock, sleep, probe):
    began = clock()
    unreachable_since = None
    while True:
        waited = round(clock() - began, 3)
        gate = _read_gate(path)
        if gate is None or gate.get('pid') != os.getpid():
            return {'open': False, 'waited_seconds': waited,
                    'cancelled': 'the run cancelled this start (it removed %s)' % path}
        fence = node.fence.state(run_id)
        if not fence['ours']:
            return {'open': False, 'waited_seconds': waited,
                    'cancelled': 'the fence of this run is gone from %s (content now: %r): the node was taken over, '
                                 'so it is not started by this task' % (node.fence_file, fence['content'])}
        state = probe(url)
        if state['state'] == 'up':
            return {'open': True, 'waited_seconds': waited}
        if state['state'] == 'refused':
            unreachable_since = None
        elif unreachable_since is None:
            unreachable_since = clock()
        elif clock() - unreachable_since >= unreachable_grace:
            raise OperationFailed('this node has not reached the first node\'s /alive at %s for %ss (%s), though it '
                                  'did in preflight. The node was not started; the run starts it itself.'
                                  % (url, unreachable_grace, state['detail']), changed=False, waited_seconds=waited,
                                  gate_failed=True)
        if waited >= timeout:
            raise OperationFailed('the first node did not answer /alive at %s within %ss. This node was not started; '
                                  'start the first node, then this one.' % (url, timeout), changed=False,
                                  waited_seconds=waited, gate_failed=True)
        sleep(poll_interval)
