# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight's refusals and its key plan, branch by branch. The messages are checked word for word: the operator guide,
the end-to-end tests and the fault matrix quote them."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.lookerops.encryption.plugins.filter.preflight import FilterModule
from ansible_collections.lookerops.encryption.plugins.plugin_utils._preflight_plan import cluster_problems, key_plan, node_problems

A, B, C = 'kcv1:aaaaaaaaaaaaaaaa', 'kcv1:bbbbbbbbbbbbbbbb', 'kcv1:cccccccccccccccc'
KMS = 'kms:us-east-1/alias/looker/Looker_Encryption_Context'
HOME = '/home/looker/looker'
NOTHING = 'Nothing was changed.'
CREDS = {'mode': 'mysql_creds_file', 'source': '/home/looker/looker/creds.yml', 'host': 'db', 'port': 3306, 'database': 'looker'}


def info(identity=None, marker=False, **kwargs):
    """What lk_node_info reads on a healthy node of a cluster on MySQL."""
    out = {'home_exists': True, 'jar_present': True, 'startup_script_present': True, 'release': '23.0.0', 'alive': {'state': 'up'},
           'internal_db_present': False, 'marker': {'scheme': 'AES-GCM-256'} if marker else None, 'running_tasks': [],
           'backend': dict(CREDS, error=None), 'fence': {'present': False}, 'clustered': True, 'host_id': None,
           'key': {'identity': identity, 'kind': 'file'} if identity else None}
    out.update(kwargs)
    return out


def hostvars(*nodes, **extra):
    """hostvars of n1, n2, ...: each node reachable, read as ``nodes`` gives it; ``extra`` adds variables to every node."""
    return {'n%d' % i: dict({'preflight_reachable': True, 'preflight_node': node}, **extra) for i, node in enumerate(nodes, 1)}


def test_the_filters_are_the_decisions():
    filters = FilterModule().filters()
    assert filters['key_plan'] is key_plan
    assert filters['node_problems'] is node_problems
    assert filters['cluster_problems'] is cluster_problems


# ---------------------------------------------------------------- key_plan


def kfacts(nodes, source='local', cmk=None, replace='', key_given=False, **kwargs):
    hv = hostvars(*nodes)
    out = {'hosts': sorted(hv), 'hostvars': hv, 'source': source, 'aws_region': 'us-east-1', 'aws_cmk_alias': 'alias/looker',
           'aws_cmk_ec': '', 'cmk': cmk if cmk is not None else {'kcv': A, 'generated': False}, 'replace_kcv': replace,
           'key_given': key_given, 'escrow_path': '/ctl/escrow/c-cmk.vault'}
    out.update(kwargs)
    return out


def test_the_key_the_nodes_already_use_goes_ahead():
    plan = key_plan(kfacts([info(A), info(A)]))
    assert plan == {'planned': A, 'nodes': {'n1': A, 'n2': A}, 'recover_from': None, 'problems': []}


def test_a_kms_run_plans_the_kms_identity_with_lookers_default_context():
    plan = key_plan(kfacts([info(KMS), info()], source='aws_kms', cmk={'skipped': True}))
    assert plan['planned'] == KMS and plan['problems'] == [] and plan['nodes'] == {'n1': KMS}


def test_a_generated_key_is_planned_as_none_on_nodes_without_a_key():
    plan = key_plan(kfacts([info(), info()], cmk={'kcv': C, 'generated': True}, key_given=False))
    assert plan == {'planned': None, 'nodes': {}, 'recover_from': None, 'problems': []}


def test_a_failed_or_skipped_key_check_plans_nothing():
    for cmk in ({'failed': True, 'msg': 'bad key'}, {'skipped': True}):
        assert key_plan(kfacts([info()], cmk=cmk, key_given=True))['planned'] is None


