# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verdict of the proof through Looker's API: Looker's connection tests before the stop against those after the start.

A connection that passed before and fails after (or is gone after) is the sign that a stored credential did not decrypt
under the key the nodes now run with: the run fails with its name, Looker's message and the rollback command. A
connection that failed before fails for another reason (a database down, a password changed); it is reported, not held
against the run.
"""

from __future__ import annotations


def _by_name(result):
    return {c['name']: c for c in (result or {}).get('connections') or []}


def _configured(result):
    return bool((result or {}).get('configured'))


def api_proof_result(result):
    """What the run record keeps of a registered lk_api_proof result: configured, base_url, release, connections; or, for a
    task that was skipped (Looker was not running before the stop: a resumed run), configured false with the reason."""
    result = result or {}
    if result.get('skipped'):
        return {'configured': False, 'reason': 'Looker was not running before the stop (a resumed run): nothing to compare with'}
    if not result.get('configured'):
        return {'configured': False, 'reason': ''}
    return {'configured': True, 'base_url': result.get('base_url'), 'release': result.get('release'),
            'connections': [{'name': c.get('name'), 'ok': bool(c.get('ok')), 'message': c.get('message') or ''}
                            for c in result.get('connections') or []]}


def api_proof_due(stage, running):
    """Whether lk_api_proof runs at this ``stage``: always after the start; before the stop only when Looker runs on some
    node (``running``: each node's ``pid_alive``), since a stopped Looker cannot answer (a resumed run)."""
    return stage == 'after' or any(running or [])


def api_proof_text(run):
    """The summary's line of the proof through Looker's API, from a run record; '' when the run made none."""
    proof = (run or {}).get('api_proof')
    if not proof:
        return ''
    return api_proof(proof.get('before'), proof.get('after'), run.get('run_id') or '', run.get('job') or 'migrate')['text']


def api_proof(before, after=None, run_id='', job='migrate'):
    """Compare the results of lk_api_proof before the stop (``before``) and after the start (``after``, None while the
    run has not started the nodes again). Returns a dict:

    - ``status``: ``skipped`` (no API configured), ``before`` (only the first proof ran), ``pass`` or ``fail``;
    - ``tested``, ``pass_both`` (counts), ``broken`` ([{name, message}] passed before, fail or gone after),
      ``failing_before`` (names that failed before the stop), ``release_before``, ``release_after``;
    - ``text``: the summary's line; ``msg``: for ``fail``, what the operator reads (connections, Looker's messages, the
      rollback command).
    """
    out = {'status': 'skipped', 'tested': 0, 'pass_both': 0, 'broken': [], 'failing_before': [],
           'release_before': (before or {}).get('release'), 'release_after': (after or {}).get('release'), 'msg': ''}
    if not _configured(before):
        out['text'] = 'Looker API proof: skipped (%s)' % ((before or {}).get('reason') or (
            'no API key given: set lookerops_api_base_url, lookerops_api_client_id and lookerops_api_client_secret to have '
            'Looker test every database connection before and after'))
        return out
    first = _by_name(before)
    out['tested'] = len(first)
    out['failing_before'] = sorted(n for n, c in first.items() if not c.get('ok'))
    passed_before = sorted(n for n, c in first.items() if c.get('ok'))
    if after is None:
        out['status'] = 'before'
        out['text'] = 'Looker API proof: connections: %d tested before the stop, %d pass' % (len(first), len(passed_before))
        return out
    second = _by_name(after)
    for name in passed_before:
        now = second.get(name)
        if now is None:
            out['broken'].append({'name': name, 'message': 'not listed by Looker after the start'})
        elif not now.get('ok'):
            out['broken'].append({'name': name, 'message': now.get('message') or 'failed'})
    out['pass_both'] = len(passed_before) - len(out['broken'])
    text = 'Looker API proof: connections: %d tested, %d pass before and after' % (len(first), out['pass_both'])
    if out['failing_before']:
        text += '; %d failed already before the stop (not this run\'s doing): %s' % (
            len(out['failing_before']), ', '.join(out['failing_before']))
    if out['broken']:
        text += '; FAIL after the start: %s' % ', '.join(b['name'] for b in out['broken'])
    out['text'] = text
    if not out['broken']:
        out['status'] = 'pass'
        return out
    out['status'] = 'fail'
    what = 'the old key' if job == 'rekey' else 'the legacy scheme'
    out['msg'] = (
        "Looker's own connection test fails after the start for %s, which passed before the stop: %s. A stored credential "
        'that does not decrypt under the key the nodes now run with is the likely cause. Looker runs; do not delete any key '
        'or escrow. To roll back to %s and the backups of this run: ansible-playbook -i <inventory> '
        'lookerops.encryption.rollback -e lookerops_run_id=%s -e lookerops_rollback_discard_changes_since_run=true'
        % (', '.join(b['name'] for b in out['broken']),
           '; '.join('%s: %s' % (b['name'], b['message']) for b in out['broken']), what, run_id))
    return out


def api_check_lines(connections):
    """One line per connection of an lk_api_proof result: ``<name>: pass`` or ``<name>: FAIL (<Looker's message>)``."""
    return ['%s: %s' % (c.get('name'), 'pass' if c.get('ok') else 'FAIL (%s)' % (c.get('message') or 'failed'))
            for c in connections or []]
