# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end on the bed, the way AWX runs a job: ansible-runner on a private data directory
(extensions/awx/project playbooks, inventory script, env/extravars written as AWX writes survey answers
(`!unsafe`, every optional question left empty, the others at their defaults), env/envvars, the credential
types of extensions/awx rendered as AWX renders them (files 0600, `tower.filename`), the machine key
through ssh-agent, no pipelining). On the newest ansible-core: migrate with the CMK escrowed in AWS Secrets
Manager under the name derived from the cluster (the bed's moto server), then rollback; on the oldest
(ansible-core 2.17, .venv-floor): migrate with the Ansible Vault escrow on storage outside the job, sealed
with the escrow vault password credential; then rekey on both, and new install (refused: the instance has
data) on both. Every stored job event, the stdout, the fact cache, every process's argv, the private data
directory and every node's files (its key file aside) are scanned for the keys.

The gate (tests/scripts/test.sh) runs the migration job on the newest core with every scan of it; the refusal, the
rollback and everything on the oldest core, the rekeys and the new installs are the long tier (`test.sh --full`)."""

from __future__ import annotations

import base64
import json
import os
import pathlib
import re
import secrets
import shutil
import subprocess
import sys

import pytest

from ansible.parsing.vault import VaultLib, VaultSecret

from e2e import awx_rules
from e2e.awx_job import AwxJob
from e2e.runner import ROOT, collections_path
from test_e2e_migrate import ArgvWatcher, all_alive, fences, fresh, scan_tree  # pylint: disable=wrong-import-order

if collections_path() not in sys.path:
    sys.path.insert(0, collections_path())
from ansible_collections.lookerops.encryption.plugins.module_utils._key_material import kcv_of_text  # noqa: E402  pylint: disable=wrong-import-position

API_KEY = {'api_client_id': 'lookerops-awx', 'api_client_secret': 'awx-api-secret-' + secrets.token_hex(12)}
AWX_CLUSTER = {'name': 'e2e-awx', 'nodes': 3, 'cluster': True, 'moto': True,
               'standin': dict(API_KEY, start_seconds=0.3, stop_seconds=0.3, migrate_seconds=1, live_window_seconds=4)}
SURVEYS = os.path.join(ROOT, 'extensions', 'awx', 'surveys')
CORES = {'newest': None, 'oldest': os.path.join(ROOT, '.venv-floor', 'bin')}
ESCROW_PASSWORD = 'escrow-vault-password-1'
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


def answers(template, **given):
    """The extra variables AWX gives a job launched from ``template``'s survey: ``given``, every other optional question
    left empty, the required ones at their defaults (each an answer AWX accepts)."""
    with open(os.path.join(SURVEYS, template + '.json'), encoding='utf-8') as handle:
        survey = json.load(handle)
    given = dict({q['variable']: '' for q in survey['spec'] if not q['required']}, **given)
    result = awx_rules.survey_answers(survey, given)
    for question in survey['spec']:
        assert awx_rules.answer_errors(question, result.get(question['variable'])) == [], question['variable']
    return result


def run_job(bed, workdir, job_id, playbook, key_text=None, extra_vars=None, credentials=None, core='newest'):
    """Run one job with every process's argv watched; returns (job, argv samples)."""
    job = AwxJob(bed, str(workdir), job_id, playbook, extra_vars=answers(playbook, **(extra_vars or {})), cmk_key_text=key_text,
                 credentials=credentials, bin_dir=CORES[core])
    watcher = ArgvWatcher()
    watcher.start()
    try:
        job.run()
    finally:
        watcher.stop()
    if CORES[core]:
        version = subprocess.run([os.path.join(CORES[core], 'ansible'), '--version'], capture_output=True, text=True, check=True).stdout
        assert 'core 2.17.' in version
    return job, watcher


def assert_no_key_on_nodes(bed, key_texts):
    """No node file holds a key, its key file aside (the key Looker reads)."""
    found = [n for key in key_texts for n in needles(key)]
    for node in bed.nodes:
        key_files = {os.path.join(dirpath, name) for dirpath, _dirs, files in os.walk(os.path.join(node.user_home, '.lookerops'))
                     for name in files if name.startswith('cmk.key')}
        assert scan_tree(node.dir, found, skip=key_files) == [], node.name


def derived_secret(bed):
    """The one escrow secret on the bed: named lookerops/<cluster identity>/cmk and tagged with that identity."""
    client = secretsmanager(bed)
    listed = client.list_secrets()['SecretList']
    assert len(listed) == 1, [item['Name'] for item in listed]
    name = listed[0]['Name']
    tags = {t['Key']: t['Value'] for t in client.describe_secret(SecretId=name)['Tags']}
    assert name == 'lookerops/%s/cmk' % tags['lookerops:cluster'], (name, tags)
    return name


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


@pytest.mark.full
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
    # The "Looker API" credential (extensions/awx/credential_types/lookerops_looker_api.yml): the proof through Looker's API.
    looker_api = {'base_url': 'https://%s:19999' % bed.nodes[0].address, 'client_id': API_KEY['api_client_id'],
                  'client_secret': API_KEY['api_client_secret'], 'verify_ssl': False}
    job, watcher = run_job(bed, tmp_path_factory.mktemp('awx-migrate'), 102, 'migrate', cmk + '\n',
                           credentials={'lookerops_looker_api': looker_api})
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
    # docs/awx.md gives the measured number of stored events of a three-node migration job.
    with open(os.path.join(ROOT, 'docs', 'awx.md'), encoding='utf-8') as handle:
        documented = [int(n) for n in re.findall(r'three-node migration job stores (\d+) job events', handle.read())]
    measured = len(job.events())
    assert documented and all(abs(measured - n) <= n * 0.15 for n in documented), (measured, documented)


def test_awx_job_output_ends_with_the_summary(migrated_by_awx, cmk):
    job = migrated_by_awx['job']
    stdout = job.stdout
    summary = stdout.rfind('lookerops.encryption run ')
    assert summary > 0 and stdout.rfind('PLAY RECAP') > summary
    tail = stdout[summary:]
    assert kcv_of_text(cmk) in tail and 'aws-secretsmanager:us-east-1:' + derived_secret(migrated_by_awx['bed']) in tail
    assert re.search(r'downtime window: [0-9.]+ s', tail)
    assert_readable_output(job)


def test_awx_job_leaves_no_key_bytes(migrated_by_awx, cmk):
    assert_no_key_anywhere(migrated_by_awx['job'], migrated_by_awx['watcher'], cmk)
    assert_no_key_on_nodes(migrated_by_awx['bed'], [cmk])


def test_awx_job_proves_every_connection_through_the_looker_api_credential(migrated_by_awx):
    """The "Looker API" credential reaches the job as a looker.ini file only: Looker's own test of every connection ran before
    and after, and its secret is in no job event, no stdout, no argv."""
    job = migrated_by_awx['job']
    match = re.search(r'Looker API proof: connections: (\d+) tested, (\d+) pass before and after', job.stdout)
    assert match and int(match.group(1)) > 0 and match.group(1) == match.group(2), job.stdout[-4000:]
    secret = API_KEY['api_client_secret']
    assert secret not in job.stdout and not any(secret in json.dumps(event) for event in job.events())
    assert not any(secret.encode() in argv for argv in migrated_by_awx['watcher'].seen)


def test_awx_job_escrow_is_readable_from_secrets_manager(migrated_by_awx, cmk):
    """The survey leaves the secret name empty: the secret is named after the cluster's identity, tagged with it, and protected."""
    client = secretsmanager(migrated_by_awx['bed'])
    name = derived_secret(migrated_by_awx['bed'])
    assert client.get_secret_value(SecretId=name)['SecretString'].strip() == cmk
    tags = {t['Key']: t['Value'] for t in client.describe_secret(SecretId=name)['Tags']}
    assert tags['lookerops:kcv'] == kcv_of_text(cmk)
    policy = json.loads(client.get_resource_policy(SecretId=name)['ResourcePolicy'])
    assert policy['Statement'][0]['Effect'] == 'Deny' and 'secretsmanager:PutSecretValue' in policy['Statement'][0]['Action']


@pytest.mark.full
def test_awx_job_rolls_back(migrated_by_awx, cmk, tmp_path):
    bed = migrated_by_awx['bed']
    with open(os.path.join(bed.nodes[0].home, '.lookerops-encryption.json'), encoding='utf-8') as handle:
        run_id = json.load(handle)['run_id']
    # The rollback template gets no CMK credential (job_templates.yml).
    job, watcher = run_job(bed, tmp_path, 103, 'rollback',
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
    assert secretsmanager(bed).get_secret_value(SecretId=derived_secret(bed))['SecretString'].strip() == cmk


# --- the oldest ansible-core; the vault escrow on storage that outlives the job; rekey; new install --------------------

@pytest.fixture(scope='module')
def persistent():
    """Storage mounted into the execution environment that outlives jobs (AWX: "Paths to expose to isolated jobs"); outside
    /tmp, which preflight takes for the job's own (thrown away) space."""
    path = pathlib.Path(ROOT, 'tests', 'output', 'awx-persistent-%d' % os.getpid())
    path.mkdir(mode=0o700, parents=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def vault_answers(persistent, **given):
    return dict({'lookerops_cmk_escrow': 'vault', 'lookerops_cmk_escrow_path': str(persistent / 'e2e-awx-cmk.vault')}, **given)


def escrowed_key(path):
    with open(path, 'rb') as handle:
        data = handle.read()
    assert data.startswith(b'$ANSIBLE_VAULT;1.2;AES256;lookerops\n')  # labelled with the escrow's vault id
    return VaultLib([('lookerops', VaultSecret(ESCROW_PASSWORD.encode()))]).decrypt(data).decode().strip()


def node_kcvs(bed):
    found = set()
    for node in bed.nodes:
        with open(os.path.join(node.home, '.lookerops-encryption.json'), encoding='utf-8') as handle:
            found.add(json.load(handle)['kcv'])
    return found


@pytest.fixture(scope='module')
def migrated_on_the_oldest_core(migrated_by_awx, persistent, cmk, tmp_path_factory):
    """After the rollback on the newest core (test_awx_job_rolls_back): migrate again, on ansible-core 2.17, vault escrow, with
    the key the nodes still hold (a different one is refused: a key file is never replaced)."""
    bed = migrated_by_awx['bed']
    assert bed.inspect()['gcm'] == 0, 'runs after test_awx_job_rolls_back'
    key = cmk
    job, watcher = run_job(bed, tmp_path_factory.mktemp('awx-floor-migrate'), 104, 'migrate', key + '\n',
                           extra_vars=vault_answers(persistent), credentials={'lookerops_escrow_vault_password': {'vault_password': ESCROW_PASSWORD}},
                           core='oldest')
    return {'bed': bed, 'job': job, 'watcher': watcher, 'key': key}


@pytest.mark.full
def test_awx_job_on_the_oldest_core_migrates_with_the_vault_escrow(migrated_on_the_oldest_core, migrated_by_awx, persistent):
    bed, job, key = migrated_on_the_oldest_core['bed'], migrated_on_the_oldest_core['job'], migrated_on_the_oldest_core['key']
    assert job.runner.status == 'successful', job.stdout[-6000:]
    after = bed.inspect()
    assert after['legacy'] == 0 and after['gcm'] == after['total'] and after['digest'] == migrated_by_awx['before']['digest']
    assert node_kcvs(bed) == {kcv_of_text(key)}
    assert escrowed_key(persistent / 'e2e-awx-cmk.vault') == key
    assert_no_key_anywhere(job, migrated_on_the_oldest_core['watcher'], key)
    assert_no_key_on_nodes(bed, [key])


@pytest.mark.full
@pytest.mark.parametrize('core, job_id', [('oldest', 105), ('newest', 106)])
def test_awx_job_rekeys_to_a_new_local_key(migrated_on_the_oldest_core, persistent, core, job_id, tmp_path):
    """The rekey template (no CMK credential: the new key is generated and escrowed), the KMS questions left empty."""
    bed = migrated_on_the_oldest_core['bed']
    old = escrowed_key(persistent / 'e2e-awx-cmk.vault')
    assert node_kcvs(bed) == {kcv_of_text(old)}
    job, watcher = run_job(bed, tmp_path, job_id, 'rekey', extra_vars=vault_answers(persistent, lookerops_cmk_source='local'),
                           credentials={'lookerops_escrow_vault_password': {'vault_password': ESCROW_PASSWORD}}, core=core)
    assert job.runner.status == 'successful', job.stdout[-6000:]
    new = escrowed_key(persistent / 'e2e-awx-cmk.vault')
    assert new != old and node_kcvs(bed) == {kcv_of_text(new)}
    after = bed.inspect()
    assert after['legacy'] == 0 and after['gcm'] == after['total'] and all(all_alive(bed).values())
    for key in (old, new):
        assert_no_key_anywhere(job, watcher, key)
    assert_no_key_on_nodes(bed, [old, new])


@pytest.mark.full
@pytest.mark.parametrize('core, job_id', [('oldest', 107), ('newest', 108)])
def test_awx_job_new_install_refuses_an_instance_with_data(migrated_on_the_oldest_core, persistent, core, job_id, tmp_path):
    bed = migrated_on_the_oldest_core['bed']
    before = bed.inspect()
    job, watcher = run_job(bed, tmp_path, job_id, 'new_install', extra_vars=vault_answers(persistent),
                           credentials={'lookerops_escrow_vault_password': {'vault_password': ESCROW_PASSWORD}}, core=core)
    assert job.runner.status == 'failed'
    assert 'this is not a new instance' in job.stdout and 'FAILED in phase preflight' in job.stdout, job.stdout[-6000:]
    assert 'changed: [' not in job.stdout and bed.inspect() == before
    assert_no_key_anywhere(job, watcher, escrowed_key(persistent / 'e2e-awx-cmk.vault'))


@pytest.mark.full
def test_awx_job_on_the_oldest_core_rolls_back_the_last_rekey(migrated_on_the_oldest_core, persistent, tmp_path):
    """The rollback template on ansible-core 2.17, with the vault escrow and the acknowledgement a completed run needs: the
    last rekey's backups come back with the key they were taken under, and no key is left in any job output or on a node."""
    bed = migrated_on_the_oldest_core['bed']
    escrow = persistent / 'e2e-awx-cmk.vault'
    newest = escrowed_key(escrow)
    assert node_kcvs(bed) == {kcv_of_text(newest)}
    with open(os.path.join(bed.nodes[0].home, '.lookerops-encryption.json'), encoding='utf-8') as handle:
        run_id = json.load(handle)['run_id']
    before = bed.inspect()
    job, watcher = run_job(bed, tmp_path, 109, 'rollback',
                           extra_vars=vault_answers(persistent, lookerops_run_id=run_id,
                                                    lookerops_rollback_discard_changes_since_run='true'),
                           credentials={'lookerops_escrow_vault_password': {'vault_password': ESCROW_PASSWORD}}, core='oldest')
    assert job.runner.status == 'successful', job.stdout[-6000:]
    older = escrowed_key(escrow)
    assert older != newest and node_kcvs(bed) == {kcv_of_text(older)}
    after = bed.inspect()
    assert after['digest'] == before['digest'] and after['legacy'] == 0 and all(all_alive(bed).values())
    for key in (older, newest):
        assert_no_key_anywhere(job, watcher, key)
    assert_no_key_on_nodes(bed, [newest])
