# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption (controller side): does every escrow of this run outlive the job? Not a public API.

An AWX / Automation Platform job runs in a home and a private data directory that are deleted when the job ends. An
Ansible Vault escrow written there is lost with them, and with it the only copy of the key outside the nodes. Every escrow a
run writes or keeps must live elsewhere: the new key's, and in a rekey the old key's too (it is retired beside the live
escrow and removed from the nodes, and the backups of the run were taken under it). Called by preflight through the
``lookerops.encryption.escrow_placement`` filter, before anything changes.
"""

from __future__ import annotations

import posixpath

# Directories of an AWX job that do not outlive it, besides the job's HOME.
EPHEMERAL_ROOTS = ('/runner', '/tmp')


def is_ephemeral(path, job_home):
    """True when ``path`` lies in the job's home or in a directory AWX deletes with the job."""
    if not path:
        return False
    path = posixpath.normpath(path)
    roots = [(job_home or '').rstrip('/')] + list(EPHEMERAL_ROOTS)
    return any(root and (path == root or path.startswith(root + '/')) for root in roots)


def escrow_placement(facts):
    """Problems (a list of messages) for the escrows of this run that would be written or kept inside an ephemeral AWX job.

    ``facts``: ``job`` (migrate, new_install, rekey, rollback), ``awx_job`` (the AWX job id, or None outside AWX), ``job_home``
    ($HOME of the controller process), ``escrow`` (vault, aws_secretsmanager, none), ``new_kind`` (local or aws_kms: the key
    this run puts in force), ``node_keys`` (the identities of the keys the nodes' Looker gets now: ``kcv1:...`` is a local
    key, which a rekey retires), ``escrow_in_force`` (the escrow of the
    key in force) and ``escrow_path`` (the escrow this run writes: ``<escrow>-next.vault`` in a rekey).
    """
    if not facts.get('awx_job') or facts.get('escrow') != 'vault' or facts.get('job') == 'rollback':
        return []
    wanted = []     # (what, path)
    if facts.get('job') == 'rekey':
        if any(str(key or '').startswith('kcv1:') for key in facts.get('node_keys') or []):
            wanted.append(('the old key (kept retired beside it once the nodes no longer hold it)', facts.get('escrow_in_force')))
        if facts.get('new_kind') == 'local':
            wanted.append(('the new key', facts.get('escrow_path')))
            wanted.append(('the new key once it is in force', facts.get('escrow_in_force')))
    elif facts.get('new_kind') == 'local':
        wanted.append(('the key', facts.get('escrow_path')))
    problems, seen = [], set()
    for what, path in wanted:
        if path in seen or not is_ephemeral(path, facts.get('job_home')):
            continue
        seen.add(path)
        problems.append(
            'controller: this run is an AWX/Automation Platform job (job %s) and the escrow of %s would be written to %s, inside '
            'the job\'s home or private data directory, which is deleted when the job ends: the only copy of that key outside '
            'the nodes would be lost. Set lookerops_cmk_escrow_path to a persistent path that is mounted into the execution '
            'environment (with the escrow of the key in force copied there), or use an escrow that lives outside the job '
            '(lookerops_cmk_escrow=aws_secretsmanager; see docs/awx.md). Nothing was changed.'
            % (facts.get('awx_job'), what, path))
    return problems
