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