def test_a_key_that_cannot_be_used_is_refused():
    plan = key_plan(kfacts([info(key={'error': 'not base64', 'kind': 'env'}), info(A)]))
    assert plan['problems'] == [
        'n1: lookerstart.cfg gives Looker a local key (env) that cannot be used: not base64. Fix or remove it by hand before running '
        'again; if the instance was migrated with it, the key in the escrow is the one to restore.']


def test_a_key_looker_uses_is_never_replaced():
    plan = key_plan(kfacts([info(A), info(B)]))
    assert plan['problems'] == [
        'n2: Looker on this node uses the key %s, but this run would give it %s. A key Looker uses is never replaced: after the '
        'migration the instance can only be read with the key it was migrated with. If %s is the right key, run with that key '
        '(lookerops_cmk_key, or the escrow that holds it in lookerops_cmk_escrow_path); to change the key of a migrated instance use '
        'the rekey procedure. Only if you know that no instance uses %s (a key left by a run that never migrated), name it: -e '
        'lookerops_cmk_replace_kcv=%s. %s' % (B, A, B, B, B, NOTHING)]


def test_a_key_named_for_replacement_on_an_unmigrated_instance_may_go():
    assert key_plan(kfacts([info(A), info(B)], replace=B))['problems'] == []


def test_the_key_a_migrated_instance_runs_on_is_never_replaced_even_when_named():
    plan = key_plan(kfacts([info(A), info(B, marker=True)], replace=B))
    assert plan['problems'] == [
        'n2: lookerops_cmk_replace_kcv names %s, the key this instance was migrated with (its nodes carry the AES-GCM-256 marker): '
        'replacing it would make the instance unreadable. Change a live key with the rekey procedure only. %s' % (B, NOTHING)]


def test_without_a_key_on_the_controller_the_nodes_key_is_escrowed_again():
    plan = key_plan(kfacts([info(), info(A), info(A)], cmk={'kcv': C, 'generated': True}))
    assert plan['planned'] is None and plan['recover_from'] == 'n2' and plan['problems'] == []


def test_a_given_key_is_never_replaced_by_a_recovery():
    plan = key_plan(kfacts([info(A)], cmk={'failed': True, 'msg': 'x'}, key_given=True))
    assert plan['recover_from'] is None and plan['problems'] == []


def test_without_a_key_nodes_that_disagree_are_refused():
    plan = key_plan(kfacts([info(A), info(B)], cmk={'kcv': C, 'generated': True}))
    assert plan['problems'] == [
        'cluster: the controller has no escrow of the key (/ctl/escrow/c-cmk.vault) and the nodes disagree on the key Looker uses '
        '(n1=%s, n2=%s). Nothing was changed. Find out which key the instance was migrated with; give it with lookerops_cmk_key (or '
        'its escrow with lookerops_cmk_escrow_path) and fix the other nodes by hand.' % (A, B)]


def test_a_local_run_on_nodes_with_kms_settings_is_refused():
    plan = key_plan(kfacts([info(KMS)], cmk={'kcv': C, 'generated': True}))
    assert plan['problems'] == [
        'cluster: the nodes use the AWS KMS key settings %s, but this run is for a local key (lookerops_cmk_source=local). Moving '
        'between KMS and a local key is a rekey; to keep KMS, run with lookerops_cmk_source=aws_kms and the same alias, region and '
        'context. %s' % (KMS, NOTHING)]


def test_a_migrated_instance_without_any_key_is_refused():
    plan = key_plan(kfacts([info(marker=True)], cmk={'kcv': C, 'generated': True}))
    assert plan['problems'] == [
        'cluster: the nodes carry the AES-GCM-256 marker (migrated), but no node gives Looker a key and the controller has no escrow '
        'at /ctl/escrow/c-cmk.vault. A new key would make the instance unreadable. Give the key it was migrated with '
        '(lookerops_cmk_key) or point lookerops_cmk_escrow_path at its escrow. %s' % NOTHING]


