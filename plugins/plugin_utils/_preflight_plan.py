# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption (controller side): preflight's refusals and its key plan. Not a public API.

Preflight (roles/preflight) reads every node and runs the phases' own checks in check mode; it never fails at the first
problem. These functions turn what it gathered into the list of problems that stops the run before any node is touched,
each naming the node (or ``cluster``, ``settings``, ``controller``), what is wrong and what to do:

- :func:`key_plan`: which key this run gives the nodes, compared with the key each node's Looker uses now (identities
  only: a key check value ``kcv1:...`` or ``kms:<region>/<alias>/<context>``, never key text). A key Looker uses is never
  replaced unless ``lookerops_cmk_replace_kcv`` names it, and never by a new key when the controller has none.
- :func:`node_problems`: the problems of one node.
- :func:`cluster_problems`: the problems that only show across nodes, and those of the controller and the settings.

Each takes one dict of facts (see its docstring); the facts of every node come as ``hostvars`` (see ``_preflight_facts``).
"""

from __future__ import annotations

import json
import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.compat.version import LooseVersion

from ansible_collections.lookerops.encryption.plugins.module_utils._cluster_names import DEFAULT_KMS_CONTEXT, kms_identity
from ansible_collections.lookerops.encryption.plugins.plugin_utils._preflight_facts import (
    NOTHING,
    as_int,
    carries_gcm_marker,
    failed,
    get,
    host_var,
    is_mapping,
    mapping,
    node_info,
    skipped,
    unique,
)

BACKEND_MODES = ('mysql_creds_file', 'looker_db_env', 'internal')
# The results of the phases' own checks on a node, in the order their problems are listed.
NODE_CHECKS = ('preflight_cmk_node', 'preflight_env', 'preflight_backup', 'preflight_probe_mark', 'preflight_key_sources',
               'preflight_transport')


def _planned(facts):
    """The identity of the key this run gives the nodes, or None when it is not known (a key to be generated)."""
    if facts.get('source') == 'aws_kms':
        return kms_identity(facts.get('aws_region'), facts.get('aws_cmk_alias'), facts.get('aws_cmk_ec') or DEFAULT_KMS_CONTEXT)
    cmk = facts.get('cmk')
    if cmk is not None and not failed(cmk) and not skipped(cmk) and not get(cmk, 'generated', False):
        return get(cmk, 'kcv')
    return None


def key_plan(facts):
    """Which key this run gives the nodes, and the problems of that choice.

    ``facts``: ``hosts`` (the play's nodes, in order), ``hostvars`` (``preflight_node`` of each), ``source``
    (lookerops_cmk_source), ``aws_region``, ``aws_cmk_alias``, ``aws_cmk_ec``, ``cmk`` (the controller's check of the key,
    lk_cmk in check mode), ``replace_kcv`` (lookerops_cmk_replace_kcv), ``key_given`` (whether lookerops_cmk_key is set;
    never the key) and ``escrow_path`` (the run's escrow).

    Returns {planned, nodes, recover_from, problems}: the identity this run gives the nodes (None when a new key is
    generated), each node's identity now, the node whose key is escrowed again when the controller has none, and the
    problems.
    """
    hosts, hostvars = facts.get('hosts') or [], facts.get('hostvars') or {}
    problems, nodes = [], {}
    for host in hosts:
        key = get(node_info(hostvars, host), 'key')
        if not is_mapping(key):
            continue
        if key.get('error'):
            problems.append('%s: lookerstart.cfg gives Looker a local key (%s) that cannot be used: %s. Fix or remove it by hand before '
                            'running again; if the instance was migrated with it, the key in the escrow is the one to restore.'
                            % (host, key.get('kind'), key['error']))
        elif key.get('identity'):
            nodes[host] = key['identity']
    found = unique(nodes.values())
    migrated = any(carries_gcm_marker(node_info(hostvars, host)) for host in hosts)
    planned, replace = _planned(facts), facts.get('replace_kcv')
    recover_from = None
    if planned is not None:
        for host, ident in nodes.items():
            if ident not in (planned, replace):
                problems.append('%s: Looker on this node uses the key %s, but this run would give it %s. A key Looker uses is never replaced: '
                                'after the migration the instance can only be read with the key it was migrated with. If %s is the right '
                                'key, run with that key (lookerops_cmk_key, or the escrow that holds it in lookerops_cmk_escrow_path); to '
                                'change the key of a migrated instance use the rekey procedure. Only if you know that no instance uses %s '
                                '(a key left by a run that never migrated), name it: -e lookerops_cmk_replace_kcv=%s. %s'
                                % (host, ident, planned, ident, ident, ident, NOTHING))
        for host, ident in nodes.items():
            if ident == replace and ident != planned and migrated:
                problems.append('%s: lookerops_cmk_replace_kcv names %s, the key this instance was migrated with (its nodes carry the '
                                'AES-GCM-256 marker): replacing it would make the instance unreadable. Change a live key with the rekey '
                                'procedure only. %s' % (host, ident, NOTHING))
    elif facts.get('source') == 'local' and not facts.get('key_given'):
        # No key on the controller: never generate one for an instance that has one.
        if len(found) == 1 and re.match('^kcv1:', '%s' % (found[0],)):
            recover_from = [host for host, ident in nodes.items() if ident == found[0]][0]
        elif len(found) > 1:
            problems.append('cluster: the controller has no escrow of the key (%s) and the nodes disagree on the key Looker uses (%s). '
                            'Nothing was changed. Find out which key the instance was migrated with; give it with lookerops_cmk_key (or '
                            'its escrow with lookerops_cmk_escrow_path) and fix the other nodes by hand.'
                            % (facts.get('escrow_path'), ', '.join('%s=%s' % item for item in nodes.items())))
        elif len(found) == 1:
            problems.append('cluster: the nodes use the AWS KMS key settings %s, but this run is for a local key (lookerops_cmk_source=local). '
                            'Moving between KMS and a local key is a rekey; to keep KMS, run with lookerops_cmk_source=aws_kms and the same '
                            'alias, region and context. %s' % (found[0], NOTHING))
        elif migrated:
            problems.append('cluster: the nodes carry the AES-GCM-256 marker (migrated), but no node gives Looker a key and the controller '
                            'has no escrow at %s. A new key would make the instance unreadable. Give the key it was migrated with '
                            '(lookerops_cmk_key) or point lookerops_cmk_escrow_path at its escrow. %s' % (facts.get('escrow_path'), NOTHING))
    return {'planned': planned, 'nodes': nodes, 'recover_from': recover_from, 'problems': problems}


def _older(release, minimum):
    """Ansible's ``release is version(minimum, '<')`` (loose version comparison)."""
    if not release or not minimum:
        raise AnsibleFilterError('Version comparison failed: the Looker release %r or lookerops_min_release %r is empty'
                                 % (release, minimum))
    try:
        return LooseVersion('%s' % (release,)) < LooseVersion('%s' % (minimum,))
    except Exception as exc:  # pylint: disable=broad-except
        raise AnsibleFilterError('Version comparison failed: %s' % (exc,)) from exc


def _release_problems(host, node, facts):
    home, minimum = facts.get('looker_home'), facts.get('min_release')
    release = node.get('release')
    if release is None:
        release = facts.get('looker_release') or None
    if release is None and facts.get('job') in ('migrate', 'rekey'):
        state = get(node.get('alive', {}), 'state', '')
        return ['%s: cannot tell the Looker release: the manifest of %s/looker.jar names none, and the API did not answer GET /versions '
                'on port %s (%s). migrate_encryption exists only from Looker %s. State the release with -e '
                'lookerops_looker_release=<release> (Admin > Settings or the API shows it), or set lookerops_api_port if the API listens '
                'elsewhere. %s' % (host, home, facts.get('api_port'), 'the node is not running' if state != 'up' else 'no answer',
                                   minimum, NOTHING)]
    if release is not None and _older(release, minimum):
        task = 'rekey' if facts.get('job') == 'rekey' else 'migrate_encryption'
        return ['%s: Looker %s has no %s task (Looker says: Could not find task "%s"; the offline key tasks exist from Looker %s). '
                'Update Looker to %s or later first. %s' % (host, release, task, task, minimum, minimum, NOTHING)]
    return []


def _home_problems(host, node, facts):
    """The problems of a node whose Looker home exists."""
    home = facts.get('looker_home')
    problems = []
    if not node.get('jar_present', False):
        problems.append('%s: %s/looker.jar is missing.' % (host, home))
    if not node.get('startup_script_present', False):
        problems.append('%s: the startup script %s/looker is missing; the collection starts and stops Looker through it.' % (host, home))
    problems += _release_problems(host, node, facts)
    internal_db = node.get('internal_db_present', False)
    if facts.get('job') == 'new_install' and (internal_db or is_mapping(node.get('marker'))):
        problems.append('%s: this is not a new instance: %s. new_install is only for an instance that has never run; an instance with '
                        'data is moved to AES-256-GCM by lookerops.encryption.migrate (which backs it up first). %s'
                        % (host, 'its internal database %s/.db holds data' % home if internal_db else 'it carries the marker of an earlier run',
                           NOTHING))
    for task in node.get('running_tasks', []) or []:
        problems.append('%s: a Looker task is running (pid %s, %s). It must never be interrupted: wait for it to finish, then run again.'
                        % (host, get(task, 'pid'), get(task, 'task')))
    if get(node.get('backend', {}), 'error'):
        problems.append('%s: the backend settings cannot be read: %s' % (host, node['backend']['error']))
    fence = node.get('fence', {})
    if get(fence, 'present', False) and not get(fence, 'ours', False):
        problems.append('%s: %s/.deploying exists (%s): someone else is deploying. If it is a failed lookerops run, resume it with -e '
                        'lookerops_run_id=<its run id>; otherwise wait for that deployment to finish.'
                        % (host, home, ('%s' % (fence.get('content', ''),)).strip()))
    return problems


def node_problems(facts):
    """The problems of one node.

    ``facts``: ``host``, ``hostvars`` (the node's ``preflight_reachable``, ``preflight_ping``, ``preflight_node`` and the
    results of the phases' checks, ``NODE_CHECKS``), ``job`` (preflight_mode), and the node's settings ``looker_home``,
    ``looker_release``, ``min_release`` and ``api_port``.

    Returns the list of problems, each naming the node.
    """
    host, hostvars = facts.get('host'), facts.get('hostvars') or {}
    node = host_var(hostvars, host, 'preflight_node', {})
    problems = []
    if not host_var(hostvars, host, 'preflight_reachable', False):
        ping = mapping(host_var(hostvars, host, 'preflight_ping', {}))
        problems.append('%s: unreachable (%s). Fix SSH access to the node, or remove it from the inventory if it is no longer part of '
                        'the cluster.' % (host, ('%s' % (ping.get('msg', 'no answer'),)).strip()))
    elif failed(node):
        problems.append('%s: could not be read: %s' % (host, get(node, 'msg', 'unknown error')))
    elif not get(node, 'home_exists', False):
        problems.append('%s: no Looker home at %s. Set lookerops_looker_home to the directory that holds looker.jar.'
                        % (host, facts.get('looker_home')))
    else:
        problems += _home_problems(host, mapping(node), facts)
    for name in NODE_CHECKS:
        result = host_var(hostvars, host, name, {})
        if failed(result):
            problems.append('%s: %s' % (host, get(result, 'msg', 'check failed')))
    return problems


def _settings_problems(facts):
    """The controller's key checks and the settings of the key and of a rollback."""
    problems = []
    if failed(facts.get('cmk')):
        problems.append('controller: %s' % get(facts['cmk'], 'msg', 'the key check failed'))
    if facts.get('source') == 'aws_kms' and facts.get('job') != 'rollback':
        alias = facts.get('aws_cmk_alias') or ''
        if not re.match('^alias/.+', alias):
            problems.append('settings: lookerops_cmk_source is aws_kms but lookerops_aws_cmk_alias is %s; set it to the alias of the KMS '
                            'key, alias/<name> (Looker reads it as LKR_AWS_CMK).' % json.dumps(alias))
        if not facts.get('aws_region'):
            problems.append('settings: lookerops_cmk_source is aws_kms but lookerops_aws_region is empty; set the AWS region of the KMS key '
                            '(Looker reads it as AWS_REGION).')
        if failed(facts.get('kms')):
            problems.append('controller: %s' % get(facts['kms'], 'msg', 'the KMS key check failed'))
    if facts.get('job') == 'rollback' and facts.get('backend_backup') == 'rds_snapshot':
        problems.append('settings: the backend was backed up as an RDS snapshot (lookerops-%s), which is restored to a new instance, never '
                        'over the backend in place. Restore it with lookerops.encryption.lk_rds_snapshot (state=restored, docs/aws.md), '
                        'point the database credentials of every node at the new instance, then run the rollback with -e '
                        'lookerops_backend_backup=none.' % facts.get('run_id'))
    return problems


def _shared_backup_problems(facts):
    """Nodes whose backups land on one shared filesystem must fit into its free space together."""
    hosts, hostvars = facts.get('hosts') or [], facts.get('hostvars') or {}
    groups = {}
    for host in hosts:
        probe = mapping(host_var(hostvars, host, 'preflight_probe', {}))
        if 'seen' in probe and len(probe['seen']) > 1:
            groups[','.join(sorted(probe['seen']))] = probe.get('free_bytes')
    problems = []
    for members, free in groups.items():
        names = [name for name in members.split(',') if name in hosts]
        needed = sum(as_int(get(host_var(hostvars, name, 'preflight_backup', {}), 'needed_bytes', 0)) for name in names)
        if needed > as_int(free):
            problems.append('backup: %s write their backups to one shared filesystem (%s): together they need %s bytes (estimates plus '
                            'lookerops_backup_free_space_margin_mb each), %s bytes are free. Nothing was written. Free space there, or give '
                            'the nodes separate backup directories (lookerops_backup_dir in host_vars).'
                            % (', '.join(names), facts.get('backup_dir'), needed, free))
    return problems


def _backend_problems(facts):
    """The backend checks: the dump's proof, a new instance's empty database, a rollback's backend backup."""
    problems = []
    node = facts.get('backend_node')
    if failed(facts.get('backend_check')):
        problems.append('%s (backend check): %s' % (node if node is not None else 'backend',
                                                    get(facts['backend_check'], 'msg', 'the MySQL backend check failed')))
    content = mapping(facts.get('backend_content'))
    if failed(content):
        problems.append('%s (backend check): %s new_install must prove the database holds no data before it marks the instance migrated. %s'
                        % (node if node is not None else 'backend', content.get('msg', 'the MySQL backend could not be read'), NOTHING))
    elif 'empty' in content and not content['empty']:
        backend, objects = mapping(content.get('backend')), mapping(content.get('objects'))
        others = sum(as_int(objects.get(kind)) for kind in ('routines', 'triggers', 'events'))
        problems.append('%s: this is not a new instance: its MySQL backend %s@%s:%s already holds %s table(s), %s view(s) and %s '
                        'routine(s)/trigger(s)/event(s) (%s bytes of table data). new_install is only for an instance that has never run; '
                        'an instance with data is moved to AES-256-GCM by lookerops.encryption.migrate (which backs it up first). %s'
                        % (node, backend.get('database', ''), backend.get('host', ''), backend.get('port', ''), objects.get('tables'),
                           objects.get('views'), others, content.get('data_bytes'), NOTHING))
    manifests = mapping(facts.get('backend_manifests'))
    if 'matched' in manifests and manifests['matched'] != 1:
        problems.append('%s: %s backend backups (backend-*.manifest.json) in %s/%s, expected exactly one. Check lookerops_run_id and '
                        'lookerops_backup_dir; a backend restored some other way is rolled back with -e lookerops_backend_backup=none.'
                        % (node, manifests['matched'], facts.get('backup_dir'), facts.get('run_id')))
    return problems


def _topology_problems(facts):
    """What every node of one cluster shares: the backend, the key settings, the release, --clustered, and its own -H."""
    hosts, hostvars = facts.get('hosts') or [], facts.get('hostvars') or {}
    problems, backends, fingerprints, infos = [], {}, {}, []
    for host in hosts:
        backend = get(node_info(hostvars, host), 'backend')
        if is_mapping(backend) and backend.get('mode') in BACKEND_MODES:
            internal = backend['mode'] == 'internal'
            backends[host] = 'internal HyperSQL' if internal else '%s@%s:%s' % (
                backend.get('database', ''), backend.get('host', ''), backend.get('port', ''))
            if internal and node_info(hostvars, host).get('clustered', False):
                problems.append('%s: started with --clustered but names no MySQL backend (no -d/--internal-db-creds in LOOKERARGS and no '
                                'LOOKER_DB in lookerstart.cfg). A cluster needs a shared MySQL backend: fix lookerstart.cfg.' % host)
    if len(unique(backends.values())) > 1:
        problems.append('cluster: the nodes name different backends (%s). Every node of a cluster must use the same backend database: fix '
                        '-d or LOOKER_DB, or limit the run to the nodes of one cluster.' % ', '.join('%s=%s' % item for item in backends.items()))
    for host in hosts:
        env = mapping(host_var(hostvars, host, 'preflight_env', {}))
        if 'settings_fingerprint' in env:
            fingerprints[host] = env['settings_fingerprint']
    if len(unique(fingerprints.values())) > 1:
        problems.append('cluster: the nodes would get different key settings (%s do not all agree; check host_vars/group_vars overrides of '
                        'lookerops_cmk_* and lookerops_aws_*). Every node of a cluster needs the same key settings.' % ', '.join(fingerprints))
    for host in hosts:
        node = node_info(hostvars, host)
        if node.get('home_exists', False):
            infos.append({'host': host, 'release': node.get('release'), 'clustered': node.get('clustered', False),
                          'host_id': node.get('host_id')})
    if len(unique(i['release'] for i in infos if i['release'] is not None)) > 1:
        problems.append('cluster: the nodes run different Looker releases (%s). Every node must run the same release: update them first.'
                        % ', '.join('%s=%s' % (i['host'], i['release']) for i in infos))
    if len(hosts) > 1:
        for info in infos:
            if not info['clustered']:
                problems.append('%s: not started with --clustered, but the inventory group has %s nodes. Check LOOKERARGS in lookerstart.cfg, '
                                'or limit the run to the nodes of one cluster.' % (info['host'], len(hosts)))
    ids = [i['host_id'] for i in infos if i['host_id'] is not None]
    for host_id in unique(ids):
        if ids.count(host_id) > 1:
            problems.append('cluster: nodes %s all start with -H %s; every node needs its own -H. Fix LOOKERARGS in their lookerstart.cfg.'
                            % (', '.join(i['host'] for i in infos if i['host_id'] == host_id), host_id))
    return problems


def cluster_problems(facts):
    """The problems that only show across nodes, and those of the controller's checks and of the settings.

    ``facts``: ``hosts``, ``hostvars`` (``preflight_node``, ``preflight_probe``, ``preflight_backup`` and ``preflight_env`` of
    each node), ``job``, ``run_id``, ``source``, ``aws_cmk_alias``, ``aws_region``, ``backend_backup``, ``backup_dir``, the
    controller's checks ``cmk`` and ``kms``, the plans' problems (``key``, ``rekey``, ``rollback``: each a plan with
    ``problems``, or empty), and the backend's: ``backend_node``, ``backend_check``, ``backend_content`` (new_install) and
    ``backend_manifests`` (rollback).

    Returns the list of problems.
    """
    problems = _settings_problems(facts) + _shared_backup_problems(facts)
    for plan in ('key', 'rekey', 'rollback'):
        problems += get(facts.get(plan), 'problems', []) or []
    return problems + _backend_problems(facts) + _topology_problems(facts)
