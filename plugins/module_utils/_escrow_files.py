# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the escrow files of a rekey on the controller. Not a public API.

A rekey keeps three kinds of Ansible Vault escrow files beside each other (their content is never read here, only moved):
``<stem>.vault`` the key in force, ``<stem>-next.vault`` the new key of a rekey under way, and
``<stem>-retired-<kcv hex>.vault`` an old key, with ``.json`` beside it saying when it was retired and how long to keep it.
Promotion and restore only copy and rename whole files; every copy is 0600 from its first byte. Standard library only.
"""

from __future__ import annotations

import json
import os
import time

from ansible_collections.lookerops.encryption.plugins.module_utils._cluster_names import escrow_stem as _stem
from ansible_collections.lookerops.encryption.plugins.module_utils._cluster_names import next_escrow_path as next_path
from ansible_collections.lookerops.encryption.plugins.module_utils._files import atomic_write

KEEP_RULE = ('keep this key as long as any backup taken while it was in force is kept (a backup can only be restored '
             'with the key it was taken under)')


class EscrowFilesError(Exception):
    """The escrow files are not as a rekey left them."""


def retired_path(current, kcv):
    """The escrow of an old local key, named by its key check value."""
    if not kcv or not kcv.startswith('kcv1:'):
        raise EscrowFilesError('a retired escrow is named by a key check value (kcv1:...), not %r' % (kcv,))
    return '%s-retired-%s.vault' % (_stem(current), kcv.split(':', 1)[1])


def _copy(src, dest):
    with open(src, 'rb') as handle:
        data = handle.read()
    atomic_write(dest, data, mode=0o600)


def _note(path, kcv, run_id, why):
    note = {'kcv': kcv, 'retired_utc': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), 'run_id': run_id,
            'why': why, 'keep': KEEP_RULE}
    atomic_write(path + '.json', (json.dumps(note, indent=2, sort_keys=True) + '\n').encode('ascii'), mode=0o600)


def promote(current, old_kcv, new_kcv, run_id, check_mode=False):
    """After a rekey to a new local key proved itself: the old key's escrow is kept as retired, the new one takes its place.

    ``old_kcv`` None: the old key was not a local one (AWS KMS), nothing to retire. ``new_kcv`` None: the new key is
    AWS KMS; the old escrow is only retired. Safe to run again.
    """
    nxt = next_path(current)
    out = {'changed': False, 'path': current, 'retired_path': None, 'next_path': nxt}
    if old_kcv:
        retired = retired_path(current, old_kcv)
        out['retired_path'] = retired
        if os.path.exists(current) and not os.path.exists(retired):
            out['changed'] = True
            if not check_mode:
                _copy(current, retired)
                _note(retired, old_kcv, run_id, 'replaced by %s in rekey run %s' % (new_kcv or 'an AWS KMS key', run_id))
    if new_kcv:
        if os.path.exists(nxt):
            out['changed'] = True
            if not check_mode:
                os.replace(nxt, current)
        elif not os.path.exists(current):
            raise EscrowFilesError('neither %s nor %s exists: the escrow of the new key %s is missing. It is the only copy '
                                   'outside the nodes; recover it from a node (lookerops.encryption.migrate recovers a '
                                   'missing escrow) before anything else' % (nxt, current, new_kcv))
    elif old_kcv and os.path.exists(current) and not check_mode:
        # The instance moved to AWS KMS: no local key is in force, the old one lives on under its retired name.
        os.unlink(current)
        out['changed'] = True
    return out


def restore(current, old_kcv, new_kcv, run_id, check_mode=False):
    """Rollback of a rekey: the old local key's escrow is in force again; the new key's is kept as retired."""
    old = retired_path(current, old_kcv)
    # Where the old key's escrow is now: retired by the rekey's promotion, or still in force when it never got there.
    out = {'changed': False, 'path': current, 'retired_path': None, 'old_path': old if os.path.exists(old) else current}
    if not os.path.exists(old):
        # The rekey never got to its promotion: the escrow in force is still the old key's.
        if not os.path.exists(current):
            raise EscrowFilesError('no escrow of the old key %s: neither %s nor %s exists. Put your copy of that escrow back '
                                   'at %s (or point lookerops_cmk_escrow_path at it) and run the rollback again; the '
                                   'nodes stay stopped until then' % (old_kcv, current, old, current))
        return out
    if new_kcv and os.path.exists(current):
        retired = retired_path(current, new_kcv)
        out['retired_path'] = retired
        if not os.path.exists(retired):
            out['changed'] = True
            if not check_mode:
                _copy(current, retired)
                _note(retired, new_kcv, run_id, 'rolled back to %s' % old_kcv)
    if _same(old, current):
        return out
    out['changed'] = True
    if not check_mode:
        _copy(old, current)
    return out


def _same(one, other):
    try:
        with open(one, 'rb') as first, open(other, 'rb') as second:
            return first.read() == second.read()
    except OSError:
        return False