def test_unread_nodes_count_for_no_key():
    hv = {'n1': {'preflight_node': {'skipped': True}}, 'n2': {'preflight_node': {'failed': True, 'msg': 'x'}}, 'n3': {}}
    plan = key_plan(dict(kfacts([]), hosts=['n1', 'n2', 'n3'], hostvars=hv))
    assert plan['nodes'] == {} and plan['problems'] == []


# ---------------------------------------------------------------- node_problems


def nfacts(node=None, job='migrate', **variables):
    hv = {'n1': dict({'preflight_reachable': True, 'preflight_node': info() if node is None else node}, **variables)}
    return {'host': 'n1', 'hostvars': hv, 'job': job, 'looker_home': HOME, 'looker_release': '', 'min_release': '6.4', 'api_port': 19999}


def test_a_healthy_node_has_no_problem():
    assert node_problems(nfacts()) == []


@pytest.mark.parametrize('ping, said', [({'msg': ' ssh: connect timed out\n', 'unreachable': True}, 'ssh: connect timed out'),
                                        ({'unreachable': True}, 'no answer')])
def test_an_unreachable_node(ping, said):
    facts = nfacts({'skipped': True}, preflight_reachable=False, preflight_ping=ping)
    assert node_problems(facts) == [
        'n1: unreachable (%s). Fix SSH access to the node, or remove it from the inventory if it is no longer part of the cluster.' % said]


@pytest.mark.parametrize('result, said', [({'failed': True, 'msg': 'boom'}, 'boom'), ({'failed': True}, 'unknown error')])
def test_a_node_that_could_not_be_read(result, said):
    assert node_problems(nfacts(result)) == ['n1: could not be read: %s' % said]


def test_a_node_without_a_looker_home():
    assert node_problems(nfacts(info(home_exists=False))) == [
        'n1: no Looker home at %s. Set lookerops_looker_home to the directory that holds looker.jar.' % HOME]


def test_a_missing_jar_and_startup_script():
    assert node_problems(nfacts(info(jar_present=False, startup_script_present=False))) == [
        'n1: %s/looker.jar is missing.' % HOME,
        'n1: the startup script %s/looker is missing; the collection starts and stops Looker through it.' % HOME]


@pytest.mark.parametrize('alive, why', [({'state': 'down'}, 'the node is not running'), ({'state': 'up'}, 'no answer'),
                                        (None, 'the node is not running')])
def test_a_release_nobody_can_tell(alive, why):
    assert node_problems(nfacts(info(release=None, alive=alive))) == [
        'n1: cannot tell the Looker release: the manifest of %s/looker.jar names none, and the API did not answer GET /versions on '
        'port 19999 (%s). migrate_encryption exists only from Looker 6.4. State the release with -e '
        'lookerops_looker_release=<release> (Admin > Settings or the API shows it), or set lookerops_api_port if the API listens '
        'elsewhere. %s' % (HOME, why, NOTHING)]


def test_a_stated_release_stands_in_for_an_unknown_one():
    facts = dict(nfacts(info(release=None)), looker_release='6.2')
    assert [p for p in node_problems(facts) if 'Looker 6.2 has no migrate_encryption task' in p]
    assert node_problems(dict(facts, looker_release='23.0')) == []


def test_an_unknown_release_only_stops_a_job_that_runs_a_looker_task():
    assert node_problems(nfacts(info(release=None), job='rollback')) == []


@pytest.mark.parametrize('job, task', [('migrate', 'migrate_encryption'), ('rekey', 'rekey'), ('new_install', 'migrate_encryption')])
def test_a_release_without_the_offline_key_tasks(job, task):
    assert node_problems(nfacts(info(release='6.2.0'), job=job)) == [
        'n1: Looker 6.2.0 has no %s task (Looker says: Could not find task "%s"; the offline key tasks exist from Looker 6.4). Update '
        'Looker to 6.4 or later first. %s' % (task, task, NOTHING)]


