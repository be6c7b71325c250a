# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption (controller side): whether a failed run may give service back by itself.

Not a public API. A pure decision on the run record (roles/lookerops/meta/run_record.yml), exposed to the playbooks as
the filter ``lookerops.encryption.service_restore``. Starting Looker again on the settings it had before is only safe
when Looker changed no record. That is known only when Looker's offline task did not run at all, or when Looker
refused it with one of its documented errors (the procedure's error list, or its live-nodes answer). The absence of
the "Starting migration" line proves nothing: another log path, JSON logging or a new wording hide it.
"""

from __future__ import annotations

from ansible_collections.lookerops.encryption.plugins.module_utils._looker.migrate import LIVE_NODES_ERROR
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.ops import KNOWN_ERRORS

# Looker's documented answers that come before it changes anything: the procedure's error list (no such task, the key
# cannot be found, has the wrong size, or its file the wrong mode; KNOWN_ERRORS) and the live-nodes refusal.
DOCUMENTED_REFUSALS = tuple(known[1] for known in KNOWN_ERRORS) + (LIVE_NODES_ERROR,)
# The job whose failure may give service back, and Looker's offline task it runs.
TASKS = {'migrate': 'migrate_encryption', 'rekey': 'rekey'}


def _answer(restore, reason):
    return {'restore': restore, 'reason': reason}


def service_state_line(run):
    """The failure summary's line on service after a migrate or rekey run that stopped the cluster: Looker runs on every
    node when the start had completed (the last node answered /alive) before the failure; otherwise why service was not
    given back. '' for a run that stopped nothing or of another job."""
    run = run or {}
    if (run.get('start') or {}).get('window_ended') is not None:
        return ('Looker runs on every node: the start completed (the last node answered /alive) before the failure; '
                'nothing was stopped again.')
    if run.get('job') in ('migrate', 'rekey') and 'stop' in run:
        return 'service not given back: %s.' % service_restore(run)['reason']
    return ''


def service_restore(run, check_mode=False):
    """{restore, reason}: whether the failed run ``run`` (its run record) starts the nodes again as it found them.

    ``restore`` is true only when the run stopped the cluster and Looker's task (migrate_encryption for migrate, rekey
    for rekey) either never ran or was refused with a documented error before it changed anything. Any other failure
    leaves the nodes stopped and fenced for a resume or a rollback; ``reason`` says why, for the failure summary.
    """
    run = run or {}
    job = run.get('job')
    if check_mode:
        return _answer(False, 'check mode: nothing was stopped or changed')
    if 'stop' not in run:
        return _answer(False, 'the cluster was not stopped by this run')
    if job not in TASKS:
        return _answer(False, 'a %s run does not give service back by itself' % (job or 'unknown'))
    task = TASKS[job]
    result = (run.get(job) or {}).get('result')
    if result is None:
        return _answer(True, 'the run failed before %s ran' % task)
    if not result.get('failed'):
        return _answer(False, '%s completed: the data is under the new settings' % task)
    if result.get('unreachable'):
        return _answer(False, 'the node running %s stopped answering: whether it changed records is unknown' % task)
    if result.get('pid') is not None:
        return _answer(False, '%s is still running (pid %s): it must finish, never be stopped' % (task, result['pid']))
    if job == 'migrate':
        if result.get('migration_started'):
            return _answer(False, 'migrate_encryption began changing records (%s)' % result['migration_started'])
        if result.get('attempts') == 0:
            return _answer(True, 'migrate_encryption was refused by the collection\'s own checks before Looker ran it')
    elif not result.get('task_ran', True):
        return _answer(True, 'Looker\'s rekey did not run past its refusal (other live nodes, or a check before it ran)')
    error = result.get('error')
    if error in DOCUMENTED_REFUSALS:
        return _answer(True, 'Looker refused %s with a documented error before changing anything (%s)' % (task, error))
    return _answer(False, '%s failed without one of Looker\'s documented refusals%s: it may have changed records (a '
                          'missing "Starting migration" line proves nothing), so the nodes stay stopped and fenced'
                   % (task, ' (error %s)' % error if error else ''))


# The service restore itself (roles/start/tasks/restore_service.yml). Which nodes run the rescue depends on the failure:
# every node when a task failed on one node (any_errors_fatal brings them all into the rescue), one node when a run_once
# task failed (Ansible takes the others out of the play). Each node in the rescue acts for itself, in parallel; the
# others are acted for by delegation. Only nodes that answered preflight are given service back.

def _failed(result):
    return bool(result.get('failed') or result.get('unreachable'))


def _up(result):
    return bool(result) and not (_failed(result) or result.get('skipped'))


def _node_of(result):
    item = result.get('item')
    return item.get('item') if isinstance(item, dict) else item


def _needs_reset(node):
    """Whether this run wrote the node's key settings where there were none: then they are put back (removed)."""
    env = (node or {}).get('node_env') or {}
    return bool(env.get('changed')) and env.get('key_identity_before') is None


def restore_service_plan(hosts, nodes, here):
    """The service restore's plan: who is given service back, and who acts for whom.

    ``hosts`` are the play's nodes in inventory order (the first is started first), ``nodes`` each one's ``lookerops_node``
    fact (``{}`` when it has none) and ``here`` whether each one is in this rescue. Returns lists of node names: ``hosts``,
    ``nodes`` (the nodes that answered preflight, given service back), ``first`` (the node started alone first, a list of
    at most one), ``reset_self`` and ``reset_delegated`` (whose key settings are put back, by the node itself or by
    delegation), ``start_self`` and ``start_delegated`` (the nodes started after the first, likewise).
    """
    hosts = list(hosts or [])
    node_of = dict(zip(hosts, list(nodes or []) + [{}] * len(hosts)))
    here_of = dict(zip(hosts, list(here or []) + [False] * len(hosts)))
    back = [host for host in hosts if (node_of[host] or {}).get('reachable')]
    return {
        'hosts': hosts,
        'nodes': back,
        'first': back[:1],
        'reset_self': [host for host in back if here_of[host] and _needs_reset(node_of[host])],
        'reset_delegated': [host for host in back if not here_of[host] and _needs_reset(node_of[host])],
        'start_self': [host for host in back[1:] if here_of[host]],
        'start_delegated': [host for host in back[1:] if not here_of[host]],
    }


def restore_service_env_failed(plan, delegated_results, self_results):
    """The nodes whose key settings could not be put back (they are not started).

    ``delegated_results`` are the loop results of the delegated reset, ``self_results`` each ``plan['reset_self']`` node's
    own result (``{}`` when it has none), in that order.
    """
    failed = [_node_of(result) for result in delegated_results or [] if _failed(result)]
    failed += [host for host, result in zip(plan['reset_self'], self_results or []) if _failed(result or {})]
    return failed


def restore_service_outcome(plan, first_results, delegated_results, self_results):
    """``{restored, not_restored}``: the nodes answering ``/alive`` again, and every other node of the play.

    ``first_results`` are the loop results of the first node's start, ``delegated_results`` those of the waits for the
    nodes acted for by delegation (each item the launch's result), ``self_results`` each ``plan['start_self']`` node's
    own wait result (``{}`` when it has none), in that order.
    """
    restored = [_node_of(result) for result in list(first_results or []) + list(delegated_results or []) if _up(result)]
    restored += [host for host, result in zip(plan['start_self'], self_results or []) if _up(result or {})]
    return {'restored': restored, 'not_restored': [host for host in plan['hosts'] if host not in restored]}
