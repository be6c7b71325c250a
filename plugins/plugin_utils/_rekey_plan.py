# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption (controller side): the plan of a rekey. Not a public API.

Preflight gathers the facts (what every node's Looker gets as its key, the rekey state file on the first node, the new
key this run would use) and calls :func:`rekey_plan` through the ``lookerops.encryption.rekey_plan`` filter. The plan says
which key is the old one, which is the new one, whether anything is left to do, whether this run resumes an earlier
rekey, and every problem that stops the run before anything changes. Identities only (``kcv1:...`` or
``kms:<region>/<alias>/<context>``), never key text.

The state file (``.lookerops-rekey.json`` beside the run lock) is written by ``lk_rekey`` with the check value of the
new key *before* Looker's ``rekey`` task runs (``running``), then ``done`` or ``refused``. Once Looker may have used a
key, that key is the only one a resume of the run may go to: the plan pins it, refuses any other key, and refuses when
the controller cannot supply it (a resume never generates a key).
"""

from __future__ import annotations

from ansible_collections.lookerops.encryption.plugins.module_utils._cluster_names import kms_identity
from ansible_collections.lookerops.encryption.plugins.module_utils._rekey import RekeyError, check_variable_names
from ansible_collections.lookerops.encryption.plugins.plugin_utils._preflight_facts import unique

NOTHING = 'Nothing was changed.'
# States of the state file in which Looker's rekey task may have changed records.
MAY_HAVE_RUN = ('running', 'done')


def new_identity(facts):
    """The identity of the new key this run would use, or None when it is not known yet (a local key to be generated)."""
    if facts.get('new_kind') == 'aws_kms':
        return kms_identity(facts.get('aws_region'), facts.get('aws_cmk_alias'), facts.get('aws_cmk_ec') or None)
    local = facts.get('new_local') or {}
    if local.get('failed') or local.get('skipped') or local.get('generated') or not local.get('kcv'):
        return None
    return local['kcv']


def node_keys(facts):
    """({host: identity} of the nodes whose home exists and whose key is readable, [problems])."""
    problems, nodes = [], {}
    for host in facts.get('hosts') or []:
        node = (facts.get('nodes') or {}).get(host) or {}
        key = node.get('key')
        if not node.get('home_exists') or not isinstance(key, dict):
            continue
        if key.get('error'):
            problems.append('%s: lookerstart.cfg gives Looker a local key (%s) that cannot be used: %s. A rekey starts from a key '
                            'that works: fix the node by hand first. %s' % (host, key.get('kind'), key['error'], NOTHING))
        elif key.get('identity'):
            nodes[host] = key['identity']
        else:
            problems.append('%s: lookerstart.cfg gives Looker no key settings. A rekey changes the key of an instance on '
                            'AES-256-GCM; migrate it first (lookerops.encryption.migrate). %s' % (host, NOTHING))
    return nodes, problems


def _supply_hint(pinned, facts):
    """How the operator gives this run the key ``pinned`` (the escrow's place for a local key, the settings for KMS)."""
    if pinned.startswith('kms:'):
        return ('run with the settings of that key (lookerops_cmk_source=aws_kms, lookerops_aws_region, lookerops_aws_cmk_alias '
                'and lookerops_aws_cmk_ec as %s names them)' % pinned)
    return ('its escrow was written to %s on the controller that ran it: copy that file to the same path here (with its vault '
            'password), or give that key itself (lookerops_cmk_key_file or lookerops_cmk_key)' % facts.get('next_escrow'))


def _resume_problems(facts, st, new, found):
    """Problems of a resume (same run id) of a rekey that Looker may have run: it goes to the recorded new key only."""
    problems = []
    run_id, src, dst = st.get('run_id'), st.get('source') or '?', st.get('destination') or '?'
    state_path = facts.get('state_path')
    rollback = 'lookerops.encryption.rollback -e lookerops_run_id=%s' % run_id
    outcome = 'completed' if st.get('state') == 'done' else 'did not complete'
    recorded = ('the rekey of run %s from %s to %s %s (state file %s on %s, written before Looker\'s rekey task ran): the data '
                'may be under %s already' % (run_id, src, dst, outcome, state_path, facts.get('first_node'), dst))
    if new is not None and new != dst:
        problems.append('cluster: %s. This run names the new key %s; a resumed rekey goes only to %s. Resume with that key '
                        '(%s), or roll the run back (%s). %s' % (recorded, new, dst, _supply_hint(dst, facts), rollback, NOTHING))
    elif new is None and facts.get('new_local_failed'):
        problems.append('cluster: %s. The key settings of this run do not give that key (see the controller\'s problem); a '
                        'resumed rekey goes only to %s: %s, or roll the run back (%s). %s'
                        % (recorded, dst, _supply_hint(dst, facts), rollback, NOTHING))
    elif new is None:
        if facts.get('new_kind') == 'aws_kms' or dst.startswith('kms:'):
            problems.append('cluster: %s. This run gives no settings of that key; a resumed rekey goes only to %s: %s, or roll '
                            'the run back (%s). A resume never generates a key. %s'
                            % (recorded, dst, _supply_hint(dst, facts), rollback, NOTHING))
        else:
            problems.append('cluster: %s. This controller has no escrow of %s and no key was given; a resumed rekey goes only '
                            'to %s: %s. Or roll the run back (%s). A resume never generates a key. %s'
                            % (recorded, dst, dst, _supply_hint(dst, facts), rollback, NOTHING))
    stray = [k for k in found if k not in (st.get('source'), st.get('destination'))]
    if stray:
        problems.append('cluster: %s, but the nodes give Looker %s, neither key of that rekey. Find out what changed the nodes '
                        'and put back their settings, or roll the run back (%s). %s' % (recorded, ', '.join(stray), rollback, NOTHING))
    return problems


def _stale_state_problem(facts, st, found):
    """A run without that run id meets a rekey that Looker may have run and whose nodes did not all get its new key."""
    run_id, src, dst = st.get('run_id') or '?', st.get('source') or '?', st.get('destination') or '?'
    if st.get('state') == 'running':
        return ('cluster: a rekey from %s to %s did not complete (run %s): the data may be under either key. Resume it with the '
                'same new key (-e lookerops_run_id=%s and the same key settings), or roll it back (lookerops.encryption.rollback '
                '-e lookerops_run_id=%s). %s' % (src, dst, run_id, run_id, run_id, NOTHING))
    if st.get('state') == 'done' and found and found != [dst]:
        return ('cluster: the rekey of run %s from %s to %s completed (state file %s), but the nodes give Looker %s: the data is '
                'under %s. Finish that run: -e lookerops_run_id=%s with the settings of %s (%s); or roll it back '
                '(lookerops.encryption.rollback -e lookerops_run_id=%s). A new rekey from %s would destroy the data. %s'
                % (run_id, src, dst, facts.get('state_path'), ', '.join(found), dst, run_id, dst, _supply_hint(dst, facts),
                   run_id, ', '.join(found), NOTHING))
    return None


def _node_problems(facts, nodes):
    """A rekey that starts afresh starts from a running instance on AES-256-GCM whose key is proven to open the data."""
    problems = []
    for host in facts.get('hosts') or []:
        node = (facts.get('nodes') or {}).get(host) or {}
        if not node.get('home_exists') or host not in nodes:
            continue
        marker = node.get('marker')
        if not isinstance(marker, dict) or marker.get('scheme') != 'AES-GCM-256':
            problems.append('%s: carries no AES-GCM-256 marker of a migration: a rekey needs an instance on AES-256-GCM. Migrate '
                            'it first with lookerops.encryption.migrate (on an instance migrated by hand it finds nothing to '
                            'migrate, checks the key settings and writes the marker). %s' % (host, NOTHING))
        proven = (node.get('key') or {}).get('proven_by_start')
        if proven is False:
            problems.append('%s: lookerstart.cfg or the key file changed after Looker started on this node, so the key it names '
                            '(%s) is not proven to open the data. Restart the node on those settings (or put back the ones it '
                            'runs on), then run again. %s' % (host, nodes[host], NOTHING))
        elif proven is None and not (node.get('fence') or {}).get('ours'):
            problems.append('%s: Looker is not running on this node, so its key settings (%s) are not proven to open the data. '
                            'Start the cluster on its current settings first; a rekey starts from a running instance. %s'
                            % (host, nodes[host], NOTHING))
    return problems


def _escrow_problems(facts, old_kind, needed, resumes):
    problems = []
    escrow = facts.get('escrow')
    if facts.get('new_kind') == 'local' and escrow != 'vault':
        problems.append('settings: a rekey to a new local key keeps the escrows of the old and the new key as Ansible Vault files '
                        '(the old one retired beside the new one), but lookerops_cmk_escrow is %s. Run it with -e '
                        'lookerops_cmk_escrow=vault and a lookerops_cmk_escrow_path on storage that lasts (copy the old key into '
                        'it first if your escrow of it is elsewhere), or rekey to an AWS KMS key. %s' % (escrow, NOTHING))
    elif old_kind == 'local' and needed and resumes is None and escrow == 'none':
        problems.append('settings: the old key is a local key, and a rekey removes it from the nodes once the new key proved '
                        'itself: it must live on in an escrow (backups taken under it need it), but lookerops_cmk_escrow is '
                        'none. Run with lookerops_cmk_escrow=vault (and a lasting lookerops_cmk_escrow_path) or '
                        'aws_secretsmanager. %s' % NOTHING)
    return problems


def rekey_plan(facts):
    """The plan of a rekey from ``facts`` (see the module docstring and roles/preflight/tasks/rekey.yml).

    Returns {old, old_kind, new, new_kind, needed, resumes, state_path, problems}.
    """
    st = facts.get('state') or {}
    nodes, problems = node_keys(facts)
    found = unique(nodes[h] for h in facts.get('hosts') or [] if h in nodes)
    new = new_identity(facts)
    facts = dict(facts, new_local_failed=bool((facts.get('new_local') or {}).get('failed')))
    state = st.get('state')
    mine = bool(facts.get('run_id')) and st.get('run_id') == facts.get('run_id')
    in_force = found[0] if len(found) == 1 else None
    dst = st.get('destination')
    needed, resumes, old = True, None, in_force
    if mine and state in MAY_HAVE_RUN:
        # The rekey of this run may have used its new key: only that key, never a generated one.
        problems += _resume_problems(facts, st, new, found)
        all_running = all(((facts['nodes'].get(h) or {}).get('key') or {}).get('proven_by_start') for h in nodes)
        if state == 'done' and found == [dst] and all_running:
            needed = False      # the nodes run on the new key: only the retirement of the old key is left
        else:
            resumes = st.get('run_id')
        old, new = st.get('source'), dst
    elif mine and state == 'refused':
        # Looker refused before it changed anything: the data is under the old key, but the new key is this run's.
        if new is not None and new != dst:
            problems.append('cluster: run %s planned the new key %s (Looker refused its rekey before changing anything); this run '
                            'names %s. Resume it with %s (%s), or start a new rekey without lookerops_run_id. %s'
                            % (st.get('run_id'), dst, new, dst, _supply_hint(dst or '', facts), NOTHING))
        elif new is None and not facts['new_local_failed'] and dst:
            problems.append('cluster: run %s planned the new key %s (Looker refused its rekey before changing anything), and this '
                            'controller cannot supply it: %s. Or start a new rekey without lookerops_run_id. A resume never '
                            'generates a key. %s' % (st.get('run_id'), dst, _supply_hint(dst, facts), NOTHING))
        new = dst or new
    else:
        stale = _stale_state_problem(facts, st, found)
        if stale:
            problems.append(stale)
        elif len(found) > 1:
            problems.append('cluster: the nodes give Looker different keys (%s); the data is under one of them only. Find out which '
                            'key the instance runs on, fix the other nodes by hand, then rekey. %s'
                            % (', '.join('%s=%s' % (h, nodes[h]) for h in facts.get('hosts') or [] if h in nodes), NOTHING))
        elif in_force is not None and new is not None and in_force == new:
            if state == 'done' and dst == new:
                needed = False
                old = st.get('source') or old
            else:
                problems.append('settings: the new key %s is the key in force on every node: a rekey needs a different key. Give a '
                                'new one (lookerops_cmk_key_file, lookerops_cmk_key, or none: a new key is generated and escrowed), '
                                'or another KMS alias or encryption context. %s' % (new, NOTHING))
    old_kind = 'aws_kms' if (old or '').startswith('kms:') else 'local'
    problems += _escrow_problems(facts, old_kind, needed, resumes)
    try:
        check_variable_names(facts.get('variable_names'))
    except RekeyError as exc:
        problems.append('settings: lookerops_rekey_variable_names: %s. %s' % (exc, NOTHING))
    if needed and resumes is None and not (mine and state in MAY_HAVE_RUN):
        problems += _node_problems(facts, nodes)
    return {'old': old, 'old_kind': old_kind, 'new': new, 'new_kind': facts.get('new_kind'), 'needed': needed,
            'resumes': resumes, 'state_path': facts.get('state_path'), 'problems': problems}