def test_releases_compare_as_versions_not_as_text():
    assert node_problems(nfacts(info(release='10.0.1'))) == []
    assert node_problems(nfacts(info(release='6.10'))) == []


def test_a_release_that_cannot_be_compared_stops_the_template_as_before():
    with pytest.raises(AnsibleFilterError, match='Version comparison failed'):
        node_problems(nfacts(info(release='')))


@pytest.mark.parametrize('node, what', [(info(internal_db_present=True), 'its internal database %s/.db holds data' % HOME),
                                        (info(marker={'scheme': 'AES-128-CBC'}), 'it carries the marker of an earlier run')])
def test_new_install_on_an_instance_that_ran(node, what):
    assert node_problems(nfacts(node, job='new_install')) == [
        'n1: this is not a new instance: %s. new_install is only for an instance that has never run; an instance with data is moved to '
        'AES-256-GCM by lookerops.encryption.migrate (which backs it up first). %s' % (what, NOTHING)]
    assert node_problems(nfacts(node, job='migrate')) == []


def test_a_running_looker_task():
    assert node_problems(nfacts(info(running_tasks=[{'pid': 4242, 'task': 'migrate_encryption'}]))) == [
        'n1: a Looker task is running (pid 4242, migrate_encryption). It must never be interrupted: wait for it to finish, then run again.']


def test_backend_settings_that_cannot_be_read():
    assert node_problems(nfacts(info(backend={'mode': 'unknown', 'error': 'creds.yml is not YAML'}))) == [
        'n1: the backend settings cannot be read: creds.yml is not YAML']


def test_someone_else_is_deploying():
    assert node_problems(nfacts(info(fence={'present': True, 'ours': False, 'content': 'other-tool\n'}))) == [
        'n1: %s/.deploying exists (other-tool): someone else is deploying. If it is a failed lookerops run, resume it with -e '
        'lookerops_run_id=<its run id>; otherwise wait for that deployment to finish.' % HOME]


def test_our_own_fence_is_a_resume_not_a_problem():
    assert node_problems(nfacts(info(fence={'present': True, 'ours': True, 'content': 'lookerops run r1'}))) == []


def test_every_failed_check_on_the_node_in_order():
    checks = {'preflight_cmk_node': {'failed': True, 'msg': 'key file differs'}, 'preflight_env': {'failed': True},
              'preflight_backup': {'skipped': True}, 'preflight_probe_mark': {'changed': False},
              'preflight_key_sources': {'failed': True, 'msg': 'sources disagree'}, 'preflight_transport': {'failed': True, 'msg': 'sudo'}}
    assert node_problems(nfacts(**checks)) == ['n1: key file differs', 'n1: check failed', 'n1: sources disagree', 'n1: sudo']


def test_the_checks_of_an_unreachable_node_still_count():
    facts = nfacts({'skipped': True}, preflight_reachable=False, preflight_ping={}, preflight_transport={'failed': True, 'msg': 'x'})
    assert node_problems(facts)[1:] == ['n1: x']


# ---------------------------------------------------------------- cluster_problems


def cfacts(nodes=None, job='migrate', hv=None, **kwargs):
    hv = hv if hv is not None else hostvars(*(nodes or [info(), info()]))
    out = {'hosts': sorted(hv), 'hostvars': hv, 'job': job, 'run_id': 'r1', 'source': 'local', 'aws_cmk_alias': '', 'aws_region': '',
           'backend_backup': 'auto', 'backup_dir': '/var/backups/lookerops', 'cmk': {'kcv': A}, 'kms': {'skipped': True}, 'key': {},
           'rekey': {}, 'rollback': {}, 'backend_node': 'n1', 'backend_check': {'skipped': True}, 'backend_content': {'skipped': True},
           'backend_manifests': {'skipped': True}}
    out.update(kwargs)
    return out


def test_a_healthy_cluster_has_no_problem():
    assert cluster_problems(cfacts()) == []


