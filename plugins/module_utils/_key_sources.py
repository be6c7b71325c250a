# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: which key Looker gets on a node, read from every place Looker reads it.

This is not a public API; it may change without notice. Standard library only: it runs on the node.

Looker gets its key settings from its environment: what ``lookerstart.cfg`` exports (the startup script sources it),
on top of what the systemd unit gives it (``Environment=``, ``EnvironmentFile=``); a running Looker shows what it got
in ``/proc/<pid>/environ``. The sources are gathered here (key text only in memory, read through pipes or from the
files themselves, never written anywhere) and compared by :func:`compare_key_sources`, a pure decision that names
keys by identity only (a key check value, or ``kms:<region>/<alias>/<context>``).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess

from ansible_collections.lookerops.encryption.plugins.module_utils._key_material import (
    KeyMaterialError,
    kcv_of_text,
    kms_identity,
    read_key_file,
)

KEY_SOURCE_VARS = ('LKR_MASTER_KEY_ENV', 'LKR_MASTER_KEY_FILE', 'AWS_REGION', 'LKR_AWS_CMK', 'LKR_AWS_CMK_EC')
DEFAULT_SYSTEMD_UNIT = 'looker.service'
CFG_SOURCE = 'lookerstart.cfg'
SYSTEMD_SOURCE = 'systemd'
PROCESS_SOURCE = 'process'


def settings_identities(pairs, home):
    """What a set of key settings (``{name: value}``) names: {settings, identities, errors}; never key text.

    Each setting is read on its own (LKR_MASTER_KEY_ENV, the file LKR_MASTER_KEY_FILE names, the KMS settings), so
    settings that name two different keys show as two identities. A relative key file is taken from ``home``
    (Looker's working directory).
    """
    identities = []
    errors = []
    if 'LKR_MASTER_KEY_ENV' in pairs:
        try:
            identities.append(kcv_of_text(pairs['LKR_MASTER_KEY_ENV']))
        except KeyMaterialError as exc:
            errors.append('LKR_MASTER_KEY_ENV is not a valid CMK (%s)' % exc)
    if 'LKR_MASTER_KEY_FILE' in pairs:
        path = pairs['LKR_MASTER_KEY_FILE']
        full = path if os.path.isabs(path) else os.path.join(home, path)
        try:
            info = read_key_file(full)
        except (KeyMaterialError, OSError) as exc:
            errors.append('the key file %s named by LKR_MASTER_KEY_FILE cannot be read (%s)' % (path, getattr(exc, 'strerror', None) or exc))
        else:
            if not info['exists']:
                errors.append('LKR_MASTER_KEY_FILE names %s, which does not exist' % path)
            elif info['invalid']:
                errors.append('the key file %s is not a valid CMK (%s)' % (path, info['invalid']))
            else:
                identities.append(info['kcv'])
    if 'LKR_AWS_CMK' in pairs:
        identities.append(kms_identity(pairs.get('AWS_REGION'), pairs['LKR_AWS_CMK'], pairs.get('LKR_AWS_CMK_EC')))
    settings = sorted(name for name in KEY_SOURCE_VARS if name in pairs and name != 'AWS_REGION')
    return {'settings': settings, 'identities': sorted(set(identities)), 'errors': errors}


def source(kind, name, pairs, home, error=None):
    """One source for :func:`compare_key_sources`: its kind, a name for the operator, what it names (never key text)."""
    out = {'source': kind, 'name': name}
    if error:
        out.update(settings=[], identities=[], errors=[error])
    else:
        out.update(settings_identities(pairs, home))
    return out


def _describe(src):
    if src['errors']:
        return '%s: %s' % (src['name'], '; '.join(src['errors']))
    if not src['identities']:
        return '%s: no key' % src['name']
    return '%s: %s' % (src['name'], ' and '.join(src['identities']))


