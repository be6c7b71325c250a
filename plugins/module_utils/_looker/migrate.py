# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the key operations on a stopped node (migrate_encryption, recovering the local CMK).

This is not a public API; it may change without notice. Standard library only: it runs on the node.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import time

from ansible_collections.lookerops.encryption.plugins.module_utils._key_material import KeyMaterialError, kcv_of_text
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.home import OperationFailed
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.node import node_module
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.ops import find_known_error, run_operation, tail, tasks_msg
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.proc import TASK_SCOPE_OPTION
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.user import CapturedOutput

# The options of the modules that run an offline task (documented by the offline_task doc fragment), and the
# run_offline_task keyword each one feeds.
OFFLINE_TASK_OPTIONS = dict(
    creds_file={'type': 'str'},
    jvm_args={'type': 'list', 'elements': 'str', 'default': []},
    retries={'type': 'int', 'default': 10},
    retry_delay={'type': 'float', 'default': 10},
    first_attempt_delay={'type': 'float', 'default': 0},
    timeout={'type': 'int', 'default': 3600},
    task_scope=TASK_SCOPE_OPTION,
    # Read by the action plugin on the controller, which waits for first_attempt_delay there.
    progress_interval={'type': 'float', 'default': 15},
)
CONTROLLER_OPTIONS = ('progress_interval',)


def offline_task_kwargs(params):
    """The run_offline_task keywords from a module's parameters."""
    return {name: params[name] for name in OFFLINE_TASK_OPTIONS if name not in CONTROLLER_OPTIONS}


def offline_task_module(options, **kwargs):
    """(AnsibleModule, LookerNode) of a module that runs one of Looker's offline tasks: the node options,
    OFFLINE_TASK_OPTIONS and the module's own ``options``."""
    return node_module(dict(OFFLINE_TASK_OPTIONS, **options), **kwargs)


def run_offline_operation(module, node, operation, *args, **kwargs):
    """Run ``operation(node, *args, **kwargs)`` (migrate_encryption, rekey) with the module's offline task options and
    check mode, and exit with its result or fail with its message."""
    run_operation(module, operation, node, *args, check_mode=module.check_mode, **offline_task_kwargs(module.params), **kwargs)


LIVE_NODES_MSG = 'There are other live nodes connected to this backend Looker database'
# The ``error`` of a task that Looker refused at every attempt because other nodes were live (a documented refusal).
LIVE_NODES_ERROR = 'live_nodes'
MIGRATION_STARTED_RE = re.compile(r'Starting migration from AES-128-CBC Legacy to AES-GCM-256')


def task_command(node, task, creds_file=None, extra_args=None, jvm_args=None):
    """(argv, creds) of an offline Looker task: ``creds_file`` None = from LOOKERARGS, 'none' = no -d."""
    if creds_file is None:
        creds = node.config.settings()['creds_file']
    elif creds_file == 'none':
        creds = None
    else:
        creds = creds_file
    argv = [node.java] + list(jvm_args or []) + ['-jar', 'looker.jar', task]
    if creds:
        argv += ['-d', creds]
    return argv + list(extra_args or []), creds


def migrate_encryption(node, creds_file=None, extra_args=None, jvm_args=None, retries=10, retry_delay=10.0,
                       retry_backoff=1.5, retry_max_delay=60.0, timeout=3600, require_key_settings=True,
                       check_mode=False, task_scope='host', first_attempt_delay=0.0):
    """Run ``java -jar looker.jar migrate_encryption [-d CREDS]`` as the Looker user with the startup settings."""
    task = OfflineTask('migrate_encryption', MIGRATION_STARTED_RE, require_key_settings=require_key_settings)
    try:
        result = run_offline_task(node, task, creds_file=creds_file, extra_args=extra_args, jvm_args=jvm_args,
                                  retries=retries, retry_delay=retry_delay, retry_backoff=retry_backoff,
                                  retry_max_delay=retry_max_delay, timeout=timeout, check_mode=check_mode,
                                  task_scope=task_scope, first_attempt_delay=first_attempt_delay)
    except OperationFailed as exc:
        exc.result['migration_started'] = exc.result.pop('task_started', None)
        exc.result['already_migrated'] = False
        raise
    result['migration_started'] = result.pop('task_started')
    result['already_migrated'] = not check_mode and not result['migration_started']
    return result


