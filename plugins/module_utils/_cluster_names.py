# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the names a cluster's keys and files get, each defined once. Not a public API.

Node-safe: standard library only. The nodes' helpers name a KMS key by its identity; the controller's plan (preflight)
names the cluster, its run lock, the rekey state file and the escrow files of its key with the same rules.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

# Looker's default for LKR_AWS_CMK_EC (the seed: "the string Looker_Encryption_Context").
DEFAULT_KMS_CONTEXT = 'Looker_Encryption_Context'
# Beside the Looker home, outside it (no home backup or restore touches them) and outside the key directory.
RUN_LOCK_NAME = '.lookerops-run.lock'
REKEY_STATE_NAME = '.lookerops-rekey.json'
# The controller's escrow of a cluster's key when lookerops_cmk_escrow_path is not set (``~`` is the controller user's).
ESCROW_DIR = '~/.lookerops/escrow'
ESCROW_SUFFIX = '.vault'
NEXT_ESCROW_SUFFIX = '-next.vault'
CLUSTER_ID_UNSAFE_RE = re.compile(r'[^A-Za-z0-9_.-]+')
DEFAULT_MYSQL_PORT = 3306
DEFAULT_DATABASE = 'looker'


def kms_identity(region, cmk, context=None):
    """The identity of AWS KMS key settings (what names the key without a secret): kms:<region>/<LKR_AWS_CMK>/<context>,
    the context defaulting to Looker's."""
    return 'kms:%s/%s/%s' % (region or '', cmk or '', context or DEFAULT_KMS_CONTEXT)


def escrow_stem(path):
    """An escrow file's name without ``.vault``: the stem its ``-next`` and ``-retired-*`` files share."""
    return path[:-len(ESCROW_SUFFIX)] if path.endswith(ESCROW_SUFFIX) else path


def next_escrow_path(current):
    """The escrow of the new key of a rekey under way, beside the escrow of the key in force."""
    return escrow_stem(current) + NEXT_ESCROW_SUFFIX


def default_escrow_path(cluster_id):
    """The escrow of a cluster's key when no path is set (not expanded: ``~`` is the controller user's home)."""
    return '%s/%s-cmk%s' % (ESCROW_DIR, cluster_id, ESCROW_SUFFIX)


def beside_home(looker_home, name):
    """A file of the collection in the directory that holds the Looker home."""
    return os.path.dirname(looker_home) + '/' + name


def lock_path(looker_home):
    """The cluster's run lock on a node."""
    return beside_home(looker_home, RUN_LOCK_NAME)


def rekey_state_path(looker_home):
    """The rekey state file on the first node (written by lk_rekey): what a rekey resumes from."""
    return beside_home(looker_home, REKEY_STATE_NAME)


def cluster_id(name, backend, first_node):
    """The cluster's name: ``name`` when given, else its backend database (host-port-database) when it names one, else
    its first node; anything but letters, digits, ``_``, ``.`` and ``-`` becomes ``_``."""
    backend = backend if isinstance(backend, Mapping) and backend else {}
    if name:
        raw = name
    elif backend.get('host'):
        raw = '%s-%s-%s' % (backend['host'], backend.get('port') or DEFAULT_MYSQL_PORT, backend.get('database') or DEFAULT_DATABASE)
    else:
        raw = first_node
    return CLUSTER_ID_UNSAFE_RE.sub('_', '%s' % (raw,))
