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

import json
import re
import time

from ansible_collections.lookerops.encryption.plugins.module_utils._files import atomic_write
from ansible_collections.lookerops.encryption.plugins.module_utils._key_material import KeyMaterialError, is_kcv, kcv_of_text, kms_identity
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.home import OperationFailed
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.migrate import OfflineTask, run_offline_task

# Looker documents no log line for the start of a rekey: whether it changed anything is judged from its attempts.
NEVER = re.compile(r'(?!)')

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
# A rekey variable's name, also one given in lookerops_rekey_variable_names: a plain environment variable name in the pattern
# of Looker's settings (LKR_... or AWS_..., capitals, digits and underscores).
VARIABLE_NAME = re.compile(r'^(LKR|AWS)_[A-Z0-9_]*[A-Z0-9]$')


class RekeyError(Exception):
    """The old and new key settings cannot make a rekey."""


def _all_settings():
    return [name for names in KIND_SETTINGS.values() for name in names]


def check_variable_names(overrides):
    """Refuse renames of the rekey variables (``lookerops_rekey_variable_names``) that are not
    ``{SETTING: {source: NAME, destination: NAME}}`` with a known Looker key setting and plain variable names in the pattern
    of Looker's settings, none of them a plain key setting and no two alike. Returns the overrides."""
    if not overrides:
        return {}
    if not isinstance(overrides, dict):
        raise RekeyError('expected a mapping {SETTING: {source: NAME, destination: NAME}}, got %s' % type(overrides).__name__)
    known = _all_settings()
    for setting, sides in overrides.items():
        if setting not in known:
            raise RekeyError('%r is not a key setting a rekey hands over (one of %s)' % (setting, ', '.join(known)))
        if not isinstance(sides, dict) or not sides or set(sides) - set(SIDES):
            raise RekeyError('%s: expected {source: NAME, destination: NAME} (either or both), got %r' % (setting, sides))
        for side, name in sides.items():
            if not isinstance(name, str) or not VARIABLE_NAME.match(name):
                raise RekeyError('%s.%s: %r is not a plain environment variable name in the pattern of Looker\'s settings '
                                 '(LKR_... or AWS_..., capitals, digits and underscores)' % (setting, side, name))
            if name in PLAIN_KEY_SETTINGS:
                raise RekeyError('%s.%s: %s is a key setting Looker reads at start, not a rekey variable; the rekey task never '
                                 'gets the plain key settings' % (setting, side, name))
    names = {}
    for setting in known:
        for side in SIDES:
            name = overrides.get(setting, {}).get(side) or '%s_%s' % (setting, side.upper())
            if name in names:
                raise RekeyError('%s is given to both %s and %s.%s' % (name, names[name], setting, side))
            names[name] = '%s.%s' % (setting, side)
    return overrides


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
    check_variable_names(overrides)
    env = {}
    for side, settings in (('source', source), ('destination', destination)):
        for setting, value in settings.items():
            env[variable_name(setting, side, overrides)] = value
    # Which name a release reads for the region of a KMS key in a rekey is not documented. When the two keys agree on it
    # (or only one of them is a KMS key), the task also gets it as plain AWS_REGION, the name Looker reads at start.
    regions = sorted(set(settings['AWS_REGION'] for settings in (source, destination) if settings.get('AWS_REGION')))
    if len(regions) == 1:
        env.setdefault('AWS_REGION', regions[0])
    return env


def inferred_names(env):
    """The names in a rekey environment that Looker does not document (to say so in the run's output)."""
    return sorted(name for name in env if is_inferred(name) and name not in KIND_SETTINGS['aws_kms'])


# ---------------------------------------------------------------- the rekey run on a stopped node

# Settings of lookerstart.cfg the rekey task must not see: it is told both keys by the _SOURCE/_DESTINATION
# variables only (AWS_REGION stays: the AWS SDK reads it for everything else).
PLAIN_KEY_SETTINGS = ('LKR_MASTER_KEY_FILE', 'LKR_MASTER_KEY_ENV', 'LKR_AWS_CMK', 'LKR_AWS_CMK_EC')
STATE_VERSION = 1


def source_settings(config):
    """(settings, identity) of the key Looker gets on this node now, read from lookerstart.cfg.

    A local key is always handed on as text under the documented LKR_MASTER_KEY_ENV name, whether the node reads it
    from a file or from the environment: the one pair of rekey variables Looker documents.
    """
    summary = config.key_summary()
    if summary['mode'] == 'aws':
        settings = key_settings('aws_kms', region=summary['aws_region'] or '', cmk=summary['aws_cmk'] or '',
                                context=summary['aws_cmk_ec'] or None)
        return settings, config.key_identity()['identity']
    if summary['mode'] in ('file', 'env'):
        _kind, text = config.key_text_in_force()
        try:
            ident = kcv_of_text(text)
        except KeyMaterialError as exc:
            raise RekeyError('the key Looker gets on this node now is not a valid CMK (%s): fix the node first' % exc) from None
        return {'LKR_MASTER_KEY_ENV': text.strip()}, ident
    if summary['mode'] == 'multiple':
        raise RekeyError('lookerstart.cfg gives Looker more than one kind of key (%s): which key the data is under is '
                         'not clear; fix the node by hand first' % ', '.join(summary['modes']))
    raise RekeyError('lookerstart.cfg gives Looker no key settings: rekey changes the key of an instance on AES-256-GCM; '
                     'migrate it first (lookerops.encryption.migrate)')


