# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What lk_backup and lk_restore share (_backup/jobs.py): the options, which job runs, how a failure is told."""

from __future__ import annotations

import errno

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils._backup import jobs
from ansible_collections.lookerops.encryption.plugins.module_utils._backup.errors import BackupError
from ansible_collections.lookerops.encryption.plugins.module_utils._mysql.config import BackendError


class Failed(Exception):
    pass


class FakeModule:
    def __init__(self, **params):
        self.params = params
        self.failed = None

    def fail_json(self, **kwargs):
        self.failed = kwargs
        raise Failed()


def test_the_options_are_what_looker_home_the_modules_own_and_the_backend_group():
    spec = jobs.job_argument_spec({'backup_path': {'type': 'path', 'required': True}})
    assert spec['what']['choices'] == ['home', 'backend'] and spec['looker_home']['default'] == '/home/looker/looker'
    assert spec['backup_path'] == {'type': 'path', 'required': True}
    assert spec['backend']['type'] == 'dict' and spec['backend']['options']['password']['no_log'] is True


def test_what_home_runs_the_home_job():
    module = FakeModule(what='home')
    assert jobs.run_job(module, lambda: 'home job', lambda cfg: 'backend job', lambda job: job + ' ran', 'backup') == 'home job ran'


def test_what_backend_builds_the_backend_settings_first():
    module = FakeModule(what='backend', backend={'host': 'db1', 'user': 'looker', 'password': 'pw'})
    seen = jobs.run_job(module, lambda: None, lambda cfg: cfg, lambda job: job, 'backup')
    assert (seen.host, seen.user, seen.database) == ('db1', 'looker', 'looker')


@pytest.mark.parametrize('error', [BackupError('the backup is damaged'), BackendError('cannot connect')])
def test_known_errors_fail_with_their_message_only(error):
    def call(job):
        raise error
    module = FakeModule(what='home')
    with pytest.raises(Failed):
        jobs.run_job(module, lambda: None, lambda cfg: None, call, 'restore')
    assert module.failed == {'msg': str(error)}


def test_an_os_error_fails_with_the_callers_message_or_the_traceback():
    def call(job):
        raise OSError(errno.ENOSPC, 'No space left on device')
    module = FakeModule(what='home')
    with pytest.raises(Failed):
        jobs.run_job(module, lambda: None, lambda cfg: None, call, 'backup', os_error=lambda exc: 'disk full')
    assert module.failed == {'msg': 'disk full'}
    with pytest.raises(Failed):
        jobs.run_job(module, lambda: None, lambda cfg: None, call, 'backup', os_error=lambda exc: None)
    assert module.failed['msg'] == 'backup failed: [Errno 28] No space left on device' and 'Traceback' in module.failed['exception']
