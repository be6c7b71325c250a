# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: a retired CMK leaves the node. Not a public API.

After a rekey proved the new key (every node started on it) and the old key's escrow was proven on the controller, no copy
of the old key stays on a node: not the key file that still holds it (a move to AWS KMS or to ``env`` delivery, or a key
file at another path), not the hard link ``<key file>.replaced-<kcv digits>`` that ``lk_cmk`` keeps when it replaces a key
file, not a temp file of an interrupted write beside it. Only files that hold exactly the retired key (by key check
value) are removed, and never while Looker's settings on the node still name it. Standard library only: runs on the node.
"""

from __future__ import annotations

import glob
import os

from ansible_collections.lookerops.encryption.plugins.module_utils._files import remove_stale_temps
from ansible_collections.lookerops.encryption.plugins.module_utils._key_material import KeyMaterialError, is_kcv, read_key_file

REPLACED_SUFFIX = '.replaced-'


def copies(path):
    """The files beside key file ``path`` that may hold a key it held: the file itself and its ``.replaced-*`` links."""
    return [path] + sorted(glob.glob(glob.escape(path) + REPLACED_SUFFIX + '*'))


def retire_key(path, retired_kcv, in_force=None, check_mode=False):
    """Remove every copy of the key ``retired_kcv`` at key file ``path`` (see the module docstring).

    ``in_force`` is the identity of the key Looker's settings give it on this node now (``LookerConfig.key_identity()``);
    the key in force is never removed. Returns {changed, removed, kept}: paths only, never key material.
    """
    if not is_kcv(retired_kcv):
        raise KeyMaterialError("the retired key is named by its key check value ('kcv1:' and 16 hex digits), not %r" % (retired_kcv,))
    if in_force == retired_kcv:
        raise KeyMaterialError('Looker on this node still gets the key %s from its settings: it is the key in force, not a retired '
                               'one. Nothing was removed.' % retired_kcv)
    removed, kept = [], []
    for candidate in copies(path):
        try:
            info = read_key_file(candidate)
        except KeyMaterialError:
            kept.append(candidate)      # not a regular file: never followed, never removed
            continue
        if not info['exists']:
            continue
        if info['kcv'] != retired_kcv:
            kept.append(candidate)
            continue
        removed.append(candidate)
        if not check_mode:
            os.unlink(candidate)
    # Temp files of an interrupted write of the key file may hold any key it held (they are never read).
    removed += remove_stale_temps(path, check_mode=check_mode)
    return {'changed': bool(removed), 'path': path, 'kcv': retired_kcv, 'removed': removed, 'kept': kept}
