# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of _live_window: the first try of the offline task waits for what remains of Looker's live window."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.lookerops.encryption.plugins.filter import live_window_wait as lw_filter
from ansible_collections.lookerops.encryption.plugins.plugin_utils._live_window import LiveWindowError, live_window_wait


def test_waits_for_what_remains_of_the_window():
    assert live_window_wait({'stopped_at': 1000.0, 'any_was_running': True}, 60, 1015.5) == 44.5


def test_the_window_runs_from_when_the_last_node_was_down_when_known():
    # last_down_by (the latest stop result back on the controller) is earlier than the end of the whole stop task.
    assert live_window_wait({'stopped_at': 1004.0, 'last_down_by': 1001.5, 'any_was_running': True}, 60, 1015.5) == 46.0
    # Unknown (a stop launched with async): the end of the stop task stands.
    assert live_window_wait({'stopped_at': 1004.0, 'last_down_by': None, 'any_was_running': True}, 60, 1015.5) == 48.5
    # Nothing running: no wait, whatever the times.
    assert live_window_wait({'stopped_at': 1004.0, 'last_down_by': 1001.5, 'any_was_running': False}, 60, 1015.5) == 0.0


def test_no_wait_once_the_window_has_passed():
    assert live_window_wait({'stopped_at': 1000.0, 'any_was_running': True}, 60, 1075.0) == 0.0


def test_no_wait_when_no_node_was_running():
    # A resumed run found every node down: nothing it did opened a window; Looker's answer decides the retries.
    assert live_window_wait({'stopped_at': 1000.0, 'any_was_running': False}, 60, 1001.0) == 0.0


def test_no_wait_without_a_stop_record():
    assert live_window_wait({}, 60, 5.0) == 0.0
    assert live_window_wait(None, 60, 5.0) == 0.0


def test_a_window_of_zero_never_waits():
    assert live_window_wait({'stopped_at': 1000.0, 'any_was_running': True}, 0, 1000.0) == 0.0


@pytest.mark.parametrize('window', ['soon', -1, None])
def test_a_bad_window_is_refused(window):
    with pytest.raises(LiveWindowError):
        live_window_wait({'stopped_at': 1.0, 'any_was_running': True}, window, 2.0)


def test_now_is_required_when_it_matters():
    with pytest.raises(LiveWindowError):
        live_window_wait({'stopped_at': 1.0, 'any_was_running': True}, 60, None)


def test_the_filter_names_itself_in_its_error():
    flt = lw_filter.FilterModule().filters()['live_window_wait']
    assert flt({'stopped_at': 10.0, 'any_was_running': True}, 60, 40.0) == 30.0
    with pytest.raises(AnsibleFilterError, match='live_window_wait: the live window'):
        flt({'stopped_at': 10.0, 'any_was_running': True}, 'x', 40.0)