@pytest.mark.parametrize('cmk, said', [({'failed': True, 'msg': 'the escrow is missing'}, 'the escrow is missing'),
                                       ({'failed': True}, 'the key check failed')])
def test_the_controllers_key_check_failed(cmk, said):
    assert cluster_problems(cfacts(cmk=cmk)) == ['controller: %s' % said]


def test_kms_settings_without_an_alias_or_region():
    assert cluster_problems(cfacts(source='aws_kms', aws_cmk_alias='looker', kms={'failed': True})) == [
        'settings: lookerops_cmk_source is aws_kms but lookerops_aws_cmk_alias is "looker"; set it to the alias of the KMS key, '
        'alias/<name> (Looker reads it as LKR_AWS_CMK).',
        'settings: lookerops_cmk_source is aws_kms but lookerops_aws_region is empty; set the AWS region of the KMS key (Looker reads '
        'it as AWS_REGION).',
        'controller: the KMS key check failed']


def test_kms_settings_that_are_whole_and_a_kms_check_that_failed():
    facts = cfacts(source='aws_kms', aws_cmk_alias='alias/looker', aws_region='eu-west-1', kms={'failed': True, 'msg': 'AccessDenied'})
    assert cluster_problems(facts) == ['controller: AccessDenied']


def test_a_rollback_does_not_check_the_kms_settings():
    assert cluster_problems(cfacts(job='rollback', source='aws_kms')) == []


def test_a_rollback_of_an_rds_snapshot_is_refused():
    assert cluster_problems(cfacts(job='rollback', backend_backup='rds_snapshot')) == [
        'settings: the backend was backed up as an RDS snapshot (lookerops-r1), which is restored to a new instance, never over the '
        'backend in place. Restore it with lookerops.encryption.lk_rds_snapshot (state=restored, docs/aws.md), point the database '
        'credentials of every node at the new instance, then run the rollback with -e lookerops_backend_backup=none.']


def shared(free, needed):
    hv = hostvars(info(), info(), info())
    for name, need in zip(sorted(hv), needed):
        hv[name]['preflight_probe'] = {'seen': ['n2', 'n1'] if name != 'n3' else ['n3'], 'free_bytes': free}
        hv[name]['preflight_backup'] = {'needed_bytes': need}
    return cfacts(hv=hv)


def test_backups_that_do_not_fit_one_shared_filesystem_together():
    assert cluster_problems(shared(1000, [600, '500', 10 ** 9])) == [
        'backup: n1, n2 write their backups to one shared filesystem (/var/backups/lookerops): together they need 1100 bytes '
        '(estimates plus lookerops_backup_free_space_margin_mb each), 1000 bytes are free. Nothing was written. Free space there, or '
        'give the nodes separate backup directories (lookerops_backup_dir in host_vars).']


def test_backups_that_fit_one_shared_filesystem_together():
    assert cluster_problems(shared(1100, [600, 500, 10 ** 9])) == []


def test_the_plans_problems_in_order():
    facts = cfacts(key={'problems': ['k1']}, rekey={'problems': ['r1', 'r2']}, rollback={'problems': ['b1']})
    assert cluster_problems(facts) == ['k1', 'r1', 'r2', 'b1']


@pytest.mark.parametrize('check, said', [({'failed': True, 'msg': 'mysqldump: Access denied'}, 'mysqldump: Access denied'),
                                         ({'failed': True}, 'the MySQL backend check failed')])
def test_a_backend_that_cannot_be_dumped(check, said):
    assert cluster_problems(cfacts(backend_check=check)) == ['n1 (backend check): %s' % said]


def test_a_new_installs_backend_that_cannot_be_read():
    assert cluster_problems(cfacts(job='new_install', backend_content={'failed': True})) == [
        'n1 (backend check): the MySQL backend could not be read new_install must prove the database holds no data before it marks '
        'the instance migrated. Nothing was changed.']


