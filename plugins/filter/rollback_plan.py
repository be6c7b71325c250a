# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: rollback_plan
short_description: Whether a rollback of a run may go ahead, decided before anything is touched
version_added: 0.2.0
description:
  - Takes the facts preflight gathered for a rollback and returns the decision. Problems are raised when a backup of the run
    does not match its manifest or cannot be checked (an unreachable node), when a check of the key the backups need failed,
    and when the run completed (or a later run did) and the cluster has served since, unless the operator set
    C(lookerops_rollback_discard_changes_since_run). A failed or unfinished run needs no acknowledgement.
author:
  - lookerops.encryption contributors (@lookerops)
options:
  _input:
    description:
      - The facts, a dict with C(run_id), C(now) (epoch seconds), C(acknowledged), C(key_note) and C(pre_note) (the notes
        of the run's backup directory, or null), C(nodes) (a list of C(name), C(reachable), C(marker), C(marker_mtime),
        C(up), C(started_at), C(backup) with C(verified), C(error), C(created_utc)), C(backend) (null, or C(matched),
        C(verified), C(error)), C(key_checks) (a list of C(where), C(error)) and C(suffix) (random hex digits for the id
        of the pre-rollback backup).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Decide
  ansible.builtin.set_fact:
    plan: "{{ facts | lookerops.encryption.rollback_plan }}"
"""

RETURN = r"""
_value:
  description:
    - C(allowed), C(problems) (sentences naming what is wrong and what to do), C(kind) (migrate, rekey or pre-rollback),
      C(status) (completed, superseded or unfinished), C(discards_run), C(ended_utc), C(needs_ack), C(acknowledged),
      C(lost), C(served) and C(pre_backup_id) (the run id of the backup of the current homes and backend that the rollback
      takes before it restores).
  type: dict
"""

from ansible_collections.lookerops.encryption.plugins.plugin_utils._rollback_plan import rollback_plan


class FilterModule:
    """The rollback's decision."""

    def filters(self):
        return {'rollback_plan': rollback_plan}
