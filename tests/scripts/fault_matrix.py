#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fault matrix: lookerops.encryption.migrate (and rekey) under the faults of the field, on a fresh bed each.

For every fault: run the real ansible-playbook, inject the fault (before the run, or when a given
``TASK [...]`` header appears on its stdout), record how the run ended and whether it named cause
and remedy; when it left nodes down, undo the fault and resume with the same run id. Then check
every node is up, no ``.deploying`` is left, the stand-in digest is unchanged, the records are all
GCM (completed) or all legacy (refused / service restored), and scan output, argv samples, node
files and the controller directory for key bytes.

    .venv/bin/python tests/scripts/fault_matrix.py [--list] [--only NAME ...]

Takes the machine-wide bed lock (/tmp/lookerops-bed/.pytest.lock) for the whole run, or uses the
one inherited on the descriptor named by LOOKEROPS_BED_LOCK_FD (a pytest session that holds it).
Every bed is torn down at the end, also on failure or Ctrl-C. Exits 1 when any row fails.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import glob
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'pytest'))
sys.path.insert(0, os.path.join(ROOT, 'tests'))

# pylint: disable=wrong-import-position
from conftest import LOCK_PATH, BedFactory  # noqa: E402
from e2e.runner import Controller, collections_path  # noqa: E402
from test_e2e_migrate import CLUSTER, ArgvWatcher, fresh, scan_tree  # noqa: E402
# pylint: enable=wrong-import-position

# A run normally ends within two minutes here; one that outlives this hangs (and fails its row).
RUN_TIMEOUT = 300
KEY_FILE = os.path.join('.lookerops', 'cmk.key')
KEY_ENV_RE = re.compile(rb"LKR_MASTER_KEY_ENV='([^']+)'")
TASK_RE = re.compile(r'^TASK \[(?:[^\]:]+ : )?(.*)\] \*+\s*$')


class Matrix(BedFactory):
    """The conftest bed factory, also able to use a lock its parent process already holds."""

    outputs_dir = None

    def _acquire(self):
        if self._lock is not None:
            return
        inherited = os.environ.get('LOOKEROPS_BED_LOCK_FD')
        if not inherited:
            super()._acquire()
            return
        handle = os.fdopen(int(inherited), 'a+', encoding='ascii')
        held, wanted = os.fstat(handle.fileno()), os.stat(LOCK_PATH)
        if (held.st_dev, held.st_ino) != (wanted.st_dev, wanted.st_ino):
            raise RuntimeError('LOOKEROPS_BED_LOCK_FD=%s is not %s' % (inherited, LOCK_PATH))
        # Same open file description as the parent's: succeeds only when the parent holds the lock.
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._lock = handle


class Run:  # pylint: disable=too-few-public-methods
    """One ansible-playbook migrate; ``.rc``, ``.out`` (stdout and stderr), ``.seconds``."""

    def __init__(self, rc, out, seconds, killed, hung=False):
        self.rc, self.out, self.seconds, self.killed, self.hung = rc, out, seconds, killed, hung

    def reason(self):
        """The failure summary's ``reason:`` line, or ''."""
        lines = self.out.splitlines()
        for i, line in enumerate(lines):
            match = re.search(r'"reason: (.*?)",?\s*$', line) or re.search(r'^\s*reason: (.*)$', line)
            if match:
                reason = match.group(1)
                # "Preflight found N problem(s); ...:" lists them on the next lines: keep the first.
                if reason.endswith(':') and i + 1 < len(lines):
                    reason += ' ' + lines[i + 1].strip().strip(',').strip('"')
                return reason.replace('\\"', '"')
        return ''

    def ended(self):
        """How the run ended, from its exit code and failure summary."""
        if self.killed:
            return 'killed'
        if self.hung:
            return 'HUNG (no end after %d s, killed)' % RUN_TIMEOUT
        if self.rc == 0:
            return 'completed'
        if re.search(r'(nothing was migrated|rekey changed nothing); service restored on .* but not on ', self.out):
            return 'service restored in part'
        if 'nothing was migrated; service restored' in self.out or 'rekey changed nothing; service restored' in self.out:
            return 'service restored'
        match = re.search(r'FAILED in phase (\w+)', self.out)
        if match and match.group(1) == 'preflight':
            return 'refused in preflight'
        if match:
            return 'stopped in %s, nodes down' % match.group(1)
        return 'failed (rc %s, no summary)' % self.rc


