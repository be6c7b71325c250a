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
  - lookerops.encryption.aws
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details:
      - Decides C(changed) from reads only; takes no snapshot, restores nothing and does not wait.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
notes:
  - The identity running the task needs C(rds:DescribeDBInstances), C(rds:DescribeDBSnapshots), C(rds:ListTagsForResource),
    C(rds:CreateDBSnapshot), C(rds:AddTagsToResource), and for O(state=restored) C(rds:RestoreDBInstanceFromDBSnapshot).
  - A snapshot of an encrypted instance is encrypted with the instance's KMS key; that key is not the Looker CMK.
  - Snapshots taken by this module are kept; delete them yourself when the migration is proven.
requirements:
  - boto3 and botocore on the controller
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

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lookerops.encryption.plugins.module_utils._aws import (
    AWS_REQUIRED_TOGETHER,
    TAG_MANAGED,
    TAG_MANAGED_VALUE,
    TAG_RESTORED_FROM,
    TAG_RUN_ID,
    AwsConnection,
    AwsError,
    aws_tags,
    compose_argument_spec,
    parse_rds_host,
    require_boto3,
    tags_dict,
    wait_for,
    wall_time_iso,
)

SNAPSHOT_NOT_FOUND = ('DBSnapshotNotFound', 'DBSnapshotNotFoundFault')
INSTANCE_NOT_FOUND = ('DBInstanceNotFound', 'DBInstanceNotFoundFault')
SNAPSHOT_FAILED = ('failed', 'error')
INSTANCE_FAILED = ('failed', 'incompatible-restore', 'incompatible-parameters', 'incompatible-network', 'storage-full',
                   'inaccessible-encryption-credentials', 'restore-error')
IDENTIFIER_RE = re.compile(r'^[a-z][a-z0-9]*(-[a-z0-9]+)*$')


def snapshot_id_for(run_id):
    """lookerops-<run_id> made a valid RDS snapshot id: lower case, only letters, digits and single hyphens, no trailing hyphen."""
    text = re.sub(r'[^a-z0-9-]+', '-', 'lookerops-%s' % (run_id or '').strip().lower())
    text = re.sub(r'-{2,}', '-', text).strip('-')[:255].rstrip('-')
    return text


def check_identifier(value, what):
    if not value or len(value) > 255 or not IDENTIFIER_RE.match(value.lower()):
        raise AwsError('%s %r is not a valid RDS identifier (a letter, then letters, digits and single hyphens, no trailing hyphen).'
                       % (what, value), code='InvalidParameterValue')
    return value.lower()


