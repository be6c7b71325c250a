# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the settings `java -jar looker.jar rekey` reads. Not a public API.

Looker documents the rekey steps (stop and back up; set the ``_SOURCE`` and ``_DESTINATION``
variables; run ``rekey``; set the new key settings; start) but names only the local-key pair:
Google's reference job sets ``LKR_MASTER_KEY_ENV_SOURCE`` (old key) and
``LKR_MASTER_KEY_ENV_DESTINATION`` (new key). For a key file and for AWS KMS the names are not
public; the documented pattern is the setting's name with ``_SOURCE`` / ``_DESTINATION`` appended.
That inference lives here, in one table, and every name can be overridden by the caller
(``lookerops_rekey_variable_names``). Standard library only: runs on the node.
"""

from __future__ import annotations

# The key settings of each kind of CMK, as Looker reads them at start.
KIND_SETTINGS = {
    'local_env': ('LKR_MASTER_KEY_ENV',),
    'local_file': ('LKR_MASTER_KEY_FILE',),
    'aws_kms': ('AWS_REGION', 'LKR_AWS_CMK', 'LKR_AWS_CMK_EC'),
}
# Names Looker documents for rekey; every other one is inferred from the pattern.
DOCUMENTED = frozenset(['LKR_MASTER_KEY_ENV_SOURCE', 'LKR_MASTER_KEY_ENV_DESTINATION'])
SIDES = ('source', 'destination')
SECRET_SETTINGS = frozenset(['LKR_MASTER_KEY_ENV'])


class RekeyError(Exception):
    """The old and new key settings cannot make a rekey."""


def variable_name(setting, side, overrides=None):
    """The variable that carries ``setting`` of the old (``source``) or new (``destination``) key."""
    if side not in SIDES:
        raise RekeyError('side must be source or destination, not %r' % (side,))
    override = (overrides or {}).get(setting, {})
    if override.get(side):
        return override[side]
    return '%s_%s' % (setting, side.upper())


def is_inferred(name):
    """True when Looker does not document ``name`` (it comes from the _SOURCE/_DESTINATION pattern)."""
    return name not in DOCUMENTED


def key_settings(kind, key=None, key_file=None, region=None, cmk=None, context=None):
    """The settings Looker reads for a CMK of ``kind`` (local_env, local_file, aws_kms), as {name: value}."""
    if kind == 'local_env':
        if not key:
            raise RekeyError('a local key given in the environment needs the key text')
        return {'LKR_MASTER_KEY_ENV': key}
    if kind == 'local_file':
        if not key_file:
            raise RekeyError('a local key in a file needs the path of that file')
        return {'LKR_MASTER_KEY_FILE': key_file}
    if kind == 'aws_kms':
        if not region or not cmk:
            raise RekeyError('an AWS KMS key needs its region and its alias (alias/<name>)')
        settings = {'AWS_REGION': region, 'LKR_AWS_CMK': cmk if cmk.startswith('alias/') else 'alias/' + cmk}
        if context:
            settings['LKR_AWS_CMK_EC'] = context
        return settings
    raise RekeyError('unknown kind of key %r (local_env, local_file or aws_kms)' % (kind,))


def identity(settings):
    """What names the key of ``settings`` without its secret: the kind and the non-secret values."""
    return tuple(sorted((name, '<secret>' if name in SECRET_SETTINGS else value) for name, value in settings.items()))


def rekey_environment(source, destination, overrides=None, source_kcv=None, destination_kcv=None):
    """The environment of the one ``rekey`` run: the old key's settings under their _SOURCE names and the new
    key's under their _DESTINATION names. ``source``/``destination`` come from key_settings(). Local keys are
    compared by their key check values (``*_kcv``), never by their text in a message."""
    if not source or not destination:
        raise RekeyError('rekey needs the settings of the old key and of the new key')
    unknown = [n for n in list(source) + list(destination) if not any(n in names for names in KIND_SETTINGS.values())]
    if unknown:
        raise RekeyError('not a Looker key setting: %s' % ', '.join(sorted(set(unknown))))
    same_local = source_kcv is not None and source_kcv == destination_kcv
    same_other = (identity(source) == identity(destination) and not (set(source) & SECRET_SETTINGS))
    if same_local or same_other:
        raise RekeyError('the new key is the key in force (%s): a rekey needs a different key'
                         % (source_kcv if same_local else ', '.join('%s=%s' % kv for kv in identity(source))))
    env = {}
    for side, settings in (('source', source), ('destination', destination)):
        for setting, value in settings.items():
            env[variable_name(setting, side, overrides)] = value
    return env


def inferred_names(env):
    """The names in a rekey environment that Looker does not document (to say so in the run's output)."""
    return sorted(name for name in env if is_inferred(name))