class Ctx:
    """One fault's bed, controller and runs."""

    def __init__(self, matrix, name, spec, workdir):
        self.matrix = matrix
        self.name = name
        self.bed = fresh(matrix, spec)
        self.controller = Controller(os.path.join(workdir, name, 'controller'))
        self.run_id = 'fm-%s-%s' % (re.sub(r'[^A-Za-z0-9]+', '-', name)[:24], secrets.token_hex(3))
        self.outputs = []
        self.notes = []
        self.procs = []
        self.before = None

    # -- running ansible-playbook -------------------------------------------------------------------

    def popen(self, run_id=None, extra=None, tmp=None, playbook='migrate', controller=None):
        """Start ansible-playbook migrate (or ``playbook``; own process group); stdout and stderr merged."""
        controller = controller or self.controller
        env = self.bed.ansible_env()
        env.update({'ANSIBLE_COLLECTIONS_PATH': collections_path(), 'ANSIBLE_LOCAL_TEMP': tmp or controller.tmp,
                    'ANSIBLE_FORKS': '50', 'ANSIBLE_PIPELINING': 'True', 'ANSIBLE_NOCOLOR': '1',
                    'ANSIBLE_RETRY_FILES_ENABLED': 'False', 'ANSIBLE_DEPRECATION_WARNINGS': 'False',
                    'AWS_EC2_METADATA_DISABLED': 'true', 'PYTHONUNBUFFERED': '1'})
        variables = {'lookerops_cmk_escrow_path': controller.escrow_path, 'lookerops_run_id': run_id or self.run_id}
        variables.update(extra or {})
        argv = [os.path.join(os.path.dirname(self.bed.python), 'ansible-playbook'), '-i', self.bed.inventory,
                'lookerops.encryption.' + playbook, '-e', json.dumps(variables),
                '--vault-password-file', controller.vault_password_file]
        proc = subprocess.Popen(argv, env=env, cwd=controller.workdir, stdout=subprocess.PIPE,  # pylint: disable=consider-using-with
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.procs.append(proc)
        return proc

    def run(self, extra=None, at=None, kill_at=None, run_id=None, playbook='migrate', controller=None):
        """Run migrate (or ``playbook``, from ``controller``); ``at`` = (task name part, action) acts when that TASK header
        appears; ``kill_at`` = task name part: SIGKILL the whole process group there."""
        started = time.monotonic()
        proc = self.popen(run_id=run_id, extra=extra, playbook=playbook, controller=controller)
        timer = threading.Timer(RUN_TIMEOUT, _kill_group, (proc,))
        timer.start()
        lines, killed, acted = [], False, False
        try:
            for line in proc.stdout:
                lines.append(line)
                match = TASK_RE.match(line.rstrip('\n'))
                if not match:
                    continue
                task = match.group(1)
                if at and not acted and at[0] in task:
                    acted = True
                    self.notes.append('fault injected at "%s"' % task)
                    at[1]()
                if kill_at and kill_at in task:
                    self.notes.append('SIGKILL at "%s"' % task)
                    _kill_group(proc)
                    killed = True
                    break
            proc.wait(60)
        finally:
            timer.cancel()
            _kill_group(proc)
        hung = proc.returncode == -signal.SIGKILL and not killed
        if hung:
            self.notes.append('run killed after %ss (timeout)' % RUN_TIMEOUT)
        if at and not acted:
            self.notes.append('task "%s" never came: fault not injected' % at[0])
        out = ''.join(lines)
        self.outputs.append(out)
        self.save_output(out)
        return Run(proc.returncode, out, time.monotonic() - started, killed, hung)

    def save_output(self, out):
        """With --outputs DIR: the whole output of each run, as <fault>-<n>.log (0600: it is checked for key bytes)."""
        if not self.matrix.outputs_dir:
            return
        path = os.path.join(self.matrix.outputs_dir, '%s-%d.log' % (self.name, len(self.outputs)))
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w', encoding='utf-8') as handle:
            handle.write(out)

    # -- checks -----------------------------------------------------------------------------------

    def key_needles(self):
        """Key text, raw bytes and hex of every key found on the nodes or in the escrow."""
        texts = set()
        for node in self.bed.nodes:
            for path in (os.path.join(node.user_home, KEY_FILE), os.path.join(node.home, 'lookerstart.cfg')):
                try:
                    with open(path, 'rb') as handle:
                        data = handle.read()
                except OSError:
                    continue
                if path.endswith('cmk.key'):
                    texts.add(data.strip())
                texts.update(m.group(1) for m in KEY_ENV_RE.finditer(data))
        # Every escrow of the controller: the key in force, and a rekey's next and retired keys.
        for escrow in glob.glob(os.path.join(os.path.dirname(self.controller.escrow_path), '*.vault')):
            dec = subprocess.run([os.path.join(os.path.dirname(self.bed.python), 'ansible-vault'), 'view',
                                  '--vault-password-file', self.controller.vault_password_file, escrow],
                                 capture_output=True, check=False)
            if dec.returncode == 0 and dec.stdout.strip():
                texts.add(dec.stdout.strip())
        needles = []
        for text in texts:
            needles.append(text)
            try:
                raw = base64.b64decode(text, validate=True)
            except ValueError:
                continue
            needles += [raw, raw.hex().encode()]
        return needles

    def leaks(self, watcher):
        """Places holding key bytes (output, argv samples, node files, controller files)."""
        needles = self.key_needles()
        if not needles:
            return [], 0
        found = []
        for i, out in enumerate(self.outputs):
            if any(n in out.encode() for n in needles):
                found.append('output of run %d' % (i + 1))
        if any(n in argv for argv in watcher.seen for n in needles):
            found.append('a process argv')
        found += scan_tree(self.controller.workdir, needles,
                           skip=set(glob.glob(os.path.join(os.path.dirname(self.controller.escrow_path), '*.vault'))))
        for node in self.bed.nodes:
            skip = {os.path.join(node.user_home, KEY_FILE), os.path.join(node.home, 'lookerstart.cfg')}
            found += scan_tree(node.tmp_dir, needles) + scan_tree(node.root_dir, needles)
            found += scan_tree(node.user_home, needles, skip=skip)
        return found, len(needles)

    def state(self, before, migrated):
        """'' when every node is up, unfenced, data intact and on the expected scheme; else what is wrong."""
        problems = []
        down = [n.name for n in self.bed.nodes if n.looker('status', timeout=60).returncode != 0]
        if down:
            problems.append('down: ' + ','.join(down))
        fenced = [n.name for n in self.bed.nodes if os.path.exists(os.path.join(n.home, '.deploying'))]
        if fenced:
            problems.append('.deploying on ' + ','.join(fenced))
        after = self.bed.inspect()
        if after['digest'] != before['digest']:
            problems.append('digest changed')
        if migrated and not (after['legacy'] == 0 and after['gcm'] == after['total']):
            problems.append('not all GCM (legacy %s, gcm %s)' % (after['legacy'], after['gcm']))
        if not migrated and not (after['gcm'] == 0 and after['legacy'] == after['total']):
            problems.append('not all legacy (legacy %s, gcm %s)' % (after['legacy'], after['gcm']))
        return '; '.join(problems)


def _kill_group(proc):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            pass


def named(run, words):
    """True when the run's failure summary (the whole output of a run that passed) names every
    word of the cause and a remedy. A run that printed no summary (hung, killed) names nothing."""
    start = run.out.find('lookerops.encryption FAILED in phase')
    text = run.out[start:] if start >= 0 else (run.out if run.rc == 0 else '')
    remedy = ('run the playbook again', 'resume (after fixing the cause)', 'rollback -e lookerops_run_id=',
              'One run per cluster at a time', 'lookerops.encryption.migrate -e lookerops_run_id=',
              'lookerops.encryption.rekey -e lookerops_run_id=')
    return bool(text) and all(w in text for w in words) and (run.rc == 0 or any(r in text for r in remedy))


# -- the faults ----------------------------------------------------------------------------------
# Each returns (first run, outcome text, cause-and-remedy named (bool or None when not applicable),
#               expected outcome met (bool), migrated at the end (bool)).

def resume_after(ctx, first, undo, playbook='migrate', run_id=None):
    """Undo the fault; when the first run left nodes down, resume with the same run id."""
    undo()
    if first.ended() in ('completed', 'service restored', 'refused in preflight'):
        return first.ended(), True  # nothing left to resume: the state check says whether it was right
    second = ctx.run(playbook=playbook, run_id=run_id)
    ctx.notes.append('resume rc %s' % second.rc)
    return '%s -> resumed: %s' % (first.ended(), second.ended()), second.rc == 0


def preflight_refusal(setup, undo, words, extra=None):
    def fault(ctx):
        setup(ctx.bed)
        first = ctx.run(extra=extra)
        undo(ctx.bed)
        return first, first.ended(), named(first, words), first.ended() == 'refused in preflight', False
    return fault


def mid_run(task, inject, undo, words, ends=('stopped',), extra=None):
    """Inject at a task header; the run must end in one of ``ends`` (prefixes), then recover."""
    def fault(ctx):
        first = ctx.run(extra=extra, at=(task, lambda: inject(ctx.bed)))
        outcome, ok = resume_after(ctx, first, lambda: undo(ctx.bed))
        expected = any(first.ended().startswith(e) for e in ends) and ok
        cause = named(first, words) if first.rc != 0 else None
        return first, outcome, cause, expected, outcome.endswith('completed')
    return fault


def killed_in(task):
    def fault(ctx):
        first = ctx.run(kill_at=task)
        outcome, ok = resume_after(ctx, first, lambda: None)
        return first, outcome, None, first.killed and ok, ok
    return fault


def crash_midway(ctx):
    ctx.bed.set_standin(None, crash_midway=True)
    first = ctx.run()
    outcome, ok = resume_after(ctx, first, lambda: ctx.bed.set_standin(None, crash_midway=False))
    return first, outcome, named(first, ['FAILED in phase migrate']), first.ended().startswith('stopped in migrate') and ok, ok


def escrow_missing(ctx):
    extra = {'lookerops_cmk_delivery': 'env'}
    first = ctx.run(extra=extra)
    if first.rc != 0:
        return first, 'first run ' + first.ended(), None, False, False
    os.unlink(ctx.controller.escrow_path)
    second = ctx.run(extra=extra, run_id=ctx.run_id + '-2')
    recovered = second.rc == 0 and 'escrowed again from' in second.out and os.path.exists(ctx.controller.escrow_path)
    return second, 'completed; escrow deleted -> %s' % ('recovered' if recovered else second.ended()), \
        named(second, ['escrowed again from']) or recovered, recovered, True


def concurrent(ctx):
    ids = [ctx.run_id + '-a', ctx.run_id + '-b']
    tmps = []
    for i in ids:
        tmp = os.path.join(ctx.controller.workdir, 'tmp-' + i[-1])
        os.makedirs(tmp, mode=0o700, exist_ok=True)
        tmps.append(tmp)
    started = time.monotonic()
    procs = [ctx.popen(run_id=i, tmp=t) for i, t in zip(ids, tmps)]
    results = []
    for proc in procs:
        try:
            out = proc.communicate(timeout=RUN_TIMEOUT)[0]
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out = proc.communicate()[0]
        ctx.outputs.append(out)
        ctx.save_output(out)
        results.append(Run(proc.returncode, out, time.monotonic() - started, False))
    winners = [r for r in results if r.rc == 0]
    losers = [r for r in results if r.rc != 0]
    ok = len(winners) == 1 and len(losers) == 1
    loser = losers[0] if losers else results[1]
    winner_id = ids[results.index(winners[0])] if winners else '?'
    cause = ok and 'held by lookerops.encryption run %s' % winner_id in loser.out and named(loser, [])
    return loser, 'one completed, other %s' % loser.ended() if ok else 'rc %s' % [r.rc for r in results], cause, ok, bool(winners)


def clock_off(ctx):
    ctx.bed.set_standin(None, clock_offset_seconds=-600)
    first = ctx.run()
    ok = first.rc == 0 and 'evidence: ' in first.out
    return first, first.ended(), None, ok, first.rc == 0


def _rekey_state(ctx):
    with open(os.path.join(ctx.bed.nodes[0].user_home, '.lookerops-rekey.json'), encoding='utf-8') as handle:
        return json.load(handle)


def _old_key_kept(ctx, old_text):
    """'' when the old key lives on in an escrow of the controller and on no node; else what is wrong."""
    if old_text is None:
        return 'no old key read'
    if not any(old_text in n for n in ctx.key_needles()):
        return 'old key in no escrow (key lost)'
    held = [f for node in ctx.bed.nodes for f in scan_tree(node.user_home, [old_text])]
    return 'old key still on %s' % ', '.join(held) if held else ''


def _node_key(ctx):
    try:
        with open(os.path.join(ctx.bed.nodes[0].user_home, KEY_FILE), 'rb') as handle:
            return handle.read().strip()
    except OSError:
        return None


def _after_migrate(fault):
    """A rekey fault that starts from a migrated cluster: ``fault(ctx, old key text, rekey run id)``."""
    def run(ctx):
        pre = ctx.run()
        if pre.rc != 0:
            return pre, 'migrate ' + pre.ended(), None, False, False
        return fault(ctx, _node_key(ctx), ctx.run_id + '-rk')
    return run


def rekey_killed_in(task):
    """Migrate; rekey to a new local key, SIGKILL in a phase; resume the rekey: 0 keys lost, 0 records lost."""
    @_after_migrate
    def fault(ctx, old, run_id):
        first = ctx.run(playbook='rekey', kill_at=task, run_id=run_id)
        outcome, ok = resume_after(ctx, first, lambda: None, playbook='rekey', run_id=run_id)
        lost = _old_key_kept(ctx, old) if ok else ''
        if lost:
            ctx.notes.append(lost)
        return first, outcome, None, first.killed and ok and not lost, True
    return fault


@_after_migrate
def rekey_resume_elsewhere(ctx, old, run_id):
    """Migrate; rekey killed once Looker's rekey completed; a resume from a second controller without the new key's
    escrow (<escrow>-next.vault) is refused in preflight; the resume from the first controller completes."""
    ctx.run(playbook='rekey', kill_at='CMK | Note the phase', run_id=run_id)
    state = _rekey_state(ctx)
    other = Controller(os.path.join(os.path.dirname(ctx.controller.workdir), 'other-controller'))
    shutil.copyfile(ctx.controller.vault_password_file, other.vault_password_file)
    os.makedirs(os.path.dirname(other.escrow_path), mode=0o700, exist_ok=True)
    shutil.copyfile(ctx.controller.escrow_path, other.escrow_path)
    elsewhere = ctx.run(playbook='rekey', run_id=run_id, controller=other)
    refused = (elsewhere.ended() == 'refused in preflight' and state.get('state') == 'done'
               and _rekey_state(ctx) == state and not os.path.exists(other.escrow_path[:-len('.vault')] + '-next.vault'))
    cause = named(elsewhere, [state.get('destination', '?'), '-next.vault', 'A resume never generates a key'])
    second = ctx.run(playbook='rekey', run_id=run_id)
    lost = _old_key_kept(ctx, old) if second.rc == 0 else ''
    if lost:
        ctx.notes.append(lost)
    return elsewhere, 'second controller %s; resumed: %s' % (elsewhere.ended(), second.ended()), cause, \
        refused and second.rc == 0 and not lost, True


def rekey_refused_then_done(setup, undo, words, extra=None):
    """Migrate; a rekey that must be refused in preflight (``words`` named, nothing changed: the nodes keep the old key,
    the data stays under it); undo the cause and rekey again with the same run id: it completes, no key lost."""
    @_after_migrate
    def fault(ctx, old, run_id):
        setup(ctx.bed)
        refused = ctx.run(playbook='rekey', run_id=run_id, extra=extra)
        untouched = _node_key(ctx) == old and not ctx.state(ctx.before, True)
        undo(ctx.bed)
        done = ctx.run(playbook='rekey', run_id=run_id, extra=extra)
        ctx.notes.append('rekey after the fix: rc %s' % done.rc)
        lost = _old_key_kept(ctx, old) if done.rc == 0 else ''
        if lost:
            ctx.notes.append(lost)
        changed = done.rc == 0 and _node_key(ctx) not in (None, old)
        ok = refused.ended() == 'refused in preflight' and untouched and changed and not lost
        return refused, '%s -> rekeyed: %s' % (refused.ended(), done.ended()), named(refused, words), ok, True
    return fault


def rekey_mid_run(task, inject, undo, words, ends=('stopped',)):
    """Migrate; a rekey with a fault injected at a task header must end in one of ``ends``; undo the fault and resume
    the rekey with the same run id: it completes, the old key lives on only in its escrow."""
    @_after_migrate
    def fault(ctx, old, run_id):
        first = ctx.run(playbook='rekey', run_id=run_id, at=(task, lambda: inject(ctx.bed)))
        outcome, ok = resume_after(ctx, first, lambda: undo(ctx.bed), playbook='rekey', run_id=run_id)
        lost = _old_key_kept(ctx, old) if ok and outcome.endswith('completed') else ''
        if lost:
            ctx.notes.append(lost)
        expected = any(first.ended().startswith(e) for e in ends) and ok and not lost
        cause = named(first, words) if first.rc != 0 else None
        return first, outcome, cause, expected, True
    return fault


ACK = {'lookerops_rollback_discard_changes_since_run': True}


def rollback_refused_then_done(prepare, setup, undo, words, migrated_after, rekey=False):
    """Migrate (and rekey), then a rollback that must be refused in preflight with ``words`` named and nothing
    changed; undo the cause and roll back again: it must complete."""
    def fault(ctx):
        first = ctx.run()
        if first.rc == 0 and rekey:
            first = ctx.run(playbook='rekey', run_id=ctx.run_id + '-rekey')
        if first.rc != 0:
            return first, 'setup run ' + first.ended(), None, False, False
        target = ctx.run_id + ('-rekey' if rekey else '')
        extra = dict(prepare)
        setup(ctx)
        refused = ctx.run(playbook='rollback', run_id=target, extra=extra)
        untouched = not ctx.state(ctx.before, True)
        undo(ctx)
        done = ctx.run(playbook='rollback', run_id=target, extra=dict(extra, **ACK))
        ctx.notes.append('rollback after the fix: rc %s' % done.rc)
        ok = refused.ended() == 'refused in preflight' and untouched and done.rc == 0
        return refused, '%s -> rolled back: %s' % (refused.ended(), done.ended()), named(refused, words), ok, migrated_after
    return fault


def _move_retired_escrow_away(ctx):
    for name in os.listdir(os.path.dirname(ctx.controller.escrow_path)):
        if '-retired-' in name and name.endswith('.vault'):
            path = os.path.join(os.path.dirname(ctx.controller.escrow_path), name)
            os.rename(path, path + '.away')
            ctx.notes.append('moved %s away' % name)


def _put_retired_escrow_back(ctx):
    for name in os.listdir(os.path.dirname(ctx.controller.escrow_path)):
        if name.endswith('.vault.away'):
            path = os.path.join(os.path.dirname(ctx.controller.escrow_path), name)
            os.rename(path, path[:-len('.away')])


def _mariadb_stop(bed):
    bed.mariadb.stop()


def _mariadb_start(bed):
    if not bed.mariadb.running():
        bed.mariadb.start()


FAULTS = {
    'unreachable-before-stop': (CLUSTER, preflight_refusal(lambda b: b.cut_link(3), lambda b: b.restore_link(3),
                                                           ['looker3', 'unreachable'], extra={'lookerops_reach_timeout': 10})),
    'unreachable-after-stop': (CLUSTER, mid_run('Backup | Back up the Looker home', lambda b: b.cut_link(3),
                                                lambda b: b.restore_link(3), ['looker3', 'resume'],
                                                ends=('stopped', 'service restored in part'))),
    # The other nodes start at the start gate (the bed's nodes reach each other): the link goes while the run waits for them.
    'unreachable-during-start': (CLUSTER, mid_run('Start | Wait for the other nodes', lambda b: b.cut_link(3),
                                                  lambda b: b.restore_link(3), ['looker3'])),
    'sshd-killed-during-backup': (CLUSTER, mid_run('Backup | Back up the Looker home', lambda b: b.stop_sshd(2),
                                                   lambda b: b.start_sshd(2), ['looker2'],
                                                   ends=('stopped', 'completed', 'service restored'))),
    'backup-disk-fills-on-one-node': (CLUSTER, mid_run('Backup | Back up the Looker home', lambda b: b.fill_backup_fs(2),
                                                       lambda b: b.unfill_backup_fs(2), ['looker2', 'free space'],
                                                       ends=('service restored',))),
    'backup-full-one-node': (CLUSTER, preflight_refusal(lambda b: b.fill_backup_fs(2), lambda b: b.unfill_backup_fs(2),
                                                        ['looker2', 'not enough free space'])),
    'backup-shared-too-small': (dict(CLUSTER, name='e2e-sharedfs', shared_backup_fs=True, backup_fs_mb=100), preflight_refusal(
        lambda b: None, lambda b: None, ['looker1, looker2, looker3 write their backups to one shared filesystem'])),
    'sigkill-in-stop': (CLUSTER, killed_in('Stop | Note the phase')),
    'sigkill-in-backup': (CLUSTER, killed_in('Backup | Note the phase')),
    'sigkill-in-cmk': (CLUSTER, killed_in('CMK | Note the phase')),
    'sigkill-in-node_env': (CLUSTER, killed_in('Node environment | Note the phase')),
    'sigkill-in-migrate': (CLUSTER, killed_in('Migrate | Note the phase')),
    'sigkill-in-start': (CLUSTER, killed_in('Start | Note the phase')),
    'backend-down-during-backup': (CLUSTER, mid_run('Backup | Back up the MySQL backend', _mariadb_stop, _mariadb_start,
                                                    ['MySQL'], ends=('stopped', 'service restored'))),
    'migration-crash-midway': (CLUSTER, crash_midway),
    'escrow-missing': (CLUSTER, escrow_missing),
    'second-concurrent-run': (CLUSTER, concurrent),
    'clock-10-minutes-off': (CLUSTER, clock_off),
    'rekey-sigkill-in-escrow': (CLUSTER, rekey_killed_in('Rekey | Note the phase')),
    'rekey-sigkill-in-stop': (CLUSTER, rekey_killed_in('Stop | Note the phase')),
    'rekey-sigkill-in-backup': (CLUSTER, rekey_killed_in('Backup | Note the phase')),
    'rekey-sigkill-in-rekey': (CLUSTER, rekey_killed_in('Rekey | Run rekey once')),
    'rekey-sigkill-in-cmk': (CLUSTER, rekey_killed_in('CMK | Note the phase')),
    'rekey-sigkill-in-node_env': (CLUSTER, rekey_killed_in('Node environment | Note the phase')),
    'rekey-sigkill-in-start': (CLUSTER, rekey_killed_in('Start | Note the phase')),
    'rekey-sigkill-in-retire': (CLUSTER, rekey_killed_in('Rekey | Retire the old key')),
    'rekey-resume-without-next-escrow': (CLUSTER, rekey_resume_elsewhere),
    'rekey-backup-full-one-node': (CLUSTER, rekey_refused_then_done(lambda b: b.fill_backup_fs(2), lambda b: b.unfill_backup_fs(2),
                                                                    ['looker2', 'not enough free space'])),
    'rekey-unreachable-after-stop': (CLUSTER, rekey_mid_run('Backup | Back up the Looker home', lambda b: b.cut_link(3),
                                                            lambda b: b.restore_link(3), ['looker3', 'resume'],
                                                            ends=('stopped', 'service restored'))),
    'rollback-stale-run-without-acknowledgement': (CLUSTER, rollback_refused_then_done(
        {}, lambda ctx: None, lambda ctx: None, ['completed at', 'lookerops_rollback_discard_changes_since_run=true'],
        migrated_after=False)),
    'rollback-old-key-escrow-missing': (CLUSTER, rollback_refused_then_done(
        ACK, _move_retired_escrow_away, _put_retired_escrow_back, ['Its escrow belongs at'], migrated_after=True,
        rekey=True)),
    'rollback-node-unreachable': (CLUSTER, rollback_refused_then_done(
        dict(ACK, lookerops_reach_timeout=10), lambda ctx: ctx.bed.cut_link(3), lambda ctx: ctx.bed.restore_link(3),
        ['looker3', 'unreachable'], migrated_after=False)),
}


def run_fault(matrix, name, workdir):
    """One row of the matrix (a dict)."""
    spec, fault = FAULTS[name]
    spec = dict(spec, name='fault-matrix-shared' if spec.get('shared_backup_fs') else 'fault-matrix')
    started = time.monotonic()
    row = {'fault': name, 'outcome': '', 'named': '', 'state': '', 'leaks': '', 'seconds': 0, 'ok': False,
           'reason': '', 'notes': []}
    ctx = None
    watcher = ArgvWatcher()
    try:
        ctx = Ctx(matrix, name, spec, workdir)
        before = ctx.before = ctx.bed.inspect()
        watcher.start()
        try:
            first, outcome, cause, expected, migrated = fault(ctx)
        finally:
            watcher.stop()
        for node in ctx.bed.nodes:  # a fault left in place would hide the state of the nodes
            if ctx.bed.sshd_pid(node) is None:
                ctx.bed.start_sshd(node)
        problems = ctx.state(before, migrated)
        found, needles = ctx.leaks(watcher)
        row.update(outcome=outcome, reason=first.reason(),
                   named='n/a' if cause is None else ('yes' if cause else 'NO'),
                   state='yes' if not problems else 'NO: ' + problems,
                   leaks='%d' % len(found) if needles else '0 (no key made)')
        row['ok'] = bool(expected and cause is not False and not problems and not found and watcher.samples > 0)
        row['notes'] = ctx.notes + ['leak: %s' % f for f in found]
        if not expected:
            row['notes'].append('expected outcome not met')
    except Exception as exc:  # pylint: disable=broad-except
        row.update(outcome='ERROR: %s' % exc, state='?', leaks='?', named='?')
        if ctx is not None:
            row['notes'] = ctx.notes
    finally:
        if ctx is not None:
            for proc in ctx.procs:
                _kill_group(proc)
            if not row['ok']:
                row['notes'] += ['last output: ' + line for line in (ctx.outputs[-1] if ctx.outputs else '').splitlines()[-15:]]
    row['seconds'] = round(time.monotonic() - started)
    return row


def print_table(rows, stream=sys.stdout):
    head = ('fault', 'outcome', 'cause and remedy named', 'nodes up, data intact', 'key bytes found', 'seconds', 'row')
    table = [head] + [(r['fault'], r['outcome'], r['named'], r['state'], r['leaks'], str(r['seconds']),
                       'ok' if r['ok'] else 'FAIL') for r in rows]
    widths = [max(len(t[i]) for t in table) for i in range(len(head))]
    for i, line in enumerate(table):
        stream.write('| ' + ' | '.join(c.ljust(w) for c, w in zip(line, widths)) + ' |\n')
        if i == 0:
            stream.write('|' + '|'.join('-' * (w + 2) for w in widths) + '|\n')
    for r in rows:
        if r['reason']:
            stream.write('%s: reason: %s\n' % (r['fault'], r['reason']))
    stream.flush()


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--list', action='store_true', help='list the faults and exit')
    parser.add_argument('--only', action='append', default=[], metavar='NAME', help='run this fault (repeatable)')
    parser.add_argument('--json', metavar='FILE', help='also write the rows as JSON to FILE')
    parser.add_argument('--outputs', metavar='DIR', help='keep the whole output of every run in DIR')
    args = parser.parse_args(argv)
    if args.list:
        print('\n'.join(FAULTS))
        return 0
    unknown = [n for n in args.only if n not in FAULTS]
    if unknown:
        parser.error('unknown fault(s) %s; --list shows them' % ', '.join(unknown))
    names = args.only or list(FAULTS)
    os.environ.setdefault('AWS_EC2_METADATA_DISABLED', 'true')
    signal.signal(signal.SIGTERM, _interrupt)
    matrix = Matrix()
    matrix.outputs_dir = args.outputs
    if args.outputs:
        os.makedirs(args.outputs, mode=0o700, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix='lookerops-fault-matrix-') as workdir:
        try:
            for name in names:
                print('== %s' % name, flush=True)
                rows.append(run_fault(matrix, name, workdir))
                for note in rows[-1]['notes']:
                    print('   ' + note, flush=True)
                print_table(rows[-1:])
        finally:
            try:
                matrix.close()
            finally:
                if len(rows) != len(names):
                    print('interrupted after %d of %d faults' % (len(rows), len(names)), flush=True)
                print_table(rows)
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as handle:
            json.dump(rows, handle, indent=1)
    return 0 if rows and all(r['ok'] for r in rows) else 1


if __name__ == '__main__':
    sys.exit(main())
