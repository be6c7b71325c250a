# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the collection's playbooks with the real ansible-playbook against a bed."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import signal
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def collections_path():
    """A directory holding ansible_collections/lookerops/encryption -> this checkout."""
    # One tree per checkout: two checkouts on one machine must never run each other's code.
    tag = hashlib.sha256(ROOT.encode('utf-8')).hexdigest()[:12]
    tree = os.path.join(tempfile.gettempdir(), 'lookerops-collections-%d-%s' % (os.getuid(), tag))
    link = os.path.join(tree, 'ansible_collections', 'lookerops', 'encryption')
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if not (os.path.islink(link) and os.path.realpath(link) == ROOT):
        # Made beside and renamed into place: two pytest processes (test.sh's lanes) may get here at once.
        spare = '%s.%d' % (link, os.getpid())
        if os.path.lexists(spare):
            os.unlink(spare)
        os.symlink(ROOT, spare)
        os.replace(spare, link)
    return tree


def ansible_bin_dir(bed):
    """Directory of the ansible-playbook under test.

    That of $LOOKEROPS_CONTROLLER_PYTHON when set (the support-floor step runs the playbooks with .venv-floor's ansible-core
    while the test harness, bed and stand-in stay in the test venv), else that of the bed's Python.
    """
    return os.path.dirname(os.environ.get('LOOKEROPS_CONTROLLER_PYTHON') or bed.python)


class Controller:
    """The controller side of a run: a private directory with the vault password, the escrow
    and the JSON callback output; everything a leak scan has to look at."""

    def __init__(self, workdir):
        self.workdir = workdir
        os.makedirs(workdir, mode=0o700, exist_ok=True)
        self.vault_password_file = os.path.join(workdir, 'vault-password')
        if not os.path.exists(self.vault_password_file):
            fd = os.open(self.vault_password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, 'w') as handle:
                handle.write(secrets.token_urlsafe(24) + '\n')
        self.escrow_path = os.path.join(workdir, 'escrow', 'cmk.vault')
        self.tmp = os.path.join(workdir, 'tmp')
        os.makedirs(self.tmp, mode=0o700, exist_ok=True)


def run_playbook(bed, playbook, controller, extra_vars=None, check=False, verbosity=0,
                 inventory=None, env_extra=None, timeout=1800, limit=None, vault=True, kill_at=None, at=None):
    """Run playbooks/<playbook>.yml by its FQCN against the bed. Returns CompletedProcess. ``kill_at``: SIGKILL ansible-playbook and its
    children when a task whose name holds this text starts (a controller that dies there); ``at`` = (text, action): call action()
    once when a task whose name holds the text starts (a fault that comes mid-run). With either, stderr is in stdout."""
    env = bed.ansible_env()
    bin_dir = ansible_bin_dir(bed)
    env.update({
        'PATH': bin_dir + os.pathsep + env['PATH'],
        'ANSIBLE_COLLECTIONS_PATH': collections_path(),
        'ANSIBLE_LOCAL_TEMP': controller.tmp,
        'ANSIBLE_FORKS': '50',
        'ANSIBLE_PIPELINING': 'True',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_RETRY_FILES_ENABLED': 'False',
        'ANSIBLE_DEPRECATION_WARNINGS': 'False',
    })
    env.update(env_extra or {})
    variables = {'lookerops_cmk_escrow_path': controller.escrow_path}
    variables.update(extra_vars or {})
    argv = [os.path.join(bin_dir, 'ansible-playbook'), '-i', inventory or bed.inventory,
            'lookerops.encryption.%s' % playbook, '-e', json.dumps(variables)]
    if vault:
        argv += ['--vault-password-file', controller.vault_password_file]
    if check:
        argv.append('--check')
    if limit:
        argv += ['--limit', limit]
    if verbosity:
        argv.append('-' + 'v' * verbosity)
    if kill_at or at:
        proc = _run_until(argv, env, controller.workdir, kill_at, timeout, at)
    else:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, check=False, cwd=controller.workdir)
    return proc


def _run_until(argv, env, cwd, kill_at, timeout, at=None):
    """Run argv in its own process group; SIGKILL the group when the task ``kill_at`` starts, call ``at[1]`` once when the
    task ``at[0]`` starts."""
    lines = []
    with subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          start_new_session=True) as proc:
        try:
            for line in proc.stdout:
                lines.append(line)
                if at and line.startswith('TASK [') and at[0] in line:
                    action, at = at[1], None
                    action()
                if kill_at and line.startswith('TASK [') and kill_at in line:
                    os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return subprocess.CompletedProcess(argv, proc.returncode, ''.join(lines), '')