class OfflineTask:
    """An offline task of looker.jar (migrate_encryption, rekey): its name, the log line that says it began changing
    records, and the environment it runs with beyond lookerstart.cfg (``env``: secrets only ever here, never argv;
    ``unset``: settings of lookerstart.cfg the task must not see)."""

    def __init__(self, name, started_re, env=None, unset=(), require_key_settings=True):
        self.name = name
        self.started_re = started_re
        self.env = dict(env or {})
        self.unset = tuple(unset)
        self.require_key_settings = require_key_settings


def run_offline_task(node, task, creds_file=None, extra_args=None, jvm_args=None, retries=10, retry_delay=10.0,
                     retry_backoff=1.5, retry_max_delay=60.0, timeout=3600, check_mode=False, task_scope='host',
                     first_attempt_delay=0.0):
    """Run ``java -jar looker.jar TASK [-d CREDS]`` once for the cluster, as the Looker user with the startup settings.

    The first attempt waits ``first_attempt_delay`` seconds (what remains of Looker's live window, computed by the
    caller), then retries follow only Looker's answer that other nodes are live; never stops the task (stopping one midway can corrupt
    the internal database). The result's ``task_started`` is the first line matching ``task.started_re``, also on
    failure, so the caller knows whether records may have changed.
    """
    name = task.name
    node.require_home()
    argv, creds = task_command(node, name, creds_file, extra_args, jvm_args)
    base = {'changed': False, 'command': argv, 'creds_file': creds, 'attempts': [], 'log_lines': [],
            'task_started': None, 'duration_seconds': 0.0, 'waited_seconds': 0.0}
    if check_mode:
        # In check mode the stop and the key settings that come before this step were only
        # predicted, so a running node or absent key settings say nothing: report the run.
        base['changed'] = True
        return base
    state = node.down_state()
    if not state['down']:
        raise OperationFailed('Looker is running on this node (pid %s alive: %s, /alive: %s): %s needs '
                              'every node of the cluster stopped. Stop the cluster first (lk_stop_cluster)'
                              % (state['pid'], state['pid_alive'], state['alive'], name), **base)
    tasks = node.running_tasks(task_scope)
    if tasks:
        raise OperationFailed('a Looker task is already running: %s. Wait for it to finish (never kill it), then run '
                              'again' % tasks_msg(tasks), running_tasks=tasks, **base)
    if creds and not os.path.isfile(creds if os.path.isabs(creds) else os.path.join(node.home, creds)):
        raise OperationFailed('the credentials file %s (%s) does not exist: fix -d/--internal-db-creds in LOOKERARGS '
                              'or the creds_file option (none = no -d)'
                              % (creds, 'from LOOKERARGS' if creds_file is None else 'creds_file option'), **base)
    if task.require_key_settings:
        key = node.config.key_summary()
        if key['mode'] == 'none':
            raise OperationFailed('lookerstart.cfg gives Looker no key settings (LKR_MASTER_KEY_FILE, LKR_MASTER_KEY_ENV '
                                  'or AWS_REGION + LKR_AWS_CMK): put the key settings on every node first (the key '
                                  'role of this collection), or set require_key_settings=false', **base)
        if key['not_exported']:
            raise OperationFailed('lookerstart.cfg sets %s without exporting it, so the JVM would not see it: use '
                                  '`export NAME=...` there' % ', '.join(key['not_exported']), **base)
    t0 = time.monotonic()
    deadline = t0 + timeout
    if first_attempt_delay and first_attempt_delay > 0:
        time.sleep(min(float(first_attempt_delay), float(timeout)))
    base['waited_seconds'] = round(time.monotonic() - t0, 3)
    attempt = 0
    while True:
        attempt += 1
        position = node.log.log_position()
        output = CapturedOutput()
        a0 = time.monotonic()
        proc = node.runner.spawn(argv, output, env_extra=task.env or None, source_cfg=True, new_session=True,
                                 unset=task.unset)
        try:
            rc = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            output.close()
            base['attempts'].append({'attempt': attempt, 'rc': None, 'seconds': round(time.monotonic() - a0, 3),
                                     'live_nodes': False})
            base['duration_seconds'] = round(time.monotonic() - t0, 3)
            base['log_lines'] = node.log.lines_after(position)
            raise OperationFailed('%s did not finish within %ss; it is still running as pid %s and was '
                                  'NOT stopped (stopping it midway can corrupt the internal database). Wait for it to '
                                  'finish (watch log/looker.log; while it runs its output is /proc/%s/fd/1 and fd/2), then run '
                                  'this again' % (name, timeout, proc.pid, proc.pid), pid=proc.pid, **base)
        with output:
            out = output.read(limit=1048576)
        log_lines = node.log.lines_after(position)
        texts = out['stdout'].splitlines() + out['stderr'].splitlines() + log_lines
        live = any(LIVE_NODES_MSG in line for line in texts)
        seconds = round(time.monotonic() - a0, 3)
        base['attempts'].append({'attempt': attempt, 'rc': rc, 'seconds': seconds, 'live_nodes': live})
        base['log_lines'] = log_lines
        base['duration_seconds'] = round(time.monotonic() - t0, 3)
        # Whether Looker began changing records: also reported on failure, so the caller knows if service can
        # simply be given back (nothing changed) or the backups are needed.
        started = [line for line in log_lines + out['stdout'].splitlines() if task.started_re.search(line)]
        base['task_started'] = started[0] if started else None
        if live:
            delay = min(retry_max_delay, retry_delay * (retry_backoff ** (attempt - 1)))
            if attempt <= retries and time.monotonic() + delay < deadline:
                time.sleep(delay)
                continue
            raise OperationFailed('%s still reports other live nodes connected to the backend after %d '
                                  'attempt(s): a node of the cluster is running or stopped less than a minute ago. '
                                  'Verify every node is stopped (lk_stop_cluster on all nodes, and no other Looker '
                                  'connected to this backend database), then run again' % (name, attempt),
                                  error=LIVE_NODES_ERROR, stderr_tail=tail(out['stderr']), **base)
        known = find_known_error(texts)
        if known:
            raise OperationFailed('%s failed: %s (%s). %s' % (name, known[1], known[3], known[2]),
                                  error=known[0], rc=rc, stderr_tail=tail(out['stderr']), **base)
        if rc != 0:
            raise OperationFailed('%s exited with rc %s and no documented error: see stderr_tail and '
                                  'log_lines, fix the cause, then run again (the backups taken before this step '
                                  'are the way back)' % (name, rc), rc=rc, stderr_tail=tail(out['stderr']),
                                  stdout_tail=tail(out['stdout']), **base)
        base['changed'] = bool(started)
        base['rc'] = rc
        base['stdout_tail'] = tail(out['stdout'])
        return base


