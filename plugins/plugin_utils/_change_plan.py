# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption (controller side): the change plan a check run writes for a change board.

Not a public API. Part of the report (``_report.py``) of a run in check mode that passed preflight: what a change
advisory board asks before a change, from the run record alone: the expected downtime and its parts (the forecast), the
blast radius, the point of no return, the rollback plan with its duration and what it discards, the pre-change
checklist as the facts preflight checked on this cluster, and the verification the run performs. Never key material:
keys are named by their check value or KMS identity.
"""

from __future__ import annotations

from ansible_collections.lookerops.encryption.plugins.plugin_utils._forecast import STATED

TASKS = {'migrate': 'migrate_encryption', 'rekey': 'rekey'}


def _seconds(value):
    try:
        return '%.0f s' % float(value)
    except (TypeError, ValueError):
        return 'unknown'


def _node_facts(hosts, nodes):
    node_of = dict(zip(hosts or [], nodes or []))
    return [(host, (node_of.get(host) or {}).get('info') or {}) for host in hosts or []]


def _time_source(times, part):
    """Where one node's ``part`` (stop or start) seconds come from: its own measured restarts, or the stated setting."""
    if times.get(part + '_source') == 'measured':
        count = times.get(part + '_measured') or 0
        return 'measured: longest of its last %s %s%s' % (count, part, 's' if count != 1 else '')
    return 'stated: %s' % STATED[part]


def _node_time_lines(forecast, hosts, first):
    """One line per node of the forecast: its stop and start seconds and where each comes from (none for a forecast made
    before it kept them)."""
    nodes = forecast.get('nodes') or {}
    lines = []
    for host in hosts:
        times = nodes.get(host)
        if not isinstance(times, dict):
            continue
        lines.append('%s%s: stop %s (%s), start %s (%s)' % (
            host, ' (first)' if host == first else '', _seconds(times.get('stop')), _time_source(times, 'stop'),
            _seconds(times.get('start')), _time_source(times, 'start')))
    return lines


def _rollback_seconds(forecast):
    """A rollback stops the nodes, restores every home (in parallel) and the backend, and starts them again: about the
    forecast window less Looker's live window and the task, with the restores in place of the backups."""
    if not forecast:
        return None
    parts = forecast.get('parts') or {}
    try:
        return sum(float(parts.get(name) or 0) for name in ('stop', 'backup', 'start_first', 'start_rest'))
    except (TypeError, ValueError):
        return None


