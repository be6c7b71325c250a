# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the bounded waiter of the AWS modules (limits from wait_timeout).

Not a public API; it may change without notice.
"""

from __future__ import annotations

import random
import time

from ansible_collections.lookerops.encryption.plugins.module_utils._aws.errors import AwsError


def wait_for(check, what, timeout, label=str, delay=5.0, max_delay=30.0, clock=None, sleep=None):
    """Poll ``check()`` until it returns ``(True, state)``; bounded by ``timeout`` seconds (wait_timeout), never unbounded.

    ``check()`` returns ``(done, state)``; it may raise AwsError to stop at once (a failed state). ``label(state)`` is the text
    of the last state in the timeout message.
    Delays grow by half each poll, with jitter, and never run past the deadline.
    Returns the last state; raises AwsError naming ``what``, the last state and the timeout.
    """
    clock = clock or time.monotonic
    sleep = sleep or time.sleep
    if timeout is None or timeout <= 0:
        raise AwsError('wait_timeout must be a positive number of seconds (got %s).' % timeout)
    deadline = clock() + timeout
    state = None
    polls = 0
    while True:
        done, state = check()
        polls += 1
        if done:
            return state
        remaining = deadline - clock()
        if remaining <= 0:
            raise AwsError('Timed out after %ss (wait_timeout) waiting for %s; last state: %s (%d polls). Nothing was undone: run the '
                           'task again to keep waiting, or raise wait_timeout.' % (timeout, what, label(state), polls), code='WaitTimeout')
        pause = min(max_delay, delay * (1.5 ** min(polls - 1, 10)))
        pause = pause * random.uniform(0.75, 1.25)  # nosec - jitter, not a secret
        sleep(max(0.0, min(pause, remaining)))