def test_a_new_installs_backend_that_holds_data():
    content = {'empty': False, 'backend': {'database': 'looker', 'host': 'db', 'port': 3306}, 'data_bytes': 16384,
               'objects': {'tables': 12, 'views': 1, 'routines': 1, 'triggers': '2', 'events': 0}}
    assert cluster_problems(cfacts(job='new_install', backend_content=content)) == [
        'n1: this is not a new instance: its MySQL backend looker@db:3306 already holds 12 table(s), 1 view(s) and 3 '
        'routine(s)/trigger(s)/event(s) (16384 bytes of table data). new_install is only for an instance that has never run; an '
        'instance with data is moved to AES-256-GCM by lookerops.encryption.migrate (which backs it up first). Nothing was changed.']
    assert cluster_problems(cfacts(job='new_install', backend_content={'empty': True})) == []


@pytest.mark.parametrize('matched', [0, 2])
def test_a_rollback_without_exactly_one_backend_backup(matched):
    assert cluster_problems(cfacts(job='rollback', backend_manifests={'matched': matched})) == [
        'n1: %d backend backups (backend-*.manifest.json) in /var/backups/lookerops/r1, expected exactly one. Check lookerops_run_id '
        'and lookerops_backup_dir; a backend restored some other way is rolled back with -e lookerops_backend_backup=none.' % matched]
    assert cluster_problems(cfacts(job='rollback', backend_manifests={'matched': 1})) == []


def test_a_clustered_node_on_the_internal_database():
    problems = cluster_problems(cfacts([info(backend={'mode': 'internal'}), info()]))
    assert problems == [
        'n1: started with --clustered but names no MySQL backend (no -d/--internal-db-creds in LOOKERARGS and no LOOKER_DB in '
        'lookerstart.cfg). A cluster needs a shared MySQL backend: fix lookerstart.cfg.',
        'cluster: the nodes name different backends (n1=internal HyperSQL, n2=looker@db:3306). Every node of a cluster must use the '
        'same backend database: fix -d or LOOKER_DB, or limit the run to the nodes of one cluster.']


def test_a_single_node_on_the_internal_database_is_fine():
    assert cluster_problems(cfacts([info(backend={'mode': 'internal'}, clustered=False)])) == []


def test_nodes_whose_key_settings_differ():
    hv = hostvars(info(), info(), info())
    for name, fingerprint in zip(sorted(hv), ['f1', 'f2', 'f1']):
        hv[name]['preflight_env'] = {'settings_fingerprint': fingerprint}
    assert cluster_problems(cfacts(hv=hv)) == [
        'cluster: the nodes would get different key settings (n1, n2, n3 do not all agree; check host_vars/group_vars overrides of '
        'lookerops_cmk_* and lookerops_aws_*). Every node of a cluster needs the same key settings.']


def test_nodes_on_different_releases():
    assert cluster_problems(cfacts([info(release='23.0.0'), info(release='23.2.1'), info(release=None)])) == [
        'cluster: the nodes run different Looker releases (n1=23.0.0, n2=23.2.1, n3=None). Every node must run the same release: '
        'update them first.']


def test_a_node_of_a_group_not_started_clustered():
    assert cluster_problems(cfacts([info(), info(clustered=False)])) == [
        'n2: not started with --clustered, but the inventory group has 2 nodes. Check LOOKERARGS in lookerstart.cfg, or limit the run '
        'to the nodes of one cluster.']


def test_nodes_that_share_a_host_id():
    assert cluster_problems(cfacts([info(host_id='10.0.0.1'), info(host_id='10.0.0.2'), info(host_id='10.0.0.1')])) == [
        'cluster: nodes n1, n3 all start with -H 10.0.0.1; every node needs its own -H. Fix LOOKERARGS in their lookerstart.cfg.']


def test_nodes_without_a_home_or_unread_count_for_nothing_across_the_cluster():
    hv = hostvars(info(), info(home_exists=False, clustered=False, release='1.0'), {'failed': True})
    assert cluster_problems(cfacts(hv=hv)) == []
