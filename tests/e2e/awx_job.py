# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the collection the way AWX runs a job: ansible-runner on a private data directory laid out as AWX lays it out.

What AWX writes before it starts ansible-runner, and what this helper writes the same way:

- ``project/``: the job template's project (here extensions/awx/project, whose playbooks import the
  collection's playbooks by FQCN);
- ``inventory/hosts``: an executable script printing the inventory as JSON;
- ``env/extravars``: the job's extra variables (survey answers, launch variables, ``awx_*``/``tower_*``), written as AWX
  writes them: YAML, every string ``!unsafe`` (an empty answer is then None on ansible-core 2.19+);
- ``env/envvars``: the job environment, including what credentials inject (a custom credential's
  ``env`` injectors, the "Amazon Web Services" credential's AWS_* variables);
- ``env/settings``: runner settings (timeouts);
- ``env/ssh_key``: the machine credential's private key (ansible-runner hands it to ssh-agent);
- ``env/tmpXXXXXXXX``: a custom credential's ``file`` injector output, 0600, named by its env injector (the credential
  types of extensions/awx/credential_types rendered by e2e.awx_rules.render_injectors, as AWX renders them);
- ``env/cmdline``: the extra ansible-playbook arguments (``-u`` of the machine credential).

No pipelining (AWX's default), the job's HOME is the private data directory, facts go to the
jsonfile cache in the artifacts (AWX's fact cache), events to ``artifacts/<ident>/job_events``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import yaml

from e2e import awx_rules
from e2e.runner import ROOT, collections_path

PROJECT = os.path.join(ROOT, 'extensions', 'awx', 'project')
CREDENTIAL_TYPES = os.path.join(ROOT, 'extensions', 'awx', 'credential_types')


def credential_type(name):
    """A credential type of extensions/awx/credential_types (``lookerops_cmk``, ``lookerops_escrow_vault_password``)."""
    with open(os.path.join(CREDENTIAL_TYPES, name + '.yml'), encoding='utf-8') as handle:
        return yaml.safe_load(handle)


class RunnerResult:
    """status and rc of a finished ansible-runner run, as it recorded them in its artifacts."""

    def __init__(self, artifacts, proc):
        self.proc = proc
        self.status = self._read(artifacts, 'status')
        rc = self._read(artifacts, 'rc')
        self.rc = int(rc) if rc and rc.strip().lstrip('-').isdigit() else None

    @staticmethod
    def _read(artifacts, name):
        try:
            with open(os.path.join(artifacts, name), encoding='utf-8') as handle:
                return handle.read().strip()
        except OSError:
            return None


def _write(path, text, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, 'w', encoding='utf-8') as handle:
        handle.write(text)
    os.chmod(path, mode)


class AwxJob:
    """One job: its private data directory, what was injected, and the ansible-runner result."""

    def __init__(self, bed, workdir, job_id, playbook, extra_vars=None, cmk_key_text=None, extra_env=None, credentials=None,
                 bin_dir=None):
        """``credentials``: {credential type name: inputs} rendered as AWX renders them; ``cmk_key_text`` is the "Looker CMK"
        credential's input; ``bin_dir`` the ansible-playbook (ansible-core) the job runs, default the bed's."""
        self.bed = bed
        self.bin_dir = bin_dir
        self.job_id = job_id
        self.playbook = 'lookerops_%s.yml' % playbook
        self.private_data_dir = os.path.join(workdir, 'awx_job_%d' % job_id)
        self.ident = str(job_id)
        self.credential_file = None
        self.credential_files = []
        self.runner = None
        os.makedirs(os.path.join(self.private_data_dir, 'env'), mode=0o700)
        os.makedirs(os.path.join(self.private_data_dir, 'inventory'), mode=0o700)
        shutil.copytree(PROJECT, os.path.join(self.private_data_dir, 'project'))
        self._inventory()
        env = self._envvars(extra_env or {})
        credentials = dict(credentials or {})
        if cmk_key_text is not None:
            credentials['lookerops_cmk'] = {'cmk_key': cmk_key_text}
        for name, inputs in sorted(credentials.items()):
            injected, extra, _unsafe, files = awx_rules.render_injectors(credential_type(name), inputs, self.private_data_dir)
            assert not extra, 'these credential types inject no extra variables'
            env.update(injected)
            self.credential_files.extend(files)
            if name == 'lookerops_cmk':
                self.credential_file = files[0]
        _write(os.path.join(self.private_data_dir, 'env', 'envvars'), json.dumps(env, indent=2))
        variables = {
            'awx_job_id': job_id, 'tower_job_id': job_id, 'awx_job_launch_type': 'manual',
            'awx_job_template_name': 'Looker encryption: %s' % playbook, 'awx_user_name': 'admin',
            'awx_project_revision': '', 'awx_execution_node': 'localhost',
        }
        variables.update(extra_vars or {})
        _write(os.path.join(self.private_data_dir, 'env', 'extravars'), awx_rules.unsafe_yaml(variables))
        _write(os.path.join(self.private_data_dir, 'env', 'settings'),
               json.dumps({'idle_timeout': 0, 'job_timeout': 1800, 'pexpect_timeout': 5}))
        with open(bed.ssh_key, encoding='ascii') as handle:
            _write(os.path.join(self.private_data_dir, 'env', 'ssh_key'), handle.read())
        _write(os.path.join(self.private_data_dir, 'env', 'cmdline'), '-u root')

    def _inventory(self):
        """The bed's hosts as AWX's inventory script; host connection details the way AWX has them (no key file, no pipelining)."""
        listing = subprocess.run([os.path.join(os.path.dirname(self.bed.python), 'ansible-inventory'), '-i', self.bed.inventory, '--list'],
                                 capture_output=True, text=True, check=True, env=self.bed.ansible_env()).stdout
        data = json.loads(listing)
        for hostvars in data.get('_meta', {}).get('hostvars', {}).values():
            for name in ('ansible_ssh_pipelining', 'ansible_ssh_private_key_file', 'ansible_user'):
                hostvars.pop(name, None)
        script = '#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint(%r)\n' % json.dumps(data)
        _write(os.path.join(self.private_data_dir, 'inventory', 'hosts'), script, mode=0o700)

    def _envvars(self, extra):
        base = self.bed.ansible_env()
        env = {name: base[name] for name in ('PATH', 'LC_ALL', 'LANG') if name in base}
        if self.bin_dir:
            env['PATH'] = self.bin_dir + os.pathsep + env.get('PATH', os.defpath)
        env.update(self.bed.aws_env())
        env.update({
            'HOME': self.private_data_dir,
            'ANSIBLE_COLLECTIONS_PATH': collections_path(),
            'ANSIBLE_PIPELINING': 'False',
            'ANSIBLE_HOST_KEY_CHECKING': 'False',
            'ANSIBLE_FORCE_COLOR': 'False',
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_RETRY_FILES_ENABLED': 'False',
            'ANSIBLE_INVENTORY_UNPARSED_FAILED': 'True',
            'ANSIBLE_PARAMIKO_RECORD_HOST_KEYS': 'False',
            'ANSIBLE_DEPRECATION_WARNINGS': 'False',
            'ANSIBLE_FORKS': '5',
            'ANSIBLE_CACHE_PLUGIN': 'jsonfile',
            'ANSIBLE_CACHE_PLUGIN_CONNECTION': self.fact_cache,
            'ANSIBLE_LOCAL_TEMP': os.path.join(self.private_data_dir, 'tmp'),
            'AWX_HOST': 'https://awx.example.invalid',
            'JOB_ID': str(self.job_id),
            'INVENTORY_ID': '1',
            'PROJECT_REVISION': '',
            'PYTHONUNBUFFERED': '1',
        })
        env.update(extra)
        return env

    @property
    def artifacts(self):
        return os.path.join(self.private_data_dir, 'artifacts', self.ident)

    @property
    def fact_cache(self):
        return os.path.join(self.private_data_dir, 'artifacts', self.ident, 'fact_cache')

    def run(self, timeout=1800):
        """``ansible-runner run`` (the CLI an execution environment runs) on the private data directory; returns self.runner."""
        runner = os.path.join(os.path.dirname(self.bed.python), 'ansible-runner')
        proc = subprocess.run([runner, 'run', self.private_data_dir, '-p', self.playbook, '--ident', self.ident, '-q'],
                              capture_output=True, text=True, timeout=timeout, check=False, env=self.bed.ansible_env())
        self.runner = RunnerResult(self.artifacts, proc)
        return self.runner

    @property
    def stdout(self):
        with open(os.path.join(self.artifacts, 'stdout'), encoding='utf-8', errors='replace') as handle:
            return handle.read()

    def events(self):
        """Every stored job event, in order."""
        directory = os.path.join(self.artifacts, 'job_events')
        found = []
        for name in os.listdir(directory):
            if name.endswith('.json'):
                with open(os.path.join(directory, name), encoding='utf-8') as handle:
                    found.append(json.load(handle))
        return sorted(found, key=lambda e: e.get('counter', 0))

    def host_events(self, event):
        """{phase: {host: count}} of ``event`` (runner_on_ok, runner_on_failed, ...); the phase is the task name's prefix."""
        phases = {}
        for item in self.events():
            if item.get('event') != event:
                continue
            data = item.get('event_data', {})
            phase = (data.get('task') or '').split(' | ')[0]
            hosts = phases.setdefault(phase, {})
            hosts[data.get('host')] = hosts.get(data.get('host'), 0) + 1
        return phases

    def discard_credential_file(self):
        """What AWX does with the credentials' injected files once the job ends."""
        for path in self.credential_files:
            if os.path.exists(path):
                os.unlink(path)