class RdsSnapshotBackend:
    """Decisions of lk_rds_snapshot: find or take the run's snapshot, wait (bounded), restore to a new instance."""

    def __init__(self, conn, params, check_mode):
        self.conn = conn
        self.params = params
        self.check_mode = check_mode
        self.instance_id = check_identifier(params['db_instance_identifier'], 'db_instance_identifier')
        self.snapshot_id = check_identifier(params['snapshot_identifier'] or snapshot_id_for(params['run_id']), 'The snapshot id')
        self.changed = False

    def rds(self, operation, absent_codes=(), **kwargs):
        return self.conn.call('rds', operation, absent_codes=absent_codes, **kwargs)

    def _tags_of(self, item, arn_key):
        if 'TagList' in item:
            return tags_dict(item['TagList'])
        return tags_dict(self.rds('ListTagsForResource', ResourceName=item[arn_key]).get('TagList'))

    def describe_instance(self, instance_id):
        answer = self.rds('DescribeDBInstances', absent_codes=INSTANCE_NOT_FOUND, DBInstanceIdentifier=instance_id)
        return answer and answer['DBInstances'][0]

    def describe_snapshot(self, snapshot_id):
        answer = self.rds('DescribeDBSnapshots', absent_codes=SNAPSHOT_NOT_FOUND, DBSnapshotIdentifier=snapshot_id)
        return answer and (answer.get('DBSnapshots') or [None])[0]

    def find_snapshot(self):
        """The run's snapshot: by its id, else by the run id tag among the instance's manual snapshots."""
        snap = self.describe_snapshot(self.snapshot_id)
        if snap is not None:
            if snap['DBInstanceIdentifier'].lower() != self.instance_id:
                raise AwsError('The snapshot %s exists but is a snapshot of the instance %s, not of %s. Check db_instance_identifier, '
                               'or give another run_id or snapshot_identifier.'
                               % (self.snapshot_id, snap['DBInstanceIdentifier'], self.instance_id), code='DBSnapshotAlreadyExists')
            return snap
        run_id = self.params['run_id']
        for candidate in self.conn.paginate('rds', 'DescribeDBSnapshots', 'DBSnapshots', DBInstanceIdentifier=self.instance_id,
                                            SnapshotType='manual'):
            if self._tags_of(candidate, 'DBSnapshotArn').get(TAG_RUN_ID) == run_id:
                return candidate
        return None

    def wait_snapshot(self, snapshot_id):
        def check():
            snap = self.describe_snapshot(snapshot_id)
            status = snap and snap.get('Status')
            if status in SNAPSHOT_FAILED:
                raise AwsError('RDS reports the snapshot %s as %s; it cannot be used. Delete it, then run again to take a new one.'
                               % (snapshot_id, status), code='SnapshotFailed')
            return status == 'available', (snap or {'Status': 'not visible yet'})
        return wait_for(check, 'RDS snapshot %s to become available' % snapshot_id, self.conn.wait_timeout, label=lambda s: s.get('Status'))

    def wait_instance(self, instance_id, what):
        def check():
            inst = self.describe_instance(instance_id)
            status = inst and inst.get('DBInstanceStatus')
            if status in INSTANCE_FAILED:
                raise AwsError('RDS reports the instance %s as %s (%s).' % (instance_id, status, what), code='InstanceFailed')
            return status == 'available', (inst or {'DBInstanceStatus': 'not visible yet'})
        return wait_for(check, 'RDS instance %s to become available (%s)' % (instance_id, what), self.conn.wait_timeout,
                        label=lambda i: i.get('DBInstanceStatus'))

    def ensure_snapshot(self, source):
        snap = self.find_snapshot()
        created = False
        adopted = snap is not None
        if snap is None:
            if self.check_mode:
                self.changed = True
                return None, True, False
            if source.get('DBInstanceStatus') != 'available':
                if not self.params['wait']:
                    raise AwsError('The instance %s is %s; RDS snapshots only an available instance. Run again later, or with wait=true.'
                                   % (self.instance_id, source.get('DBInstanceStatus')), code='InvalidDBInstanceState')
                self.wait_instance(self.instance_id, 'before the snapshot')
            tags = dict((str(k), str(v)) for k, v in (self.params['tags'] or {}).items())
            tags.update({TAG_RUN_ID: self.params['run_id'], TAG_MANAGED: TAG_MANAGED_VALUE})
            snap = self.rds('CreateDBSnapshot', DBSnapshotIdentifier=self.snapshot_id, DBInstanceIdentifier=self.instance_id,
                            Tags=aws_tags(tags))['DBSnapshot']
            created = True
            self.changed = True
        if snap.get('Status') != 'available' and self.params['wait'] and not self.check_mode:
            snap = self.wait_snapshot(snap['DBSnapshotIdentifier'])
        return snap, created, adopted

    def restore(self, snap):
        target = check_identifier(self.params['restore_instance_identifier'], 'restore_instance_identifier')
        if target == self.instance_id:
            raise AwsError('restore_instance_identifier must name a NEW instance; %s is the source instance, which this module never '
                           'overwrites.' % target, code='InvalidParameterCombination')
        snapshot_id = snap['DBSnapshotIdentifier'] if snap else self.snapshot_id
        existing = self.describe_instance(target)
        result = {'db_instance_identifier': target, 'created': False, 'adopted': False}
        if existing is not None:
            if self._tags_of(existing, 'DBInstanceArn').get(TAG_RESTORED_FROM) != snapshot_id:
                raise AwsError('The instance %s exists and was not restored from %s by this collection; it is never overwritten. '
                               'Choose another restore_instance_identifier.' % (target, snapshot_id), code='DBInstanceAlreadyExists')
            result['adopted'] = True
            inst = existing
        elif self.check_mode:
            self.changed = True
            result.update(created=True, arn=None, status=None, endpoint=None, port=None)
            return result
        else:
            kwargs = {'DBInstanceIdentifier': target, 'DBSnapshotIdentifier': snapshot_id,
                      'Tags': aws_tags(dict(self.params['tags'] or {}, **{TAG_RESTORED_FROM: snapshot_id, TAG_RUN_ID: self.params['run_id'],
                                                                          TAG_MANAGED: TAG_MANAGED_VALUE}))}
            if self.params['restore_instance_class']:
                kwargs['DBInstanceClass'] = self.params['restore_instance_class']
            if self.params['restore_subnet_group']:
                kwargs['DBSubnetGroupName'] = self.params['restore_subnet_group']
            if self.params['restore_security_group_ids']:
                kwargs['VpcSecurityGroupIds'] = self.params['restore_security_group_ids']
            inst = self.rds('RestoreDBInstanceFromDBSnapshot', **kwargs)['DBInstance']
            result['created'] = True
            self.changed = True
        if inst.get('DBInstanceStatus') != 'available' and self.params['wait'] and not self.check_mode:
            inst = self.wait_instance(target, 'restored from %s' % snapshot_id)
        endpoint = inst.get('Endpoint') or {}
        result.update(arn=inst.get('DBInstanceArn'), status=inst.get('DBInstanceStatus'), endpoint=endpoint.get('Address'),
                      port=endpoint.get('Port'))
        return result

    def run(self):
        source = self.describe_instance(self.instance_id)
        if source is None and self.params['state'] == 'present':
            raise AwsError('No RDS DB instance %s in region %s. Check db_instance_identifier (or db_host) and the region.'
                           % (self.instance_id, self.conn.region), code='DBInstanceNotFound')
        if self.params['state'] == 'present':
            snap, created, adopted = self.ensure_snapshot(source)
        else:
            snap = self.find_snapshot()
            created = False
            adopted = snap is not None
            if snap is None:
                raise AwsError('No snapshot of run %s (%s, or tagged %s) exists for the instance %s; nothing to restore. Check run_id and '
                               'the region.' % (self.params['run_id'], self.snapshot_id, TAG_RUN_ID, self.instance_id),
                               code='DBSnapshotNotFound')
            if snap.get('Status') != 'available':
                if not self.params['wait'] or self.check_mode:
                    if not self.check_mode:
                        raise AwsError('The snapshot %s is %s; it can be restored once available. Run again later, or with wait=true.'
                                       % (snap['DBSnapshotIdentifier'], snap.get('Status')), code='InvalidDBSnapshotState')
                else:
                    snap = self.wait_snapshot(snap['DBSnapshotIdentifier'])
        result = {
            'changed': False,
            'snapshot_id': snap['DBSnapshotIdentifier'] if snap else self.snapshot_id,
            'snapshot_arn': snap and snap.get('DBSnapshotArn'),
            'status': snap and snap.get('Status'),
            'created': created,
            'adopted': adopted,
            'db_instance_identifier': self.instance_id,
            'region': self.conn.region,
            'engine': (source or {}).get('Engine') or (snap or {}).get('Engine'),
            'snapshot_create_time': wall_time_iso((snap or {}).get('SnapshotCreateTime')),
        }
        if self.params['state'] == 'restored':
            result['restored'] = self.restore(snap)
        result['changed'] = self.changed
        return result


