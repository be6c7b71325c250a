# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers shared by the module unit tests: run a module's main() with given arguments and return its result.

The fixtures shared by these tests (``fake``, ``aws_env``) are in ``conftest.py`` next to this file.
"""

from __future__ import annotations

import contextlib
import json

from unittest import mock

import pytest

from ansible.module_utils import basic

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core before 2.19 (the support floor, 2.17) has no testing helper: its modules read _ANSIBLE_ARGS
    @contextlib.contextmanager
    def patch_module_args(args=None):
        """Expose ``args`` to the AnsibleModule instances created in this context.

        ``_ansible_inject_invocation`` came with ansible-core 2.19; before, every result carries the invocation and the
        flag is an unsupported parameter, so it is left out.
        """
        args = dict((k, v) for k, v in (args or {}).items() if k != '_ansible_inject_invocation')
        with mock.patch.object(basic, '_ANSIBLE_ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': args}).encode()):
            yield


class ModuleExit(Exception):
    """Raised by the patched exit_json/fail_json so that main() stops where the module would exit."""


def run_main(module, args, monkeypatch, check_mode=False, diff=False):
    """Run ``module.main()`` with ``args``, capturing what it passes to exit_json/fail_json.

    A failure comes back with ``failed=True`` and ``msg``; the result must be JSON serialisable.
    """
    out = {}

    def _exit(self, **kwargs):  # pylint: disable=unused-argument
        out.update(kwargs)
        raise ModuleExit()

    def _fail(self, msg, **kwargs):  # pylint: disable=unused-argument
        out.update(kwargs)
        out['failed'] = True
        out['msg'] = msg
        raise ModuleExit()

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', _exit)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', _fail)
    payload = dict(args)
    payload['_ansible_check_mode'] = check_mode
    if diff:
        payload['_ansible_diff'] = True
    with patch_module_args(payload):
        with pytest.raises(ModuleExit):
            module.main()
    json.dumps(out)
    return out


def run_main_json(module, capsys, args, secrets=()):
    """Run ``module.main()`` with ``args`` through the real exit_json/fail_json and return the JSON it printed.

    None of ``secrets`` may appear anywhere in that output.
    """
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    out = capsys.readouterr().out
    for secret in secrets:
        assert secret not in out
    return json.loads(out)


def common(fake, **kwargs):
    """Arguments pointing a module at the FakeLooker ``fake``, plus ``kwargs``."""
    args = {'looker_home': fake.home, 'looker_user': fake.user, 'java': fake.java}
    args.update(kwargs)
    return args
