# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the operations the lk_* node modules run (info, fence, stop, start, log evidence).

This is not a public API; it may change without notice. Standard library only: it runs on the node.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

from ansible_collections.lookerops.encryption.plugins.module_utils._looker.fence import fence_content
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.home import LookerNodeError, OperationFailed
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.http import DEFAULT_API_PORT, api_release, control_stop
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.log import parse_since
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.proc import pid_alive, process_started_at, read_pid_file
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.restarts import read_history
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.settings import DEFAULT_PORT
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.start_gate import read_gates
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.user import CapturedOutput
from ansible_collections.lookerops.encryption.plugins.module_utils._module_call import run_call

CANNOT_START_MSG = 'Looker can not start because:'

# How often a stop or a start looks again at the pid and /alive: each look is a pid file read and one local HTTP
# request, and every second of granularity is a second of downtime on the nodes that wait for it.
POLL_INTERVAL = 0.2


def wait_until(predicate, timeout, interval=1.0):
    """Poll ``predicate`` until truthy or ``timeout`` seconds passed; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


# Documented errors (the procedure's error list): pattern, id, cause, remedy.
KNOWN_ERRORS = (
    (re.compile(r'Could not find task "migrate_encryption"'), 'task_not_found',
     'this Looker release has no migrate_encryption task (it exists from Looker 6.4)',
     'update Looker on every node to the same release, 6.4 or later, then run the migration again'),
    (re.compile(r'Missing backing keystore'), 'missing_keystore',
     'Looker cannot find the CMK',
     'check that the key settings in lookerstart.cfg are exported and correct: LKR_MASTER_KEY_FILE must name an '
     'existing key file readable by the Looker user (or LKR_MASTER_KEY_ENV / AWS_REGION + LKR_AWS_CMK must be set)'),
    (re.compile(r'Size of the Master Key is invalid'), 'key_size',
     'the CMK is not exactly 32 bytes',
     'the CMK must be the base64 of exactly 32 random bytes (openssl rand -base64 32); restore the escrowed key '
     'or distribute the right one to every node'),
    (re.compile(r'Permission for backing key file must be 0400'), 'key_file_mode',
     'the CMK file is not mode 0400',
     'chmod 0400 the file named by LKR_MASTER_KEY_FILE and make the Looker user its owner'),
)


def find_known_error(lines):
    """(id, cause, remedy, line) of the first documented error in ``lines``, or None."""
    for line in lines:
        for pattern, ident, cause, remedy in KNOWN_ERRORS:
            if pattern.search(line):
                return ident, cause, remedy, line.strip()
    return None


def tail(text, count=40):
    return text.splitlines()[-count:] if text else []


def node_info(node, run_id=None, api_port=DEFAULT_API_PORT):
    """Read-only facts about the node (never a key value)."""
    info = {'looker_home': node.home, 'looker_user': node.user}
    info.update(node.layout())
    try:
        node.runner.user_info()
        info['user_exists'] = True
    except LookerNodeError:
        info['user_exists'] = False
    info['release'] = node.release() if info['jar_present'] else None
    info['release_source'] = 'manifest' if info['release'] else None
    settings = None
    info['settings_error'] = None
    if info['home_exists'] and info['user_exists']:
        try:
            settings = node.config.settings()
        except LookerNodeError as exc:
            info['settings_error'] = str(exc)
    info['settings'] = settings
    for key in ('clustered', 'host_id', 'creds_file', 'shared_storage_dir', 'no_ssl'):
        info[key] = settings[key] if settings else None
    info['port'] = node.port_override or (settings['port'] if settings else DEFAULT_PORT)
    info.update(node.pid_state())
    # Since when the running Looker serves (epoch seconds): a rollback says what it would discard.
    info['started_at'] = process_started_at(info['pid']) if info.get('pid_alive') else None
    if settings is not None:
        info['alive'] = node.probe_alive()
        info['key'] = node.config.key_summary()
        info['key'].update(node.config.key_identity())
        info['key']['proven_by_start'] = _key_proven_by_start(node, info)
        if info['release'] is None and info['alive']['state'] == 'up':
            # No release in the manifest: a running node tells it through its API.
            info['release'] = api_release(api_port)
            info['release_source'] = 'api' if info['release'] else None
    else:
        info['alive'] = None
        info['key'] = None
    info['backend'] = _node_backend(node, settings)
    info['running_tasks'] = node.running_tasks()
    info['fence'] = node.fence.state(run_id)
    info['supervisors'] = node.supervisors()
    info['marker'] = node.read_marker()
    # The stops and starts the collection measured here earlier, for the downtime forecast (empty when none or unreadable).
    info['restarts'] = read_history(node.restarts_file)
    # Where the log ends now: later evidence is read from here on, never by comparing clocks.
    info['log_position'] = node.log.log_position()
    # Starts an earlier run left waiting for its first node (a controller that died): preflight cancels them.
    info['start_gates'] = read_gates(node.home, lambda pid: pid_alive(pid, looker_only=False)) if info['home_exists'] else []
    return info


def _key_proven_by_start(node, info):
    """Whether the running Looker proves that the key settings on disk open its data: it answers /alive and started
    after the last change of lookerstart.cfg and of the key file. None when Looker does not run here."""
    if not info.get('pid_alive') or (info.get('alive') or {}).get('state') != 'up':
        return None
    started = process_started_at(info['pid'])
    if started is None:
        return None
    paths = [node.p('lookerstart.cfg')]
    key_file = (info['key'].get('key_file') or {}).get('path')
    if key_file:
        paths.append(key_file if os.path.isabs(key_file) else os.path.join(node.home, key_file))
    for path in paths:
        try:
            # One second of slack: a file written just before the start may carry a coarser time stamp.
            if os.stat(path).st_mtime > started + 1:
                return False
        except OSError:
            return False
    return True


def _node_backend(node, settings):
    if settings is None:
        return None
    try:
        return node.config.backend()
    except LookerNodeError as exc:
        return {'mode': 'unknown', 'host': None, 'port': None, 'database': None, 'user': None, 'source': None, 'error': str(exc)}


def fence_op(node, state, run_id, force=False, check_mode=False):
    node.require_home()
    before = node.fence.state(run_id)
    if state == 'present':
        if before['present'] and not before['ours']:
            raise OperationFailed(node.fence.foreign_msg(before), fence=before)
        changed = not before['present']
        if changed and not check_mode:
            node.fence.create(run_id)
    else:
        if before['present'] and not before['ours'] and not force:
            raise OperationFailed('%s exists but was not written by run %s (content: %r). It is left in place: another '
                                  'deployment may own it. Remove it by hand once you know it is safe, or set force=true'
                                  % (node.fence_file, run_id, before['content']), fence=before)
        changed = before['present']
        if changed and not check_mode:
            node.fence.remove(run_id, force=force)
    after = before if check_mode else node.fence.state(run_id)
    return {'changed': changed, 'path': node.fence_file, 'before': before, 'fence': after,
            'diff': {'before': {'present': before['present'], 'content': before['content']},
                     'after': {'present': state == 'present',
                               'content': fence_content(run_id).strip() if state == 'present' else None}}}


def tasks_msg(tasks):
    return ', '.join('pid %s (%s, user %s)' % (t['pid'], t['task'], t['user']) for t in tasks)


def _supervisor_cmd(argv, timeout=60):
    try:
        # pylint: disable-next=ansible-bad-function
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout, check=False)
        return {'argv': argv, 'rc': proc.returncode, 'output': proc.stdout.decode('utf-8', 'replace').strip()[-500:]}
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {'argv': argv, 'rc': None, 'output': str(exc)}


def stop_node(node, run_id=None, fence=True, method='control', stop_timeout=300, supervisor_action='report',
              check_mode=False, poll_interval=POLL_INTERVAL, task_scope='host'):
    """Fence, then stop the node gracefully and wait until its pid is gone and /alive is refused."""
    node.require_home()
    t0 = time.monotonic()
    state = node.down_state()
    running = not state['down']
    supervisors = node.supervisors()
    result = {'changed': False, 'was_running': running, 'fenced': False, 'fence_created': False, 'method': None,
              'method_reason': None, 'supervisors': supervisors, 'supervisor_actions': [], 'stop_seconds': 0.0,
              'evidence': {'pid': state['pid'], 'pid_alive': state['pid_alive'], 'alive': state['alive'],
                           'backend_sessions': None}}
    if running:
        tasks = node.running_tasks(task_scope)
        if tasks:
            raise OperationFailed('a Looker task is running on this node: %s. Nothing was done. Never kill a running '
                                  'Looker task (stopping one midway can corrupt the internal database): wait for it '
                                  'to finish, then run again' % tasks_msg(tasks), running_tasks=tasks, **result)
    if fence:
        fstate = node.fence.state(run_id)
        if fstate['present'] and not fstate['ours']:
            raise OperationFailed(node.fence.foreign_msg(fstate), **result)
        result['fence_created'] = not fstate['present']
        if not check_mode and not fstate['present']:
            node.fence.create(run_id)
        result['fenced'] = True
        result['changed'] = result['fence_created']
    if running:
        token = node.read_token() if method == 'control' else None
        if method == 'control' and token is None:
            result['method'] = 'script'
            result['method_reason'] = '%s is missing or empty: fell back to ./looker stop' % node.token_file
        else:
            result['method'] = method
        result['changed'] = True
    if check_mode or not running:
        result['evidence']['pid_alive'] = state['pid_alive']
        return result
    if supervisor_action == 'pause':
        for sup in supervisors:
            if sup['kind'] == 'monit' and shutil.which('monit'):
                result['supervisor_actions'].append(_supervisor_cmd(['monit', 'unmonitor', 'looker']))
                break
    if result['method'] == 'control':
        result['control_call'] = control_stop(node.config.port(), node.config.scheme(), token)
    else:
        res = node.runner.run_as_user(['./looker', 'stop'], timeout=stop_timeout, source_cfg=False)
        result['script'] = {'rc': res['rc'], 'stdout': tail(res['stdout'], 20), 'stderr': tail(res['stderr'], 20),
                            'timed_out': res['timed_out']}
    remaining = max(0.0, stop_timeout - (time.monotonic() - t0))

    def _down():
        now = node.down_state()
        return now if now['down'] else None

    last = wait_until(_down, remaining, poll_interval) or node.down_state()
    result['stop_seconds'] = round(time.monotonic() - t0, 3)
    result['evidence'].update({'pid': last['pid'], 'pid_alive': last['pid_alive'], 'alive': last['alive']})
    if not last['down']:
        result['evidence']['alive_detail'] = last['alive_detail']
        result['evidence']['log_tail'] = node.log.tail(40)
        raise OperationFailed('Looker on this node did not stop within %ss (pid %s alive: %s, /alive: %s). It was not '
                              'killed: a long shutdown or an internal task may still be running. Check log/looker.log, '
                              'wait and run again (raise stop_timeout); the node stays fenced'
                              % (stop_timeout, last['pid'], last['pid_alive'], last['alive']), **result)
    if supervisor_action == 'pause':
        for sup in supervisors:
            if sup['kind'] == 'systemd' and shutil.which('systemctl'):
                # Only now, with Looker down: ExecStop (./looker stop) then finds nothing to kill.
                result['supervisor_actions'].append(_supervisor_cmd(['systemctl', 'stop', 'looker']))
                break
    return result


def _fail_evidence(node, position, output, proc, count=80):
    ev = node.down_state()
    out = output.read(limit=65536) if output else {'stdout': '', 'stderr': ''}
    return {'pid': ev['pid'], 'pid_alive': ev['pid_alive'], 'alive': ev['alive'], 'alive_detail': ev['alive_detail'],
            'log_lines': node.log.lines_after(position)[-count:], 'script_rc': proc.poll() if proc else None,
            'script_stdout': tail(out['stdout'], 20), 'script_stderr': tail(out['stderr'], 20)}


def start_node(node, run_id=None, unfence=False, timeout=600, startup_grace=60, check_mode=False, poll_interval=POLL_INTERVAL):
    """Start Looker with its startup script, unless /alive already answers; verify by /alive (not the exit code)."""
    node.require_home()
    alive = node.probe_alive()
    pid = node.pid_state()
    if alive['state'] == 'up':
        return {'changed': False, 'alive_after_seconds': 0.0, 'pid': pid['pid'], 'started': False, 'unfenced': False}
    fstate = node.fence.state(run_id)
    unfenced = False
    if fstate['present']:
        if not unfence:
            raise OperationFailed('%s exists (content: %r): Looker\'s startup script refuses to start while it does. '
                                  'Set unfence=true to remove this run\'s fence first, or finish the deployment that '
                                  'owns it' % (node.fence_file, fstate['content']), fence=fstate, changed=False)
        if not fstate['ours']:
            raise OperationFailed(node.fence.foreign_msg(fstate), fence=fstate, changed=False)
        unfenced = True
    if check_mode:
        return {'changed': True, 'alive_after_seconds': None, 'pid': pid['pid'], 'started': not pid['pid_alive'],
                'unfenced': unfenced}
    if unfenced:
        node.fence.remove(run_id)
    t0 = time.monotonic()
    position = node.log.log_position()
    output = CapturedOutput()
    proc = None
    try:
        if not pid['pid_alive']:
            proc = node.runner.spawn(['./looker', 'start'], output, source_cfg=False, new_session=True)
        dead_since = None
        while True:
            elapsed = time.monotonic() - t0
            if node.probe_alive()['state'] == 'up':
                return {'changed': True, 'alive_after_seconds': round(elapsed, 3), 'pid': read_pid_file(node.pid_file),
                        'started': proc is not None, 'unfenced': unfenced}
            script_done = proc is None or proc.poll() is not None
            pstate = node.pid_state()
            if script_done and not pstate['pid_alive']:
                lines = node.log.lines_after(position)
                bad = [line for line in lines if CANNOT_START_MSG in line]
                out = output.read()
                bad += [line for line in (out['stdout'] + out['stderr']).splitlines() if CANNOT_START_MSG in line]
                if bad:
                    known = find_known_error(bad)
                    remedy = known[2] if known else 'fix the cause named in that line, then start again'
                    raise OperationFailed('Looker did not start on this node: %s. %s' % (bad[0].strip(), remedy),
                                          changed=True, unfenced=unfenced, cannot_start=bad[0].strip(),
                                          evidence=_fail_evidence(node, position, output, proc))
                if dead_since is None:
                    dead_since = time.monotonic()
                elif time.monotonic() - dead_since >= startup_grace:
                    raise OperationFailed('Looker did not start on this node: the startup script ended and no Looker '
                                          'process has been alive for %ss (the script\'s exit code is not trusted). '
                                          'See the evidence (log lines, script output) and fix the cause, then start '
                                          'again' % startup_grace, changed=True, unfenced=unfenced,
                                          evidence=_fail_evidence(node, position, output, proc))
            else:
                dead_since = None
            if elapsed >= timeout:
                raise OperationFailed('Looker did not answer /alive within %ss (pid %s alive: %s). It was not killed: a '
                                      'long internal migration can outlive the start. Check log/looker.log, wait, and '
                                      'run again (it returns at once when /alive answers) or raise timeout'
                                      % (timeout, pstate['pid'], pstate['pid_alive']), changed=True, unfenced=unfenced,
                                      evidence=_fail_evidence(node, position, output, proc))
            time.sleep(min(poll_interval, max(0.05, timeout - elapsed)))
    finally:
        output.close()


def log_evidence(node, since, pattern='GCM', required=True, after=None):
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise OperationFailed('pattern %r is not a valid regular expression: %s' % (pattern, exc), changed=False) from None
    if after is not None:
        # A position in the log, not a time: right whatever the node's clock says.
        lines = node.log.lines_after(after)
        matched = [line for line in lines if regex.search(line)]
        result = {'changed': False, 'matched': matched, 'count': len(matched), 'files': [node.log_file], 'file_errors': [],
                  'since': None, 'lines_since': len(lines)}
        if required and not matched:
            raise OperationFailed('no log line matching %r was written to %s since this run read its position (%s lines read). '
                                  'Check that migrate_encryption really ran (its result), and that Looker writes text logs there '
                                  '(a --log-format=json log is not read)' % (pattern, node.log_file, len(lines)), **result)
        return result
    since_dt = parse_since(since)
    lines, scanned = node.log.log_lines_since(since_dt)
    matched = [line for line in lines if regex.search(line)]
    result = {'changed': False, 'matched': matched, 'count': len(matched), 'files': [s['path'] for s in scanned],
              'file_errors': [s for s in scanned if s['error']], 'since': since_dt.strftime('%Y-%m-%d %H:%M:%S'),
              'lines_since': len(lines)}
    if required and not matched:
        raise OperationFailed('no log line matching %r since %s UTC in %s. Check that since is UTC and earlier than the '
                              'run, that migrate_encryption really ran (its result), and that Looker writes text logs '
                              'to %s (a --log-format=json log is not read)'
                              % (pattern, result['since'], ', '.join(result['files']) or 'no log file (none found)',
                                 node.log_file), **result)
    return result


def run_operation(module, operation, *args, **kwargs):
    """Run one node operation for a module: exit with its result, or fail with its message (and partial result)."""
    run_call(module, lambda: operation(*args, **kwargs), (OperationFailed, LookerNodeError))
