# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end on the bed, the way AWX runs a job: ansible-runner on a private data directory
(extensions/awx/project playbooks, inventory script, env/extravars, env/envvars, the CMK injected
by the "Looker CMK" credential type as a file, the machine key through ssh-agent, no pipelining),
the CMK escrowed in AWS Secrets Manager (the bed's moto server). Every stored job event, the
stdout, the fact cache, every process's argv and the private data directory are scanned for the key."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import sys

import pytest

from e2e.awx_job import AwxJob
from e2e.runner import collections_path
from test_e2e_migrate import ArgvWatcher, all_alive, fences, fresh, scan_tree  # pylint: disable=wrong-import-order

if collections_path() not in sys.path:
    sys.path.insert(0, collections_path())
from ansible_collections.lookerops.encryption.plugins.module_utils._key_material import kcv_of_text  # noqa: E402  pylint: disable=wrong-import-position

AWX_CLUSTER = {'name': 'e2e-awx', 'nodes': 3, 'cluster': True, 'moto': True,
               'standin': {'start_seconds': 0.3, 'stop_seconds': 0.3, 'migrate_seconds': 1, 'live_window_seconds': 4}}
SECRET = 'lookerops/e2e-awx/cmk'
SURVEY = {'lookerops_cmk_escrow': 'aws_secretsmanager', 'lookerops_cmk_escrow_aws_secret': SECRET,
          'lookerops_cmk_escrow_aws_region': 'us-east-1'}
PHASES_EVERY_NODE = ('Preflight', 'Stop', 'Backup', 'CMK', 'Node environment', 'Start')
MAX_EVENT_STDOUT = 2048


def needles(key_text):
    raw = base64.b64decode(key_text)
    return [key_text.encode('ascii'), raw, raw.hex().encode('ascii')]


def secretsmanager(bed):
    import boto3  # pylint: disable=import-outside-toplevel
    env = bed.aws_env()
    return boto3.client('secretsmanager', region_name='us-east-1', endpoint_url=env['AWS_ENDPOINT_URL'],
                        aws_access_key_id=env['AWS_ACCESS_KEY_ID'], aws_secret_access_key=env['AWS_SECRET_ACCESS_KEY'])


def run_job(bed, workdir, job_id, playbook, key_text, extra_vars=None):
    """Run one job with every process's argv watched; returns (job, argv samples)."""
    job = AwxJob(bed, str(workdir), job_id, playbook, extra_vars=dict(SURVEY, **(extra_vars or {})), cmk_key_text=key_text)
    watcher = ArgvWatcher()
    watcher.start()
    try:
        job.run()
    finally:
        watcher.stop()
    return job, watcher


def assert_no_key_anywhere(job, watcher, key_text):
    """Zero key bytes in the stored events, stdout, fact cache, argv and the private data directory (the injected file aside)."""
    found = needles(key_text)
    assert watcher.samples > 10
    assert not [argv for argv in watcher.seen if any(n in argv for n in found)]
    events = job.events()
    assert len(events) > 50
    event_dir = os.path.join(job.artifacts, 'job_events')
    assert scan_tree(event_dir, found) == []
    assert not any(n in job.stdout.encode('utf-8') for n in found)
    # The whole private data directory: artifacts (events, stdout, fact cache, runner's own files),
    # env/ (extravars, envvars, settings), project/, inventory/, the job's HOME and its tmp.
    assert scan_tree(job.private_data_dir, found, skip=(job.credential_file,)) == []
    job.discard_credential_file()
    assert scan_tree(job.private_data_dir, found) == []


def assert_readable_output(job):
    """The job view: no event prints a multi-kilobyte dump at default verbosity; the summary comes last."""
    for event in job.events():
        assert len(event.get('stdout', '')) <= MAX_EVENT_STDOUT, (event.get('event'), event.get('stdout', '')[:500])


@pytest.fixture(scope='module')
def awx_bed(bed_factory):
    bed = fresh(bed_factory, AWX_CLUSTER)
    return bed, bed.inspect()


@pytest.fixture(scope='module')
def cmk():
    return base64.b64encode(secrets.token_bytes(32)).decode('ascii')


def test_awx_job_refused_in_preflight_with_a_key_of_the_wrong_size(awx_bed, tmp_path):
    bed, before = awx_bed
    short_key = base64.b64encode(secrets.token_bytes(16)).decode('ascii')
    job, watcher = run_job(bed, tmp_path, 101, 'migrate', short_key + '\n')
    assert job.runner.status == 'failed' and job.runner.rc not in (None, 0) and job.runner.proc.returncode != 0
    failed = job.host_events('runner_on_failed')
    assert 'Preflight' in failed, sorted(failed)
    assert 'decoded length 16 bytes, must be 32' in job.stdout
    assert 'changed: [' not in job.stdout
    assert job.stdout.rfind('FAILED in phase preflight') > job.stdout.rfind('TASK [lookerops.encryption.preflight')
    assert_readable_output(job)
    ran = set(job.host_events('runner_on_ok'))
    assert 'Preflight' in ran and not ran & {'Stop', 'Backup', 'CMK', 'Node environment', 'Migrate', 'Start'}, sorted(ran)
    assert_no_key_anywhere(job, watcher, short_key)
    assert secretsmanager(bed).list_secrets()['SecretList'] == []
    assert all(all_alive(bed).values()) and not any(fences(bed).values())
    assert bed.inspect() == before


@pytest.fixture(scope='module')
def migrated_by_awx(awx_bed, cmk, tmp_path_factory):
    bed, before = awx_bed
    job, watcher = run_job(bed, tmp_path_factory.mktemp('awx-migrate'), 102, 'migrate', cmk + '\n')
    return {'bed': bed, 'before': before, 'job': job, 'watcher': watcher}


def test_awx_job_migrates_every_node(migrated_by_awx, cmk):
    bed, job = migrated_by_awx['bed'], migrated_by_awx['job']
    assert job.runner.status == 'successful', job.stdout[-6000:]
    after = bed.inspect()
    assert after['legacy'] == 0 and after['gcm'] == migrated_by_awx['before']['total'] == after['total']
    assert after['digest'] == migrated_by_awx['before']['digest']
    assert all(all_alive(bed).values()) and not any(fences(bed).values())
    for node in bed.nodes:
        with open(os.path.join(node.home, '.lookerops-encryption.json'), encoding='utf-8') as handle:
            assert json.load(handle)['kcv'] == kcv_of_text(cmk)


def test_awx_job_events_show_every_phase_on_every_node(migrated_by_awx):
    bed, job = migrated_by_awx['bed'], migrated_by_awx['job']
    names = {n.name for n in bed.nodes}
    ok = job.host_events('runner_on_ok')
    for phase in PHASES_EVERY_NODE:
        assert set(ok.get(phase, {})) >= names, (phase, ok.get(phase))
    assert bed.nodes[0].name in ok.get('Migrate', {})
    assert not job.host_events('runner_on_failed')
    stats = [e for e in job.events() if e['event'] == 'playbook_on_stats']
    assert len(stats) == 1 and set(stats[0]['event_data']['ok']) >= names
    assert not stats[0]['event_data'].get('failures')


def test_awx_job_output_ends_with_the_summary(migrated_by_awx, cmk):
    job = migrated_by_awx['job']
    stdout = job.stdout
    summary = stdout.rfind('lookerops.encryption run ')
    assert summary > 0 and stdout.rfind('PLAY RECAP') > summary
    tail = stdout[summary:]
    assert kcv_of_text(cmk) in tail and 'aws-secretsmanager:us-east-1:' + SECRET in tail
    assert re.search(r'downtime window: [0-9.]+ s', tail)
    assert_readable_output(job)


def test_awx_job_leaves_no_key_bytes(migrated_by_awx, cmk):
    assert_no_key_anywhere(migrated_by_awx['job'], migrated_by_awx['watcher'], cmk)


def test_awx_job_escrow_is_readable_from_secrets_manager(migrated_by_awx, cmk):
    client = secretsmanager(migrated_by_awx['bed'])
    assert client.get_secret_value(SecretId=SECRET)['SecretString'].strip() == cmk
    tags = {t['Key']: t['Value'] for t in client.describe_secret(SecretId=SECRET)['Tags']}
    assert tags['lookerops:kcv'] == kcv_of_text(cmk)


def test_awx_job_rolls_back(migrated_by_awx, cmk, tmp_path):
    bed = migrated_by_awx['bed']
    with open(os.path.join(bed.nodes[0].home, '.lookerops-encryption.json'), encoding='utf-8') as handle:
        run_id = json.load(handle)['run_id']
    job, watcher = run_job(bed, tmp_path, 103, 'rollback', cmk + '\n',
                           extra_vars={'lookerops_run_id': run_id, 'lookerops_rollback_discard_changes_since_run': 'true'})
    assert job.runner.status == 'successful', job.stdout[-6000:]
    after = bed.inspect()
    assert after['legacy'] == migrated_by_awx['before']['total'] and after['gcm'] == 0
    assert after['digest'] == migrated_by_awx['before']['digest']
    assert all(all_alive(bed).values())
    ok = job.host_events('runner_on_ok')
    for phase in ('Preflight', 'Stop', 'Restore', 'Node environment', 'Start'):
        assert set(ok.get(phase, {})) >= {n.name for n in bed.nodes}, (phase, ok.get(phase))
    assert 'restored from the backups of run %s' % run_id in job.stdout
    assert_readable_output(job)
    assert_no_key_anywhere(job, watcher, cmk)
    # The escrow outlives the rollback (a later migration uses the same key).
    assert secretsmanager(bed).get_secret_value(SecretId=SECRET)['SecretString'].strip() == cmk