def destination_settings(kind, key=None, aws_region=None, aws_cmk=None, aws_cmk_ec=None):
    """(settings, identity) of the new key: ``kind`` local (key text) or aws_kms."""
    if kind == 'local':
        try:
            ident = kcv_of_text(key or '')
        except KeyMaterialError as exc:
            raise RekeyError('the new key is not a valid CMK: %s' % exc) from None
        return {'LKR_MASTER_KEY_ENV': key.strip()}, ident
    settings = key_settings('aws_kms', region=aws_region, cmk=aws_cmk, context=aws_cmk_ec)
    return settings, kms_identity(aws_region, aws_cmk, aws_cmk_ec)


def read_state(path):
    """The rekey state file beside the run lock ({} when there is none)."""
    try:
        with open(path) as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise RekeyError('the rekey state file %s cannot be read (%s): move it aside only if no rekey is under way'
                         % (path, exc)) from None
    return data if isinstance(data, dict) else {}


def write_state(path, **state):
    """Write the rekey state (identities only, never key text), 0600 from the first byte."""
    state = dict(state, version=STATE_VERSION, updated_utc=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
    atomic_write(path, (json.dumps(state, sort_keys=True) + '\n').encode('ascii'), mode=0o600)
    return state


def rekey(node, destination_kind, destination_key=None, aws_region=None, aws_cmk=None, aws_cmk_ec=None,
          expected_source=None, state_path=None, run_id=None, overrides=None, check_mode=False, **task_options):
    """Run ``java -jar looker.jar rekey`` once, with the old key (as Looker gets it on this node now) under the
    _SOURCE names and the new key under the _DESTINATION names, in the task's environment only.

    Idempotent: when this node's settings already name the new key, or the state file says a rekey from the same old
    key to the same new key completed, nothing runs. A rekey that did not complete (state ``running``) is run again
    with the same keys; one towards another key is refused.
    """
    node.require_home()
    dst_settings, dst_ident = destination_settings(destination_kind, destination_key, aws_region, aws_cmk, aws_cmk_ec)
    in_force = node.config.key_identity()
    base = {'changed': False, 'destination': dst_ident, 'source': in_force.get('identity'), 'already_rekeyed': False,
            'variables': [], 'inferred_variables': [], 'attempts': [], 'log_lines': [], 'command': [],
            'task_ran': False, 'duration_seconds': 0.0, 'state_path': state_path}
    if in_force.get('identity') == dst_ident:
        base.update(already_rekeyed=True, msg='this node already gives Looker the new key %s: nothing to do' % dst_ident)
        return base
    state = read_state(state_path) if state_path else {}
    if state:
        same = state.get('destination') == dst_ident and state.get('source') == in_force.get('identity')
        if state.get('state') == 'done' and same:
            base.update(already_rekeyed=True, msg='the rekey from %s to %s completed (run %s); only the key settings of '
                        'the nodes were left to change' % (state['source'], dst_ident, state.get('run_id')))
            return base
        if state.get('state') == 'done' and in_force.get('identity') != state.get('destination'):
            # Looker's rekey moved the data to the recorded key; a rekey from the key this node still names would destroy it.
            raise OperationFailed('the rekey from %s to %s completed (run %s, state file %s): the data is under %s, but this node '
                                  'gives Looker %s. Only the key settings of %s are left to set: resume that run '
                                  '(-e lookerops_run_id=%s) with that key, or roll it back '
                                  '(lookerops.encryption.rollback -e lookerops_run_id=%s); nothing was run'
                                  % (state.get('source'), state.get('destination'), state.get('run_id'), state_path,
                                     state.get('destination'), in_force.get('identity'), state.get('destination'),
                                     state.get('run_id'), state.get('run_id')), **base)
        if state.get('state') == 'running' and not same:
            raise OperationFailed('a rekey from %s to %s did not complete (run %s, state file %s): the data may be under '
                                  'either key. Resume that rekey with the same new key, or roll it back '
                                  '(lookerops.encryption.rollback -e lookerops_run_id=%s); nothing was run'
                                  % (state.get('source'), state.get('destination'), state.get('run_id'), state_path,
                                     state.get('run_id')), **base)
    src_settings, src_ident = source_settings(node.config)
    base['source'] = src_ident
    if expected_source is not None and src_ident != expected_source:
        raise OperationFailed('this node gives Looker the key %s, but the run planned to rekey from %s: the node '
                              'changed since preflight. Run again; nothing was run' % (src_ident, expected_source), **base)
    env = rekey_environment(src_settings, dst_settings, overrides,
                            source_kcv=src_ident if is_kcv(src_ident) else None,
                            destination_kcv=dst_ident if is_kcv(dst_ident) else None)
    base.update(variables=sorted(env), inferred_variables=inferred_names(env))
    task = OfflineTask('rekey', NEVER, env=env, unset=PLAIN_KEY_SETTINGS, require_key_settings=False)
    if check_mode:
        base['changed'] = True
        return base
    if state_path:
        write_state(state_path, state='running', source=src_ident, destination=dst_ident, run_id=run_id)
    try:
        result = run_offline_task(node, task, check_mode=False, **task_options)
    except OperationFailed as exc:
        exc.result.pop('task_started', None)
        ran = any(a['rc'] is None or not a['live_nodes'] for a in exc.result.get('attempts', []))
        exc.result.update({k: v for k, v in base.items() if k not in exc.result}, task_ran=ran)
        if not ran and state_path:
            # Refused before Looker touched anything (live nodes, or it never started): the old key still holds.
            write_state(state_path, state='refused', source=src_ident, destination=dst_ident, run_id=run_id)
        raise
    result.pop('task_started', None)
    base.update(result, changed=True, task_ran=True)
    if state_path:
        write_state(state_path, state='done', source=src_ident, destination=dst_ident, run_id=run_id)
    return base