def resolve_instance(params):
    """Fill db_instance_identifier (and region) from db_host when it is an RDS instance endpoint."""
    params = dict(params)
    parsed = parse_rds_host(params.get('db_host'))
    if params.get('db_instance_identifier'):
        if parsed and parsed[0] != params['db_instance_identifier'].lower():
            raise AwsError('db_instance_identifier %s does not match the backend host %s (instance %s); give one of them, or make them '
                           'agree.' % (params['db_instance_identifier'], params['db_host'], parsed[0]), code='InvalidParameterCombination')
    elif parsed:
        params['db_instance_identifier'] = parsed[0]
    elif params.get('db_host'):
        raise AwsError('The backend host %s is not an RDS instance endpoint (<id>.<hash>.<region>.rds.amazonaws.com); give '
                       'db_instance_identifier.' % params['db_host'], code='InvalidParameterCombination')
    else:
        raise AwsError('Give db_instance_identifier, or db_host as an RDS instance endpoint.', code='InvalidParameterCombination')
    if parsed:
        if params.get('region') and params['region'] != parsed[1]:
            raise AwsError('region %s differs from the region %s of the backend host %s.' % (params['region'], parsed[1], params['db_host']),
                           code='InvalidParameterCombination')
        params['region'] = parsed[1]
    return params


def argument_spec():
    return compose_argument_spec(dict(
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
    ))


def main():
    module = AnsibleModule(argument_spec=argument_spec(), required_together=AWS_REQUIRED_TOGETHER,
                           required_one_of=[('db_instance_identifier', 'db_host')],
                           required_if=[('state', 'restored', ('restore_instance_identifier',))], supports_check_mode=True)
    require_boto3(module)
    try:
        params = resolve_instance(module.params)
        result = RdsSnapshotBackend(AwsConnection(params), params, module.check_mode).run()
    except AwsError as exc:
        module.fail_json(msg=str(exc), run_id=module.params['run_id'], **exc.to_result())
    module.exit_json(**result)


if __name__ == '__main__':
    main()
