# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: what lk_backup and lk_restore share (``what`` is the home or the backend).

This is not a public API; it may change without notice.
"""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lookerops.encryption.plugins.module_utils._backup.errors import BackupError
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.node import read_looker_db
from ansible_collections.lookerops.encryption.plugins.module_utils._mysql.config import BackendConfig, BackendError, backend_argument_spec


def job_argument_spec(options):
    """``what``, ``looker_home``, the module's own ``options`` and the backend option group."""
    spec = {
        'what': {'type': 'str', 'required': True, 'choices': ['home', 'backend']},
        'looker_home': {'type': 'path', 'default': '/home/looker/looker'},
    }
    spec.update(options)
    spec.update(backend_argument_spec())
    return spec


def job_module(options):
    """The AnsibleModule of lk_backup or lk_restore (check mode supported; ``what=backend`` needs ``backend``)."""
    return AnsibleModule(argument_spec=job_argument_spec(options), supports_check_mode=True,
                         required_if=[('what', 'backend', ('backend',))])


def run_job(module, home_job, backend_job, call, what, os_error=None):
    """``call(job)`` for the job of ``what=home`` (``home_job()``) or ``what=backend`` (``backend_job(backend config)``).

    Fails the task with the message of a BackupError or BackendError; an OSError fails it with ``os_error(exc)`` when that
    gives a message, else with ``<what> failed: <error>`` and the traceback. Returns what ``call`` returns.
    """
    params = module.params
    try:
        if params['what'] == 'home':
            job = home_job()
        else:
            job = backend_job(BackendConfig.from_params(params['backend'], read_looker_db=read_looker_db))
        return call(job)
    except (BackupError, BackendError) as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        msg = os_error(exc) if os_error else None
        if msg:
            module.fail_json(msg=msg)
        module.fail_json(msg='%s failed: %s' % (what, exc), exception=traceback.format_exc())
    return None  # not reached: fail_json exits