RECOVERED_KEY_FIELD = '_lookerops_recovered_key'


def recover_key(node, expected_kcv=None, transport_pad=None):
    """The local CMK Looker gets on this node, for lk_cmk's action plugin to escrow.

    The key never appears in the module's reply as it is: the reply holds the 32 key bytes XORed with
    ``transport_pad``, 32 random bytes the action plugin sent for this call only (a one-time pad), so
    that the reply, which Ansible prints at -vvvv, reveals nothing.
    """
    node.require_home()
    try:
        pad = base64.b64decode(transport_pad or '', validate=True)
    except (ValueError, TypeError):
        pad = b''
    if len(pad) != 32:
        raise OperationFailed('state=recovered needs transport_pad, 32 random bytes in base64 that the lk_cmk action plugin '
                              'sends; run it through the action plugin', changed=False)
    kind, text = node.config.key_text_in_force()
    if kind is None:
        raise OperationFailed('lookerstart.cfg in %s gives Looker no local key (neither LKR_MASTER_KEY_ENV nor LKR_MASTER_KEY_FILE): '
                              'there is no key on this node to recover' % node.home, changed=False)
    try:
        found = kcv_of_text(text)
    except KeyMaterialError as exc:
        raise OperationFailed('the key Looker gets on this node (%s) is not a valid CMK: %s' % (kind, exc), changed=False) from None
    if expected_kcv is not None and found != expected_kcv:
        raise OperationFailed('the key Looker gets on this node (%s) has %s, not the expected %s: the node changed since it was '
                              'read; run again' % (kind, found, expected_kcv), changed=False, kcv=found)
    raw = base64.b64decode(text.strip())
    sealed = base64.b64encode(bytes(a ^ b for a, b in zip(raw, pad))).decode('ascii')
    return {'changed': False, 'kcv': found, 'source': kind, RECOVERED_KEY_FIELD: sealed}
