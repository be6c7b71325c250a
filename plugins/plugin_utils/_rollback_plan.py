# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: whether a rollback may go ahead, decided before anything is touched.

Not a public API. Pure functions of the facts preflight gathers (no I/O), exposed as the filter
``lookerops.encryption.rollback_plan``:

- every backup of the run verified against its manifest, on every node (and the backend dump);
- the key the backups need proven present on the controller (the checks ran in check mode; their errors come in);
- the run's status: ``completed`` when the nodes' marker names it (its last phase ran, the cluster served since),
  ``superseded`` when the marker names a later run, ``unfinished`` otherwise (a failed or killed run); a
  pre-rollback backup counts as completed once Looker serves again. Rolling back a completed or superseded run
  discards what the cluster stored since: refused unless the operator set ``lookerops_rollback_discard_changes_since_run``.
"""

from __future__ import annotations

import datetime

from ansible_collections.lookerops.encryption.plugins.module_utils._escrow_files import retired_path

ACK_SETTING = 'lookerops_rollback_discard_changes_since_run'
PRE_ROLLBACK_PREFIX = 'pre-rollback-'


def parse_utc(text):
    """Epoch seconds of a UTC time as the collection writes it ('2026-12-04 10:15:00' or '2026-12-04T10:15:00Z')."""
    if not text:
        return None
    for fmt in ('%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%SZ'):
        try:
            return datetime.datetime.strptime(str(text), fmt).replace(tzinfo=datetime.timezone.utc).timestamp()
        except ValueError:
            continue
    return None


def format_utc(epoch):
    if epoch is None:
        return 'an unknown time'
    return datetime.datetime.fromtimestamp(float(epoch), tz=datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC')


def format_duration(seconds):
    seconds = max(0, int(seconds or 0))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return '%d d %d h' % (days, hours)
    if hours:
        return '%d h %d min' % (hours, minutes)
    return '%d min' % minutes


def pre_rollback_id(now, suffix):
    """The run id of the backup a rollback takes of the current homes and backend before it restores anything."""
    return '%s%s-%s' % (PRE_ROLLBACK_PREFIX, datetime.datetime.fromtimestamp(float(now), tz=datetime.timezone.utc)
                        .strftime('%Y%m%dT%H%M%SZ'), suffix)


def _number(value):
    """A float, or None (older ansible-core hands templated values over as text: '', 'None', '1733300000.5')."""
    if value in (None, '', 'None', 'none', 'null'):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _flag(value):
    return value is True or str(value).strip().lower() in ('true', 'yes', '1', 'on')


def _normal(facts):
    """The facts with numbers, flags and empty values in one shape."""
    facts = dict(facts)
    facts['now'] = _number(facts.get('now')) or 0.0
    for key in ('key_note', 'pre_note', 'backend', 'escrow_error', 'dump_error'):
        if facts.get(key) in ('', 'None', 'none', {}):
            facts[key] = None
    nodes = []
    for node in facts.get('nodes') or []:
        node = dict(node)
        node['reachable'] = _flag(node.get('reachable'))
        node['up'] = _flag(node.get('up'))
        node['started_at'] = _number(node.get('started_at'))
        node['marker_mtime'] = _number(node.get('marker_mtime'))
        node['marker'] = node.get('marker') if isinstance(node.get('marker'), dict) else None
        backup = dict(node.get('backup') or {})
        backup['verified'] = _flag(backup.get('verified'))
        node['backup'] = backup
        for key in ('key_error', 'space_error'):
            if node.get(key) in ('', 'None', 'none'):
                node[key] = None
        nodes.append(node)
    facts['nodes'] = nodes
    if facts['backend'] is not None:
        facts['backend'] = dict(facts['backend'], verified=_flag(facts['backend'].get('verified')))
    return facts


def _kind(facts):
    if facts.get('pre_note'):
        return 'pre-rollback'
    if (facts.get('key_note') or {}).get('job') == 'rekey':
        return 'rekey'
    return 'migrate'


def _marker_time(marker):
    return parse_utc(marker.get('rekeyed_at')) or parse_utc(marker.get('migrated_at'))


def run_status(facts):
    """(status, the run whose completion a rollback would discard, when that run ended (epoch or None))."""
    run_id = facts['run_id']
    nodes = [n for n in facts.get('nodes') or [] if n.get('reachable')]
    if _kind(facts) == 'pre-rollback':
        # The rollback that took this backup is over once Looker serves again (its start was its last phase).
        starts = [n.get('started_at') for n in nodes if n.get('up')]
        if not starts:
            return 'unfinished', None, None
        known = [t for t in starts if t is not None]
        return 'completed', (facts.get('pre_note') or {}).get('rolls_back') or run_id, min(known) if known else None
    ours = [n for n in nodes if (n.get('marker') or {}).get('run_id') == run_id]
    if ours:
        ends = [n.get('marker_mtime') for n in ours if n.get('marker_mtime') is not None]
        return 'completed', run_id, max(ends) if ends else _marker_time(ours[0]['marker'])
    taken = min([t for t in (parse_utc((n.get('backup') or {}).get('created_utc')) for n in nodes) if t is not None] or [None])
    later = []
    for node in nodes:
        marker = node.get('marker') or {}
        when = _marker_time(marker)
        if marker.get('run_id') and taken is not None and when is not None and when > taken:
            later.append((node.get('marker_mtime') or when, marker['run_id']))
    if later:
        ended, other = max(later)
        return 'superseded', other, ended
    return 'unfinished', None, None


def _served(facts, now):
    lines = []
    for node in facts.get('nodes') or []:
        if not node.get('reachable'):
            continue
        if node.get('up'):
            since = node.get('started_at')
            how_long = format_duration(now - since) if since is not None else 'for an unknown time'
            lines.append('%s: Looker up since %s (%s)' % (node['name'], format_utc(since), how_long))
        else:
            lines.append('%s: Looker not running now' % node['name'])
    return lines


def _backup_problems(facts):
    problems = []
    run_id = facts['run_id']
    for node in facts.get('nodes') or []:
        if not node.get('reachable'):
            problems.append('%s: unreachable, so its backup of run %s cannot be checked; a rollback restores every node '
                            'together. Fix SSH access to it, or limit the inventory to the nodes of the cluster. Nothing '
                            'was changed.' % (node['name'], run_id))
            continue
        backup = node.get('backup') or {}
        if not backup.get('verified'):
            problems.append('%s: the backup of its Looker home from run %s cannot be used: %s. Check lookerops_run_id and '
                            'lookerops_backup_dir. Nothing was changed.'
                            % (node['name'], run_id, backup.get('error') or 'it was not checked'))
        if node.get('space_error'):
            problems.append('%s: no room for the pre-rollback backup of its current home: %s. Nothing was changed.'
                            % (node['name'], str(node['space_error']).rstrip('.')))
    backend = facts.get('backend')
    if backend is not None and not backend.get('verified'):
        problems.append('backend: the backend backup of run %s cannot be used: %s. Nothing was changed.'
                        % (run_id, backend.get('error') or 'it was not checked'))
    if facts.get('dump_error'):
        problems.append('backend: the current backend cannot be dumped for the pre-rollback backup: %s. Nothing was changed.'
                        % str(facts['dump_error']).rstrip('.'))
    note = facts.get('key_note') or {}
    old = note.get('old') or 'the old key'
    where_escrow = ''
    if str(old).startswith('kcv1:') and note.get('escrow_in_force'):
        where_escrow = (' Its escrow belongs at %s (or at %s when the rekey never completed): put your copy back there and '
                        'run the rollback again.' % (retired_path(note['escrow_in_force'], old), note['escrow_in_force']))
    checks = [('controller', facts.get('escrow_error'))] + [(n['name'], n.get('key_error')) for n in facts.get('nodes') or []]
    for where, error in checks:
        if error:
            problems.append('%s: %s. The backups of run %s were taken under %s; a rollback that cannot give the nodes '
                            'that key would leave them down after the restore, so nothing is restored.%s Nothing was changed.'
                            % (where, str(error).rstrip('.'), run_id, old, where_escrow))
    return problems


def rollback_plan(facts):
    """The decision for one rollback. ``facts``: run_id, now (epoch), acknowledged (the setting), key_note and pre_note
    (the notes of the run's backup directory, or None), nodes (name, reachable, marker, marker_mtime, up, started_at,
    backup {verified, error, created_utc}, key_error, space_error), backend (None when no dump is restored; else verified,
    error), escrow_error and dump_error (the controller's and the first node's checks for the rollback); suffix (random
    hex digits for the pre-rollback backup's id)."""
    facts = _normal(facts)
    now = facts['now']
    status, discards, ended = run_status(facts)
    kind = _kind(facts)
    problems = _backup_problems(facts)
    needs_ack = status in ('completed', 'superseded')
    acknowledged = _flag(facts.get('acknowledged'))
    served = _served(facts, now)
    lost = ''
    if needs_ack:
        if status == 'superseded':
            what = ('run %s\'s backups are older than run %s, which completed at %s' % (facts['run_id'], discards, format_utc(ended)))
        elif kind == 'pre-rollback':
            what = ('%s is the backup a rollback took before it restored; that rollback ended and Looker serves again'
                    % facts['run_id'])
        else:
            what = 'run %s completed at %s' % (facts['run_id'], format_utc(ended))
        lost = ('%s, and the cluster has served since (%s): a rollback to these backups discards everything stored in '
                'Looker since then (content, users, schedules, settings; %s)'
                % (what, '; '.join(served) or 'no node answered',
                   'for about ' + format_duration(now - ended) if ended is not None else 'for an unknown time'))
        if not acknowledged:
            problems.append('%s. The rollback still backs up the current homes and backend first, but it only goes on when you '
                            'mean to discard those changes: run it again with -e %s=true. Nothing was changed.'
                            % (lost, ACK_SETTING))
    return {'kind': kind, 'status': status, 'discards_run': discards, 'ended_utc': format_utc(ended) if ended is not None else None,
            'needs_ack': needs_ack, 'acknowledged': acknowledged, 'lost': lost, 'served': served,
            'problems': problems, 'allowed': not problems,
            'pre_backup_id': pre_rollback_id(now, facts.get('suffix') or '0')}
