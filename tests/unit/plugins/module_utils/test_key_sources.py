# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of _key_sources: the key Looker gets, read from lookerstart.cfg, the systemd unit and the running Looker.

The decision (compare_key_sources) is tested branch by branch on plain data; the gathering against a real Looker home,
a fake ``systemctl`` written here and a real process whose environment carries a key.
"""

from __future__ import annotations

import base64
import json
import os
import pwd
import signal
import subprocess
import sys
import types

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils import _key_sources as ks
from ansible_collections.lookerops.encryption.plugins.module_utils._looker import node as ln
from ansible_collections.lookerops.encryption.plugins.module_utils._key_material import kcv_of_text, kms_identity

KEY_A = base64.b64encode(bytes(range(32))).decode()
KEY_B = base64.b64encode(bytes(range(1, 33))).decode()
A, B = kcv_of_text(KEY_A), kcv_of_text(KEY_B)
KMS = kms_identity('us-east-1', 'alias/looker', None)
USER = pwd.getpwuid(os.getuid()).pw_name


def src(kind, identities=(), errors=(), name=None):
    return {'source': kind, 'name': name or kind, 'settings': [], 'identities': sorted(identities), 'errors': list(errors)}


CFG = ks.CFG_SOURCE
UNIT = ks.SYSTEMD_SOURCE
PROC = ks.PROCESS_SOURCE


# -- the decision, branch by branch -------------------------------------------------------------------------------------

@pytest.mark.parametrize('case, sources, identity', [
    ('no key anywhere', [src(CFG)], None),
    ('lookerstart.cfg only', [src(CFG, [A])], A),
    ('every source agrees', [src(CFG, [A]), src(UNIT, [A]), src(PROC, [A])], A),
    ('KMS everywhere', [src(CFG, [KMS]), src(PROC, [KMS])], KMS),
    ('Looker started before the settings: runs without a key', [src(CFG, [A]), src(PROC)], A),
    ('a unit without key settings', [src(CFG, [A]), src(UNIT)], A),
    ('lookerstart.cfg unusable, nothing elsewhere (reported by the key plan)', [src(CFG, errors=['bad'])], None),
])
def test_agreement(case, sources, identity):
    verdict = ks.compare_key_sources(sources)
    assert verdict['problem'] is None, case
    assert verdict['identity'] == identity
    assert [s['source'] for s in verdict['sources']] == [s['source'] for s in sources]


@pytest.mark.parametrize('case, sources, words', [
    ('the running Looker has a key lookerstart.cfg does not show',
     [src(CFG), src(PROC, [A], name='the running Looker (pid 7)')],
     ['the running Looker (pid 7) gives Looker %s, which lookerstart.cfg does not show' % A, 'lookerstart.cfg: no key']),
    ('the systemd unit has a key lookerstart.cfg does not show',
     [src(CFG), src(UNIT, [B], name='systemd unit looker.service')],
     ['systemd unit looker.service gives Looker %s, which lookerstart.cfg does not show' % B]),
    ('the running Looker uses another key',
     [src(CFG, [A]), src(PROC, [B], name='the running Looker (pid 7)')],
     ['the running Looker (pid 7) gives Looker %s, lookerstart.cfg %s' % (B, A)]),
    ('the unit names KMS, lookerstart.cfg a local key',
     [src(CFG, [A]), src(UNIT, [KMS], name='systemd unit looker.service')],
     ['systemd unit looker.service gives Looker %s, lookerstart.cfg %s' % (KMS, A)]),
    ('lookerstart.cfg cannot be used but the running Looker has a key',
     [src(CFG, errors=['LKR_MASTER_KEY_FILE names /x, which does not exist']), src(PROC, [A], name='the running Looker')],
     ['which lookerstart.cfg does not show', 'lookerstart.cfg: LKR_MASTER_KEY_FILE names /x, which does not exist']),
    ('the running Looker cannot be read',
     [src(CFG, [A]), src(PROC, errors=['/proc/7/environ cannot be read (Permission denied)'], name='the running Looker')],
     ['the running Looker cannot be read: /proc/7/environ cannot be read (Permission denied)']),
    ('the unit names two keys',
     [src(CFG, [A]), src(UNIT, [A, B], name='systemd unit looker.service')],
     ['systemd unit looker.service names 2 different keys at once']),
    ('lookerstart.cfg names two keys', [src(CFG, [A, B], name='lookerstart.cfg')],
     ['lookerstart.cfg names 2 different keys at once']),
])
def test_disagreement(case, sources, words):
    verdict = ks.compare_key_sources(sources)
    assert verdict['identity'] is None, case
    for word in words:
        assert word in verdict['problem'], (case, verdict['problem'])
    assert 'Nothing was changed' in verdict['problem'] and 'lookerstart.cfg' in verdict['problem']


def test_the_lookerstart_cfg_source_is_required():
    with pytest.raises(ValueError):
        ks.compare_key_sources([src(PROC, [A])])


# -- what a set of settings names ------------------------------------------------------------------------------------------

def test_settings_identities(tmp_path):
    key_file = tmp_path / 'cmk.key'
    key_file.write_text(KEY_B + '\n')
    bad_file = tmp_path / 'bad.key'
    bad_file.write_text('short\n')
    home = str(tmp_path)
    assert ks.settings_identities({}, home) == {'settings': [], 'identities': [], 'errors': []}
    assert ks.settings_identities({'LKR_MASTER_KEY_ENV': KEY_A}, home)['identities'] == [A]
    assert ks.settings_identities({'LKR_MASTER_KEY_FILE': 'cmk.key'}, home)['identities'] == [B]  # relative to the home
    both = ks.settings_identities({'LKR_MASTER_KEY_ENV': KEY_A, 'LKR_MASTER_KEY_FILE': str(key_file)}, home)
    assert both['identities'] == sorted([A, B]) and both['settings'] == ['LKR_MASTER_KEY_ENV', 'LKR_MASTER_KEY_FILE']
    kms = ks.settings_identities({'AWS_REGION': 'us-east-1', 'LKR_AWS_CMK': 'alias/looker'}, home)
    assert kms['identities'] == [KMS] and kms['settings'] == ['LKR_AWS_CMK']
    assert ks.settings_identities({'AWS_REGION': 'us-east-1'}, home) == {'settings': [], 'identities': [], 'errors': []}
    assert 'not a valid CMK' in ks.settings_identities({'LKR_MASTER_KEY_ENV': 'nope'}, home)['errors'][0]
    assert 'does not exist' in ks.settings_identities({'LKR_MASTER_KEY_FILE': '/nonexistent/k'}, home)['errors'][0]
    assert 'is not a valid CMK' in ks.settings_identities({'LKR_MASTER_KEY_FILE': str(bad_file)}, home)['errors'][0]


def test_parsers():
    assert ks.parse_assignments('A=1 "LKR_MASTER_KEY_ENV=x y" B= C=2 A=3') == {'A': '3', 'LKR_MASTER_KEY_ENV': 'x y', 'B': '',
                                                                               'C': '2'}
    assert ks.parse_environment_file('# c\n; c\n\nexport A=1\nB="two"\nC=\'3\'\nnot a line\n D = 4 \n') == {
        'A': '1', 'B': 'two', 'C': '3', 'D': '4'}
    assert ks.parse_environment_files(['/etc/a.env (ignore_errors=no)', '/etc/b.env (ignore_errors=yes)', '']) == [
        ('/etc/a.env', False), ('/etc/b.env', True)]


# -- the systemd unit, through a fake systemctl ------------------------------------------------------------------------------

def fake_systemctl(tmp_path, output, rc=0):
    out = tmp_path / 'show.out'
    out.write_text(output)
    path = tmp_path / 'systemctl'
    path.write_text('#!/bin/sh\necho "$@" > %s.args\ncat %s\nexit %d\n' % (path, out, rc))
    os.chmod(str(path), 0o755)
    return str(path)


def test_systemd_source(tmp_path):
    env_file = tmp_path / 'looker.env'
    env_file.write_text('LKR_MASTER_KEY_ENV=%s\nOTHER=1\n' % KEY_B)
    systemctl = fake_systemctl(tmp_path, 'LoadState=loaded\nEnvironment=LKR_MASTER_KEY_ENV=%s JAVA_HOME=/j\n'
                                         'EnvironmentFiles=%s (ignore_errors=no)\n'
                                         'EnvironmentFiles=/nonexistent.env (ignore_errors=yes)\n' % (KEY_A, env_file))
    unit = ks.systemd_source(str(tmp_path), 'looker.service', systemctl)
    # The EnvironmentFile wins over Environment=, as in systemd; only identities come back.
    assert unit['identities'] == [B] and unit['errors'] == [] and unit['source'] == ks.SYSTEMD_SOURCE
    assert unit['name'] == 'systemd unit looker.service (Environment= and EnvironmentFile %s)' % env_file
    assert KEY_A not in json.dumps(unit) and KEY_B not in json.dumps(unit)
    with open(systemctl + '.args') as handle:
        assert handle.read().split() == ['show', '--no-pager', '-p', 'LoadState', '-p', 'Environment', '-p',
                                         'EnvironmentFiles', 'looker.service']


def test_systemd_source_absent_or_unreadable(tmp_path):
    assert ks.systemd_source(str(tmp_path), 'looker.service', fake_systemctl(tmp_path, 'LoadState=not-found\n')) is None
    assert ks.systemd_source(str(tmp_path), 'looker.service', fake_systemctl(tmp_path, 'Failed to connect to bus\n', 1)) is None
    assert ks.systemd_source(str(tmp_path), 'looker.service', str(tmp_path / 'no-systemctl')) is None
    unit = ks.systemd_source(str(tmp_path), 'looker.service', fake_systemctl(
        tmp_path, 'LoadState=loaded\nEnvironment=\nEnvironmentFiles=/nonexistent.env (ignore_errors=no)\n'))
    assert unit['errors'] == ['its EnvironmentFile /nonexistent.env cannot be read (No such file or directory)']


# -- the running Looker's own environment ------------------------------------------------------------------------------------

@pytest.fixture(name='looker')
def looker_fixture(tmp_path):
    """A Looker home with lookerstart.cfg, and a 'running Looker' started by the test with extra environment."""
    home = tmp_path / 'looker'
    (home / '.tmp').mkdir(parents=True)
    procs = []

    def start(env):
        # A process whose command line names looker.jar (the collection's rule for "Looker's pid").
        # It says 'ready' once running: straight after exec the kernel may not yet show its environment.
        proc = subprocess.Popen([sys.executable, '-c', 'import sys; print("ready", flush=True); sys.stdin.read()',
                                 '-jar', 'looker.jar', 'start'],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=dict(os.environ, **env), cwd=str(home))
        procs.append(proc)
        assert proc.stdout.readline() == b'ready\n'
        (home / '.tmp' / 'looker.pid').write_text('%d\n' % proc.pid)
        return proc.pid

    def cfg(text):
        (home / 'lookerstart.cfg').write_text(text)
    cfg('LOOKERARGS="--no-ssl"\n')
    yield types.SimpleNamespace(home=str(home), start=start, cfg=cfg)
    for proc in procs:
        proc.stdin.close()
        proc.stdout.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()


def node_of(looker):
    return ln.LookerNode(looker.home, USER, path='/usr/bin:/bin')


def test_process_source(looker, tmp_path):
    pid = looker.start({'LKR_MASTER_KEY_ENV': KEY_A, 'AWS_REGION': 'eu-west-1'})
    proc = ks.process_source(pid, looker.home)
    assert proc['identities'] == [A] and proc['name'] == 'the running Looker (pid %d)' % pid
    assert proc['settings'] == ['LKR_MASTER_KEY_ENV'] and KEY_A not in json.dumps(proc)
    assert ks.process_source(2 ** 22 + 11, looker.home) is None  # gone
    fake_proc = tmp_path / 'proc' / '7' / 'environ'
    fake_proc.mkdir(parents=True)  # a directory: reading it fails like a refused read
    assert 'cannot be read' in ks.process_source(7, looker.home, str(tmp_path / 'proc'))['errors'][0]


def test_key_sources_refuse_a_key_only_the_running_looker_has(looker):
    """A hand-migrated node: Looker runs with LKR_MASTER_KEY_ENV that lookerstart.cfg does not show."""
    pid = looker.start({'LKR_MASTER_KEY_ENV': KEY_A})
    verdict = ks.key_sources(node_of(looker), systemd_unit='')
    assert verdict['identity'] is None
    assert 'the running Looker (pid %d) gives Looker %s, which lookerstart.cfg does not show' % (pid, A) in verdict['problem']
    assert KEY_A not in json.dumps(verdict)


def test_key_sources_agree(looker, tmp_path):
    key_file = tmp_path / 'cmk.key'
    key_file.write_text(KEY_A + '\n')
    os.chmod(str(key_file), 0o400)
    looker.cfg('export LKR_MASTER_KEY_FILE=%s\n' % key_file)
    looker.start({'LKR_MASTER_KEY_FILE': str(key_file)})
    verdict = ks.key_sources(node_of(looker), systemd_unit='')
    assert verdict['problem'] is None and verdict['identity'] == A
    assert [s['source'] for s in verdict['sources']] == [ks.CFG_SOURCE, ks.PROCESS_SOURCE]


def test_key_sources_env_in_lookerstart_cfg_and_a_unit(looker, tmp_path):
    looker.cfg("export LKR_MASTER_KEY_ENV='%s'\n" % KEY_A)
    systemctl = fake_systemctl(tmp_path, 'LoadState=loaded\nEnvironment=LKR_MASTER_KEY_ENV=%s\n' % KEY_B)
    verdict = ks.key_sources(node_of(looker), systemctl=systemctl)
    assert 'systemd unit looker.service gives Looker %s, lookerstart.cfg %s' % (B, A) in verdict['problem']
    assert KEY_A not in json.dumps(verdict) and KEY_B not in json.dumps(verdict)
    looker.cfg("export LKR_MASTER_KEY_ENV='%s'\n" % KEY_B)
    verdict = ks.key_sources(node_of(looker), systemctl=systemctl)
    assert verdict['problem'] is None and verdict['identity'] == B