def compare_key_sources(sources):
    """Whether every place Looker reads its key agrees on it: {identity, sources, problem}.

    ``sources`` holds the lookerstart.cfg source (kind ``lookerstart.cfg``, always) and those of the systemd unit and of
    the running Looker process when they exist. The run may go on (``problem`` None) only when lookerstart.cfg, which
    the collection reads and manages, shows the key Looker gets everywhere:

    - a source that cannot be read, or that names two keys at once, is a problem;
    - the systemd unit or the running Looker naming a key that lookerstart.cfg does not show (none, or another) is a
      problem: a run would not see the key the data may be under, and could generate or set another;
    - a running Looker without key settings while lookerstart.cfg names a key is not: that Looker was started before
      the settings and uses no key (the next start gets them).

    ``identity`` is the key every source agrees on (None without one); ``problem`` names what each source says
    (identities only) and what to do.
    """
    cfg = next((s for s in sources if s['source'] == CFG_SOURCE), None)
    if cfg is None:
        raise ValueError('the lookerstart.cfg source is missing')
    others = [s for s in sources if s is not cfg]
    reasons = []
    for src in others:
        if src['errors']:
            reasons.append('%s cannot be read: %s' % (src['name'], '; '.join(src['errors'])))
    for src in sources:
        if len(src['identities']) > 1:
            reasons.append('%s names %d different keys at once (%s)'
                           % (src['name'], len(src['identities']), ', '.join(src['identities'])))
    cfg_ids = cfg['identities']
    for src in others:
        if src['errors'] or not src['identities'] or len(src['identities']) > 1:
            continue
        if not cfg_ids:
            reasons.append('%s gives Looker %s, which lookerstart.cfg does not show' % (src['name'], src['identities'][0]))
        elif cfg_ids and src['identities'] != cfg_ids:
            reasons.append('%s gives Looker %s, lookerstart.cfg %s' % (src['name'], src['identities'][0], ', '.join(cfg_ids)))
    summary = [{'source': s['source'], 'name': s['name'], 'settings': s['settings'], 'identities': s['identities'],
                'errors': s['errors']} for s in sources]
    if not reasons:
        return {'identity': cfg_ids[0] if len(cfg_ids) == 1 else None, 'sources': summary, 'problem': None}
    problem = ('the places Looker reads its key from disagree (%s): %s. This collection reads and manages the key '
               'settings in lookerstart.cfg only, so a run now could migrate or rekey with a key other than the one '
               'Looker uses, or generate a new one. Nothing was changed. Make them agree first: put the key settings '
               'Looker uses into lookerstart.cfg (export LKR_MASTER_KEY_FILE=... or the KMS settings) and remove them '
               'from the systemd unit (Environment=, EnvironmentFile=, drop-ins; then systemctl daemon-reload), or '
               'restart Looker if it still runs with settings changed since; then run again'
               % ('; '.join(_describe(s) for s in sources), '; '.join(reasons)))
    return {'identity': None, 'sources': summary, 'problem': problem}


# -- gathering (impure): the node's sources ----------------------------------------------------------------------------

def _pipe(argv, timeout=30):
    """(rc, stdout text) of ``argv`` read through a pipe (its output may hold key text: never a file)."""
    try:
        # pylint: disable-next=ansible-bad-function
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              timeout=timeout, check=False, env={'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LC_ALL': 'C',
                                                                 'SYSTEMD_PAGER': '', 'SYSTEMD_COLORS': '0'})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, str(exc)
    return proc.returncode, proc.stdout.decode('utf-8', 'replace')


def parse_assignments(text):
    """{name: value} of systemd ``Environment=`` style assignments (``A=1 "B=x y"``); later ones win."""
    pairs = {}
    try:
        words = shlex.split(text or '', posix=True)
    except ValueError:
        words = (text or '').split()
    for word in words:
        name, sep, value = word.partition('=')
        if sep and name:
            pairs[name] = value
    return pairs


def parse_environment_file(data):
    """{name: value} of a systemd EnvironmentFile (``NAME=value`` lines, ``#``/``;`` comments, optional quotes)."""
    pairs = {}
    for line in data.splitlines():
        line = line.strip()
        if not line or line[0] in '#;':
            continue
        if line.startswith('export '):
            line = line[len('export '):].lstrip()
        name, sep, value = line.partition('=')
        name = name.strip()
        if not sep or not name:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in '"\'':
            value = value[1:-1]
        pairs[name] = value
    return pairs


