#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lk_rds_snapshot
short_description: Snapshot the Looker backend RDS MySQL instance for a run (and restore it to a new instance)
version_added: 0.1.0
description:
  - The seed procedure says to take a snapshot of an external MySQL backend before the migration. This module takes a manual
    DB snapshot of the backend RDS instance named C(lookerops-<run_id>), tagged C(lookerops:run_id=<run_id>), and waits until
    it is C(available), bounded by O(wait_timeout).
  - The instance is O(db_instance_identifier), or is derived from O(db_host) (the C(host) of Looker's credentials file) when that
    is an RDS endpoint C(<id>.<hash>.<region>.rds.amazonaws.com). The region is then taken from the host too.
  - A re-run of the same run finds the run's snapshot (by its id, or by its C(lookerops:run_id) tag on a snapshot of the instance)
    and adopts it instead of taking another one.
  - O(state=restored) restores the run's snapshot to a B(new) instance O(restore_instance_identifier) and waits for it. It never
    overwrites or modifies the original instance. An instance of that id that was restored from this snapshot before
    (tag C(lookerops:restored_from)) is adopted; any other instance of that id is refused. Point Looker's credentials at the new
    endpoint yourself once you have checked it.
  - Runs on the controller (C(delegate_to=localhost), C(run_once=true)) with the standard boto3 credential chain.
author:
  - lookerops.encryption contributors (@lookerops)
options:
  state:
    description:
      - V(present) ensures the run's snapshot exists and (with O(wait)) is available.
      - V(restored) restores the run's existing snapshot to the new instance O(restore_instance_identifier); it never takes a
        snapshot.
    type: str
    choices: [present, restored]
    default: present
  run_id:
    description:
      - The run id of the migration (C(lookerops_run_id)). The snapshot id is C(lookerops-<run_id>) in lower case with every
        character other than letters, digits and C(-) turned into C(-) (RDS rules), unless O(snapshot_identifier) is given.
    type: str
    required: true
  snapshot_identifier:
    description: Snapshot id to use instead of the one derived from O(run_id).
    type: str
  db_instance_identifier:
    description: The backend RDS DB instance. Required unless O(db_host) is an RDS instance endpoint.
    type: str
  db_host:
    description:
      - The C(host) of Looker's backend credentials. When it is an RDS endpoint C(<id>.<hash>.<region>.rds.amazonaws.com), the
        instance id and the region are derived from it. An Aurora cluster endpoint is refused (Looker does not support Aurora).
    type: str
  wait:
    description: Wait until the snapshot (and the restored instance) is available, at most O(wait_timeout) seconds per wait.
    type: bool
    default: true
  tags:
    description: More tags for a new snapshot or restored instance.
    type: dict
    default: {}
  restore_instance_identifier:
    description: The new instance id for O(state=restored). Must differ from the source instance.
    type: str
  restore_instance_class:
    description: Instance class of the restored instance. Default the class recorded in the snapshot.
    type: str
  restore_subnet_group:
    description: DB subnet group of the restored instance. Default the default subnet group of the account.
    type: str
  restore_security_group_ids:
    description: VPC security group ids of the restored instance. Default the default security group of the VPC.
    type: list
    elements: str
extends_documentation_fragment:
  - lookerops.encryption.attributes
  - ansible.builtin.action_common_attributes
  - lookerops.encryption.aws
attributes:
  check_mode:
    details:
      - Decides C(changed) from reads only; takes no snapshot, restores nothing and does not wait.
notes:
  - The identity running the task needs C(rds:DescribeDBInstances), C(rds:DescribeDBSnapshots), C(rds:ListTagsForResource),
    C(rds:CreateDBSnapshot), C(rds:AddTagsToResource), and for O(state=restored) C(rds:RestoreDBInstanceFromDBSnapshot).
  - A snapshot of an encrypted instance is encrypted with the instance's KMS key; that key is not the Looker CMK.
  - Snapshots taken by this module are kept; delete them yourself when the migration is proven.
seealso:
  - module: lookerops.encryption.lk_backup
"""

EXAMPLES = r"""
- name: Snapshot the backend before the migration
  lookerops.encryption.lk_rds_snapshot:
    run_id: "{{ lookerops_run_id }}"
    db_host: looker-backend.c9akciq32.eu-west-1.rds.amazonaws.com
  delegate_to: localhost
  run_once: true
  register: backend_snapshot

- name: Restore the run's snapshot to a new instance (the original is left alone)
  lookerops.encryption.lk_rds_snapshot:
    state: restored
    run_id: "{{ lookerops_run_id }}"
    db_instance_identifier: looker-backend
    region: eu-west-1
    restore_instance_identifier: looker-backend-restored
    wait_timeout: 3600
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
snapshot_id:
  description: Id of the run's snapshot.
  returned: always
  type: str
  sample: lookerops-20261128t022747z
snapshot_arn:
  description: ARN of the snapshot (null in check mode when it would be taken).
  returned: always
  type: str
  sample: arn:aws:rds:eu-west-1:111122223333:snapshot:lookerops-20261128t022747z
status:
  description: Status of the snapshot (C(available) after a successful wait; null in check mode when it would be taken).
  returned: always
  type: str
  sample: available
created:
  description: The snapshot was taken by this task (in check mode, would be).
  returned: always
  type: bool
adopted:
  description: The run's snapshot existed already (an earlier try of this run took it) and was used.
  returned: always
  type: bool
db_instance_identifier:
  description: The source instance.
  returned: always
  type: str
  sample: looker-backend
region:
  description: Region of the instance.
  returned: always
  type: str
  sample: eu-west-1
engine:
  description: Engine of the source instance (Looker supports MySQL).
  returned: always
  type: str
  sample: mysql
snapshot_create_time:
  description: When RDS took the snapshot (ISO 8601), null while unknown.
  returned: always
  type: str
restored:
  description: The restored instance (O(state=restored) only).
  returned: when state=restored
  type: dict
  contains:
    db_instance_identifier:
      description: Id of the new instance.
      type: str
    arn:
      description: ARN of the new instance (null in check mode when it would be restored).
      type: str
    status:
      description: Status of the new instance.
      type: str
    endpoint:
      description: Endpoint address of the new instance, when RDS has one.
      type: str
    port:
      description: Port of the new instance.
      type: int
    created:
      description: The restore was started by this task (in check mode, would be).
      type: bool
    adopted:
      description: The instance existed already, restored from this snapshot by an earlier try.
      type: bool
"""

from ansible_collections.lookerops.encryption.plugins.module_utils._aws.common import aws_module, run_backend
from ansible_collections.lookerops.encryption.plugins.module_utils._aws.rds import RdsSnapshotBackend, resolve_instance


def argument_spec():
    return dict(
        state=dict(type='str', choices=['present', 'restored'], default='present'),
        run_id=dict(type='str', required=True),
        snapshot_identifier=dict(type='str'),
        db_instance_identifier=dict(type='str'),
        db_host=dict(type='str'),
        wait=dict(type='bool', default=True),
        tags=dict(type='dict', default={}),
        restore_instance_identifier=dict(type='str'),
        restore_instance_class=dict(type='str'),
        restore_subnet_group=dict(type='str'),
        restore_security_group_ids=dict(type='list', elements='str'),
    )


def main():
    module = aws_module(argument_spec(), required_one_of=[('db_instance_identifier', 'db_host')],
                        required_if=[('state', 'restored', ('restore_instance_identifier',))])
    run_backend(module, RdsSnapshotBackend, 'run_id', prepare=resolve_instance)


if __name__ == '__main__':
    main()
