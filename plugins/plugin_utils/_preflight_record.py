# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption (controller side): what preflight writes into the run record. Not a public API.

Preflight opens the run record (roles/lookerops/meta/run_record.yml) and names what the run works with:

- :func:`run_opening`: the run id, the job, the nodes, the controller and the start time, and the problems of the names
  that become paths (the run id, the node names);
- :func:`cluster_names`: the cluster's id, its run lock, and the escrow files of its key (the rules are in
  ``module_utils/_cluster_names.py``, shared with the modules);
- :func:`backend_record` and :func:`backend_plan`: the backend the first node names and how the backup and restore
  phases reach it, and one line per node saying how this run backs its backend up;
- :func:`run_summary`: whether the cluster still needs the migration, and the sentence that says what the run does.

Each takes one dict of facts (see its docstring); the facts of every node come as ``hostvars`` (see ``_preflight_facts``).
"""

from __future__ import annotations

import datetime
import os

from ansible_collections.lookerops.encryption.plugins.module_utils._cluster_names import (
    cluster_id,
    default_escrow_path,
    lock_path,
    next_escrow_path,
)
from ansible_collections.lookerops.encryption.plugins.module_utils._names import name_problem
from ansible_collections.lookerops.encryption.plugins.plugin_utils._preflight_facts import (
    carries_gcm_marker,
    get,
    is_mapping,
    mapping,
    node_info,
)

STARTED_FORMAT = '%Y-%m-%d %H:%M:%S'
RUN_ID_FORMAT = '%Y%m%dT%H%M%SZ'
BACKED_UP_ELSEWHERE = ('none', 'rds_snapshot')


def run_opening(facts):
    """The opening of the run record, and the problems of the names in it that become paths.

    ``facts``: ``run_id`` (lookerops_run_id, or empty), ``suffix`` (random hex digits for a generated run id), ``now_utc``
    (the UTC time, YYYY-MM-DD HH:MM:SS), ``job``, ``hosts``, ``user`` and ``hostname`` (of the controller).

    Returns {record, problems}: ``record`` holds run_id (lookerops_run_id, or the UTC time and the suffix: two runs started
    in the same second never share one), job, nodes, first_node, controller (user@host) and started_utc.
    """
    hosts = list(facts.get('hosts') or [])
    now = facts.get('now_utc')
    run_id = facts.get('run_id')
    if not run_id:
        stamp = datetime.datetime.strptime(now, STARTED_FORMAT).strftime(RUN_ID_FORMAT)
        run_id = '%s-%s' % (stamp, ('%s' % (facts.get('suffix') or '',)).lower())
    record = {'run_id': run_id, 'job': facts.get('job'), 'nodes': hosts, 'first_node': hosts[0] if hosts else None,
              'controller': '%s@%s' % (facts.get('user') or 'unknown', facts.get('hostname')), 'started_utc': now}
    problems = [name_problem(run_id, 'lookerops_run_id')] + [name_problem(host, 'the inventory host name') for host in hosts]
    return {'record': record, 'problems': [problem for problem in problems if problem]}


def cluster_names(facts):
    """The names of the cluster and of the files that hold its lock and its key's escrows.

    ``facts``: ``cluster_name`` (lookerops_cluster_name, or empty), ``hosts``, ``hostvars`` (``preflight_node`` of the first
    node: its backend names the cluster when no name is given), ``escrow_path`` (lookerops_cmk_escrow_path, or empty),
    ``looker_home`` and ``job``.

    Returns {cluster_id, lock_path, escrow_in_force, escrow_path}: the escrow of the key in force is the path given or
    ``~/.lookerops/escrow/<cluster_id>-cmk.vault``; a rekey writes its new key to ``<that>-next.vault`` (escrow_path)
    and replaces the escrow in force only once the new key proved itself.
    """
    hosts = facts.get('hosts') or []
    first = hosts[0] if hosts else None
    backend = get(node_info(facts.get('hostvars') or {}, first), 'backend')
    ident = cluster_id(facts.get('cluster_name'), backend, first)
    in_force = os.path.expanduser(facts.get('escrow_path') or default_escrow_path(ident))
    return {'cluster_id': ident, 'lock_path': lock_path(facts.get('looker_home')), 'escrow_in_force': in_force,
            'escrow_path': next_escrow_path(in_force) if facts.get('job') == 'rekey' else in_force}


def backend_record(facts):
    """The backend the first node names, and how the backup and restore phases reach it.

    ``facts``: ``hosts``, ``hostvars`` (``preflight_node`` of the first node), ``looker_home``, ``looker_user`` and
    ``tools_dir`` (lookerops_backend_tools_dir, or empty).

    Returns {node, mode, host, params}: ``params`` is the backend option of lk_backup and lk_restore (the credentials file
    Looker is started with, else the home whose lookerstart.cfg names the database).
    """
    hosts = facts.get('hosts') or []
    first = hosts[0] if hosts else None
    info = get(node_info(facts.get('hostvars') or {}, first), 'backend')
    if get(info, 'mode', '') == 'mysql_creds_file':
        params = {'creds_file': info.get('source')}
    else:
        params = {'looker_home': facts.get('looker_home'), 'looker_user': facts.get('looker_user')}
    if facts.get('tools_dir'):
        params['tools_dir'] = facts['tools_dir']
    return {'node': first, 'mode': get(info, 'mode', 'unknown') if is_mapping(info) else 'unknown',
            'host': get(info, 'host') if is_mapping(info) else None, 'params': params}


def _how(facts, backend):
    """How this run backs up the backend (lookerops_backend_backup)."""
    mode = facts.get('backend_backup')
    if mode == 'none':
        return 'not backed up (lookerops_backend_backup=none: your own backup is the waiver)'
    if mode == 'rds_snapshot':
        return 'RDS snapshot lookerops-%s from the controller' % facts.get('run_id')
    tool = mapping(get(facts.get('backend_check'), 'tool', {}))
    return 'logical dump by %s %s from %s to %s/%s/backend-%s.sql.gz' % (
        tool.get('path', 'the database client'), tool.get('version', ''), facts.get('backend_node'), facts.get('backup_dir'),
        facts.get('run_id'), backend.get('database', '?'))


def backend_plan(facts):
    """One line per node: which backend it names and how this run backs it up.

    ``facts``: ``hosts``, ``hostvars`` (``preflight_node`` of each node), ``backend_node`` (the node the backend is dumped
    from), ``backend_check`` (the dump's check: its ``tool``), ``backend_backup``, ``looker_home``, ``backup_dir`` and
    ``run_id``.
    """
    lines = []
    node = facts.get('backend_node')
    for host in facts.get('hosts') or []:
        backend = get(node_info(facts.get('hostvars') or {}, host), 'backend')
        if not is_mapping(backend):
            lines.append('%s: backend not read' % host)
        elif backend.get('mode') == 'internal':
            lines.append('%s: internal HyperSQL database (%s/.db), backed up inside the home archive of %s' % (host, facts.get('looker_home'), host))
        else:
            named = '-d %s' % backend.get('source') if backend.get('mode') == 'mysql_creds_file' else 'LOOKER_DB in lookerstart.cfg'
            # The dump is taken once, from the backend's node; the others say so.
            how = _how(facts, backend) if host == node or facts.get('backend_backup') in BACKED_UP_ELSEWHERE else 'backed up once from %s' % node
            lines.append('%s: MySQL %s at %s:%s (%s), %s'
                         % (host, backend.get('database', '?'), backend.get('host', '?'), backend.get('port', '?'), named, how))
    return lines


def run_summary(facts):
    """Whether the cluster still needs the migration, and what this run does, in one sentence.

    ``facts``: ``job``, ``run_id``, ``hosts``, ``hostvars`` (``preflight_node`` of each node: its marker) and ``rekey``
    (the rekey plan, for a rekey).

    Returns {migration_needed, message}: a rekey never needs the migration; any other job needs it unless every node
    carries the AES-GCM-256 marker.
    """
    hosts, hostvars = facts.get('hosts') or [], facts.get('hostvars') or {}
    needed = facts.get('job') != 'rekey' and not all(carries_gcm_marker(node_info(hostvars, host)) for host in hosts)
    if facts.get('job') == 'rekey':
        plan = mapping(facts.get('rekey'))
        if plan.get('needed'):
            does = 'rekey from %s to %s%s' % (plan.get('old'), plan.get('new') or 'a new generated key',
                                              ' (resuming run %s)' % plan['resumes'] if plan.get('resumes') else '')
        else:
            does = '%s is already the key in force on every node; nothing to do' % plan.get('new')
    elif needed:
        does = 'migration to AES-256-GCM needed'
    else:
        does = 'every node already carries the AES-GCM-256 marker; checking settings only, no downtime'
    return {'migration_needed': needed, 'message': 'Run %s on %s node(s): %s.' % (facts.get('run_id'), len(hosts), does)}
