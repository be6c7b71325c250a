# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the RDS backend of lk_rds_snapshot (snapshot of the Looker backend instance, restore).

Not a public API. Connection and tags come from ``common.py``, errors from ``errors.py``, the bounded waiter from ``waiters.py``.
"""

from __future__ import annotations

import re

from ansible_collections.lookerops.encryption.plugins.module_utils._aws.common import (
    TAG_MANAGED,
    TAG_MANAGED_VALUE,
    TAG_RESTORED_FROM,
    TAG_RUN_ID,
    aws_tags,
    tags_dict,
    wall_time_iso,
)
from ansible_collections.lookerops.encryption.plugins.module_utils._aws.errors import AwsError
from ansible_collections.lookerops.encryption.plugins.module_utils._aws.waiters import wait_for

SNAPSHOT_NOT_FOUND = ('DBSnapshotNotFound', 'DBSnapshotNotFoundFault')
INSTANCE_NOT_FOUND = ('DBInstanceNotFound', 'DBInstanceNotFoundFault')
SNAPSHOT_FAILED = ('failed', 'error')
INSTANCE_FAILED = ('failed', 'incompatible-restore', 'incompatible-parameters', 'incompatible-network', 'storage-full',
                   'inaccessible-encryption-credentials', 'restore-error')
IDENTIFIER_RE = re.compile(r'^[a-z][a-z0-9]*(-[a-z0-9]+)*$')
RDS_HOST = re.compile(r'^(?P<id>[a-z][a-z0-9-]*)\.(?P<hash>[a-z0-9]+)\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)\.rds\.amazonaws\.com(?:\.cn)?\.?$')
RDS_CLUSTER_HOST = re.compile(r'^[a-z][a-z0-9-]*\.cluster-(?:ro-|custom-)?[a-z0-9]+\.[a-z0-9-]+\.rds\.amazonaws\.com(?:\.cn)?\.?$')


def parse_rds_host(host):
    """(db_instance_identifier, region) of an RDS instance endpoint ``<id>.<hash>.<region>.rds.amazonaws.com``, else None.

    Raises AwsError for an Aurora cluster endpoint (Looker does not support Aurora as its backend; a cluster needs a cluster snapshot).
    """
    if not host:
        return None
    host = host.strip().lower()
    if RDS_CLUSTER_HOST.match(host):
        raise AwsError('The backend host %s is an Aurora cluster endpoint; Looker does not support Aurora as its backend and this module '
                       'snapshots RDS DB instances only. Take a cluster snapshot yourself, or give db_instance_identifier.' % host)
    found = RDS_HOST.match(host)
    if not found:
        return None
    return found.group('id'), found.group('region')


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