def parse_environment_files(value):
    """[(path, ignore_errors)] from ``systemctl show -p EnvironmentFiles`` values (``PATH (ignore_errors=no)``)."""
    files = []
    for line in value:
        line = line.strip()
        if not line:
            continue
        path, _sep, rest = line.partition(' ')
        files.append((path, 'ignore_errors=yes' in rest))
    return files


def systemd_source(home, unit=DEFAULT_SYSTEMD_UNIT, systemctl=None):
    """The key settings the systemd unit gives Looker, as a source; None when there is no systemd or no such unit.

    ``systemctl show`` prints Environment= values (key text, when a unit carries one): read through a pipe only.
    """
    systemctl = systemctl or shutil.which('systemctl')
    if not systemctl:
        return None
    rc, out = _pipe([systemctl, 'show', '--no-pager', '-p', 'LoadState', '-p', 'Environment', '-p', 'EnvironmentFiles',
                     unit])
    if rc != 0:
        # No running systemd (a container, a chroot): there is no unit environment to read.
        return None
    props = {'LoadState': [], 'Environment': [], 'EnvironmentFiles': []}
    for line in out.splitlines():
        name, sep, value = line.partition('=')
        if sep and name in props:
            props[name].append(value)
    if 'loaded' not in props['LoadState']:
        return None
    name = 'systemd unit %s' % unit
    pairs = parse_assignments(' '.join(props['Environment']))
    read = []
    # EnvironmentFile= settings override Environment= ones, later files earlier ones (systemd.exec).
    for path, ignore_errors in parse_environment_files(props['EnvironmentFiles']):
        try:
            with open(path, 'rb') as handle:
                pairs.update(parse_environment_file(handle.read(1048576).decode('utf-8', 'replace')))
            read.append(path)
        except OSError as exc:
            if not ignore_errors:
                return source(SYSTEMD_SOURCE, name, {}, home,
                              error='its EnvironmentFile %s cannot be read (%s)' % (path, exc.strerror))
    if read:
        name += ' (Environment= and EnvironmentFile %s)' % ', '.join(read)
    return source(SYSTEMD_SOURCE, name, {k: v for k, v in pairs.items() if k in KEY_SOURCE_VARS}, home)


def process_source(pid, home, proc_root='/proc'):
    """The key settings the running Looker (``pid``) got, from its own environment, as a source; None when it is gone."""
    name = 'the running Looker (pid %s)' % pid
    try:
        with open(os.path.join(proc_root, str(pid), 'environ'), 'rb') as handle:
            raw = handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return source(PROCESS_SOURCE, name, {}, home,
                      error='%s/%s/environ cannot be read (%s): run as root (become: true)' % (proc_root, pid, exc.strerror))
    pairs = {}
    for entry in raw.split(b'\0'):
        key, sep, value = entry.partition(b'=')
        if sep and key.decode('ascii', 'replace') in KEY_SOURCE_VARS:
            pairs[key.decode('ascii')] = value.decode('utf-8', 'replace')
    return source(PROCESS_SOURCE, name, pairs, home)


def cfg_source(node):
    """What lookerstart.cfg gives Looker, as a source (LKR_MASTER_KEY_ENV read through a pipe, never a file)."""
    settings = node.config.settings()
    present = settings['key_vars']
    pairs = {name: value for name, value in settings['key_values'].items() if value is not None}
    if present['LKR_MASTER_KEY_ENV']['set']:
        kind, text = node.config.key_text_in_force()
        if kind == 'env':
            pairs['LKR_MASTER_KEY_ENV'] = text
    return source(CFG_SOURCE, 'lookerstart.cfg', pairs, node.home)


def key_sources(node, systemd_unit=DEFAULT_SYSTEMD_UNIT, systemctl=None, proc_root='/proc'):
    """Every place Looker reads its key on this node, compared (:func:`compare_key_sources`); never key text."""
    sources = [cfg_source(node)]
    unit = systemd_source(node.home, systemd_unit, systemctl) if systemd_unit else None
    if unit is not None:
        sources.append(unit)
    state = node.pid_state()
    if state['pid_alive']:
        proc = process_source(state['pid'], node.home, proc_root)
        if proc is not None:
            sources.append(proc)
    return compare_key_sources(sources)
