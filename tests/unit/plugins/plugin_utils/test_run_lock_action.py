# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lk_run_lock action plugin names this controller's ansible-playbook as the lock's holder (controller side: ansible-test
runs these tests with the controller's Python and ansible-core, not in the module_utils context)."""

from __future__ import annotations

import os

from ansible_collections.lookerops.encryption.plugins.action.lk_run_lock import controller_holder
from ansible_collections.lookerops.encryption.plugins.module_utils import _run_lock as rl
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.proc import process_started_at


def test_the_action_plugin_names_this_controllers_ansible_playbook():
    me = controller_holder()
    assert me['pid'] == os.getppid() and me['host']
    assert rl.holder_alive(me, me, process_started_at) is True