def change_plan(run, hosts, nodes, settings=None):
    """The change plan of the run ``run`` (its record, from a check run), as ``[(title, [lines])]``; [] for a run that
    changes nothing (a cluster already migrated, a rekey already done) or a job without a plan of this kind."""
    run = run or {}
    settings = settings or {}
    job = run.get('job')
    forecast = run.get('forecast')
    if job not in TASKS or not forecast:
        return []
    task = TASKS[job]
    hosts = list(hosts or [])
    first = run.get('first_node') or (hosts[0] if hosts else '-')
    backend = run.get('backend') or {}
    backend_text = {
        'mysql_creds_file': 'the MySQL backend at %s (named by the -d file)' % (backend.get('host') or '?'),
        'looker_db_env': 'the MySQL backend at %s (named by LOOKER_DB)' % (backend.get('host') or '?'),
        'internal': "Looker's internal database in the home of %s" % first,
    }.get(backend.get('mode'), 'the backend the nodes name')
    backup_dir = settings.get('backup_dir') or 'lookerops_backup_dir'
    run_id = run.get('run_id') or '<run id>'
    plan = []

    parts = forecast.get('parts') or {}
    plan.append(('Expected downtime', [
        'window (first node stopped to the last node answering /alive): %s' % _seconds(forecast.get('window_seconds')),
        'parts: %s' % (forecast.get('text') or '-'),
        'stop %s; backups %s, overlapping Looker\'s live window %s; %s %s; start of %s %s; start of the others %s'
        % (_seconds(parts.get('stop')), _seconds(parts.get('backup')), _seconds(parts.get('live_window')), task,
           _seconds(parts.get('task')), first, _seconds(parts.get('start_first')), _seconds(parts.get('start_rest'))),
    ] + _node_time_lines(forecast, hosts, first)))

    if job == 'migrate':
        change = 'every encrypted record in %s is rewritten from AES-128-CBC to AES-GCM-256 under the new key' % backend_text
    else:
        rekey = run.get('rekey_plan') or {}
        change = 'Looker re-wraps its data key in %s from %s to %s' % (
            backend_text, rekey.get('old') or 'the old key', rekey.get('new') or 'the new key')
    plan.append(('Blast radius', [
        'every node of the group is down for the whole window: %s' % (', '.join(hosts) or '-'),
        change,
        'on every node: the key file (%s, 0400) and a managed block of key settings in lookerstart.cfg%s'
        % (settings.get('cmk_path') or 'lookerops_cmk_path', ' (or a systemd drop-in)' if settings.get('systemd_dropin') else ''),
        'backups written on every node under %s/%s (the Looker home of each, and the backend dump on %s)'
        % (backup_dir, run_id, first),
    ]))

    plan.append(('Point of no return', [
        'when %s starts on %s. Until then a failure gives service back as the run found it (old settings, first node '
        'first); from then on a failure leaves the nodes stopped and fenced, for a resume (the same command with '
        '-e lookerops_run_id=%s) or a rollback' % (task, first, run_id),
    ]))

    rollback_seconds = _rollback_seconds(forecast)
    plan.append(('Rollback plan', [
        'ansible-playbook -i <inventory> lookerops.encryption.rollback -e lookerops_run_id=%s' % run_id,
        'restores every Looker home and the backend from the backups this run takes after the stop, puts back the key '
        'settings the nodes had, and starts them on %s' % ('the legacy scheme' if job == 'migrate' else 'the old key'),
        'expected duration: about %s (stop, restores at the backups\' speed, starts)' % _seconds(rollback_seconds),
        'what it discards: everything Looker stored after the stop of this run (from the first start after the '
        'change until the rollback); once the run completed, the rollback refuses unless '
        '-e lookerops_rollback_discard_changes_since_run=true says so',
    ]))

    checklist = ['preflight passed on every node: nothing below was assumed, each was checked on this cluster just now']
    escrow = run.get('escrow_path')
    checklist.append('key escrow: %s (written with the vault password and read back before any node gets the key)'
                     % (escrow or 'per lookerops_cmk_escrow'))
    if backend.get('mode') in ('mysql_creds_file', 'looker_db_env'):
        checklist.append('backend dump: the dump client dumped the whole schema without rows (client, credentials and '
                         'privileges for every object type)')
    checklist.append('become without a tty: a no-op was sent to every node the way the key is sent (pipelined, with become)')
    checklist.append('free space: every node\'s backup fits in %s with its margin' % backup_dir)
    releases = ['%s %s' % (host, info.get('release') or 'unknown') for host, info in _node_facts(hosts, nodes)]
    checklist.append('releases: %s' % (', '.join(releases) or '-'))
    supervisors = sorted({sup.get('kind') for _host, info in _node_facts(hosts, nodes) for sup in info.get('supervisors') or []
                          if isinstance(sup, dict) and sup.get('kind')})
    checklist.append('restarts fenced: .deploying on every node%s' % (
        ' (supervisors found: %s)' % ', '.join(supervisors) if supervisors else ''))
    plan.append(('Pre-change checklist (checked)', checklist))

    verification = [
        'every node proven down before the backups: pid gone, /alive refused, no backend session of the node left',
        'every backup read back and its sha256 checked',
        'after the start: /alive on every node, %s first' % first,
    ]
    if job == 'migrate':
        verification.append('the log of %s since this run shows "Starting migration from AES-128-CBC Legacy to AES-GCM-256"'
                            % first)
    else:
        verification.append('the log of %s since this run shows Looker on GCM with the new key' % first)
    verification.append('every node marked with .lookerops-encryption.json (a second run changes nothing)')
    plan.append(('Verification the run performs', verification))
    return plan
