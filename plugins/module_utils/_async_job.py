# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting on the node for a job Ansible launched with ``async`` and ``poll: 0``.

Ansible's async wrapper writes ``{"started": 1, "finished": 0, "ansible_job_id": ...}`` into the job's results file when the
job starts, then replaces the file (write and rename) with the module's own result when it ends. Only that first record
has a false ``finished``: a module's result may hold a ``started`` of its own (lk_start says whether it started Looker). This module reads that file at
sub-second intervals, so a play waits for many launched jobs in one task per node, without a retry line per poll.
"""

from __future__ import annotations

import json
import os
import time


class JobWaitError(Exception):
    """The job cannot be waited for (no results file, unreadable, or not finished in time)."""


def read_job(results_file):
    """The job's state: (finished, result). A file not written yet, or half written, counts as running."""
    try:
        with open(results_file, encoding='utf-8') as handle:
            text = handle.read()
    except FileNotFoundError:
        raise JobWaitError('%s does not exist: no job with these results was launched on this node, or its results were '
                           'already collected. Look for the job under the async directory (~/.ansible_async by default)'
                           % results_file) from None
    except OSError as exc:
        raise JobWaitError('%s cannot be read (%s): wait as the user the job ran as (become: true)'
                           % (results_file, exc.strerror)) from None
    try:
        data = json.loads(text)
    except ValueError:
        return False, {}
    if not isinstance(data, dict):
        return False, {}
    if 'finished' in data and not data['finished']:
        return False, data
    return True, data


def wait_for_job(results_file, timeout, poll_interval=0.2, cleanup=True, clock=time.monotonic, sleep=time.sleep,
                 slice_seconds=None):
    """Wait until the job has written its result; return that result (the results file removed when ``cleanup``).

    With ``slice_seconds``, return None once that long has passed with the job still running (before ``timeout``): the
    controller prints a progress line, then waits again."""
    began = clock()
    while True:
        finished, data = read_job(results_file)
        if finished:
            break
        elapsed = clock() - began
        left = timeout - elapsed
        if left <= 0:
            raise JobWaitError('the job did not finish within %ss; it was not stopped and still runs on the node. Its result '
                               'will be in %s' % (timeout, results_file))
        if slice_seconds is not None and elapsed >= slice_seconds:
            return None
        wait = min(poll_interval, left)
        if slice_seconds is not None:
            wait = min(wait, max(0.0, slice_seconds - elapsed))
        sleep(wait)
    if cleanup:
        try:
            os.unlink(results_file)
        except FileNotFoundError:
            pass
    result = {key: value for key, value in data.items() if key not in ('invocation', '_ansible_no_log')}
    result['waited_seconds'] = round(clock() - began, 3)
    return result
