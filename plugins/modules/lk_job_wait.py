#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lk_job_wait
short_description: Wait on a node for a job launched with async, and return its result
version_added: 0.1.0
description:
  - Waits for the job whose C(results_file) a task launched with C(async) and C(poll=0) returned, checking the file at
    sub-second intervals, then returns the job's own result and fails when the job failed.
  - One task per node, with no retry line per check (as C(ansible.builtin.async_status) with C(until) prints). The roles use it
    to stop or start more nodes than C(forks) in one round.
  - Removes the results file once read, unless O(cleanup=false).
  - On timeout it fails and leaves the job alone; the job still runs on the node.
  - While it waits, the controller prints a line every O(progress_interval) seconds (the node, the job, how long, and how
    far when the job writes its O(progress_file)), so a long phase shows in the output as it happens.
author:
  - lookerops.encryption contributors (@lookerops)
extends_documentation_fragment:
  - lookerops.encryption.attributes
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    details: Waits and reads the same way, and keeps the results file.
options:
  results_file:
    description: The C(results_file) the launching task returned.
    type: path
    required: true
  timeout:
    description: Seconds to wait for the job.
    type: int
    default: 3600
  poll_interval:
    description: Seconds between two checks of the results file.
    type: float
    default: 0.2
  cleanup:
    description: Remove the results file once the job's result is read.
    type: bool
    default: true
  progress_file:
    description:
      - The file where the job keeps its progress (for example the O(lookerops.encryption.lk_backup#module:progress_file)
        of a backup), shown in the progress lines.
    type: path
  remove_to_cancel:
    description:
      - Cancel the job first, by removing this file whenever it exists until the job has ended (the gate file of a start
        that waits for the first node, O(lookerops.encryption.lk_start#module:after_url); it may not exist yet when the job
        has only just been launched). Then returns the job's result as usual.
    type: path
  progress_interval:
    description:
      - Seconds between two progress lines the controller prints while the job still runs, each naming the node, the
        job (O(label)), how long it has run and, with O(progress_file), how far it is. 0 prints none and waits in one go.
      - Each line costs one more short module call on the node.
    type: float
    default: 15
  label:
    description: What the job is, in the progress lines.
    type: str
  slice_seconds:
    description:
      - Return after this many seconds with RV(running) true when the job still runs, instead of waiting on. The action
        plugin sets it from O(progress_interval); do not set it in a task.
    type: float
seealso:
  - module: ansible.builtin.async_status
"""

EXAMPLES = r"""
- name: Start every other node at once
  lookerops.encryption.lk_start:
    unfence: true
    run_id: "{{ lookerops_run.run_id }}"
  async: 720
  poll: 0
  register: launched

- name: Wait for each start
  lookerops.encryption.lk_job_wait:
    results_file: "{{ launched.results_file }}"
    timeout: 720
  when: launched.results_file is defined
"""

RETURN = r"""
ansible_job_id:
  description: The job's id.
  returned: when the job wrote it
  type: str
waited_seconds:
  description: Seconds this task waited.
  returned: success
  type: float
returned_at:
  description:
    - When the job's result came back to the controller, in seconds since the epoch on the controller's clock (set by the
      action plugin). The job had ended by then; for the stops the stop role launches with C(async), the latest over the
      nodes is when the last node was down at the latest (P(lookerops.encryption.last_down_by#filter)).
  returned: success
  type: float
running:
  description: True when the module returned after O(slice_seconds) with the job still running (the action plugin then waits again).
  returned: when O(slice_seconds) ended first
  type: bool
progress:
  description: The job's progress from O(progress_file) (C(what), C(done_bytes), C(total_bytes), C(seconds)), or null.
  returned: when O(slice_seconds) ended first
  type: dict
changed:
  description: Whether the job changed something. Every other value the job returned is returned as it is.
  returned: success
  type: bool
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lookerops.encryption.plugins.module_utils._async_job import JobWaitError, wait_for_job
from ansible_collections.lookerops.encryption.plugins.module_utils._progress import read_progress


def cancelling_sleep(path):
    """A sleep that first removes ``path`` (the job's gate file) when it exists: the job, once it holds the file, sees
    it gone and ends without doing its work."""
    def sleep(seconds):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise JobWaitError('could not remove %s to cancel the job: %s. The job was not cancelled: remove that file as root '
                               '(the job then ends without starting anything), then run again' % (path, exc)) from None
        if seconds:
            time.sleep(seconds)
    return sleep


def main():
    module = AnsibleModule(
        argument_spec=dict(
            results_file={'type': 'path', 'required': True},
            timeout={'type': 'int', 'default': 3600},
            poll_interval={'type': 'float', 'default': 0.2},
            cleanup={'type': 'bool', 'default': True},
            progress_file={'type': 'path'},
            remove_to_cancel={'type': 'path'},
            # Read by the action plugin on the controller.
            progress_interval={'type': 'float', 'default': 15},
            label={'type': 'str'},
            slice_seconds={'type': 'float'},
        ),
        supports_check_mode=True,
    )
    params = module.params
    sleep = time.sleep
    if params['remove_to_cancel'] and not module.check_mode:
        sleep = cancelling_sleep(params['remove_to_cancel'])
    try:
        sleep(0)
        result = wait_for_job(params['results_file'], params['timeout'], params['poll_interval'],
                              params['cleanup'] and not module.check_mode, sleep=sleep, slice_seconds=params['slice_seconds'])
    except JobWaitError as exc:
        module.fail_json(msg=str(exc), results_file=params['results_file'])
    if result is None:
        module.exit_json(changed=False, running=True, progress=read_progress(params['progress_file']))
    for warning in result.pop('warnings', None) or []:
        module.warn(warning['msg'] if isinstance(warning, dict) and 'msg' in warning else str(warning))
    result.pop('deprecations', None)
    result.setdefault('changed', False)
    if result.get('failed'):
        result.pop('failed')
        module.fail_json(msg=result.pop('msg', 'the job failed'), **result)
    result.pop('failed', None)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
