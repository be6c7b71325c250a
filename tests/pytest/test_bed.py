# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests of the multi-host test bed (tests/bed): real namespaces, sshd, MariaDB, Ansible."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from bed import Bed, BedError
from bed.core import BRIDGE, LOOKER_HOME
from bed.util import pid_alive, wait_for

pytestmark = pytest.mark.xdist_group('bed')

BEDCTL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'bed', 'bedctl.py')


def _tcp_open(host, port, timeout=1.0):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _netns():
    out = subprocess.run(['ip', 'netns', 'list'], stdout=subprocess.PIPE, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _looker_pid(node):
    with open(os.path.join(node.home, '.tmp', 'looker.pid'), encoding='ascii') as handle:
        return int(handle.read().strip())


def _mounts_mentioning(path):
    """(pid, line) of every mount in any process's mount namespace whose source or target is in the bed dir."""
    fragment = 'lookerops-bed/' + os.path.basename(path)
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/mountinfo' % entry, encoding='utf-8', errors='replace') as handle:
                for line in handle:
                    if fragment in line:
                        found.append((int(entry), line.strip()))
        except OSError:
            continue
    return found


def _ansible(bed, *args):
    ansible = os.path.join(os.path.dirname(os.path.abspath(bed.python)), 'ansible')
    return subprocess.run([ansible, '-i', bed.inventory, 'looker_nodes'] + list(args), env=bed.ansible_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False, timeout=300)


def test_bring_up_three_nodes(bed):
    assert [n.name for n in bed.nodes] == ['looker1', 'looker2', 'looker3']
    assert bed._state['up_seconds'] < 10  # pylint: disable=protected-access
    for node in bed.nodes:
        assert node.run(['hostname'], check=True).stdout.strip() == node.name
        addrs = node.run(['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0'], user='root', check=True).stdout
        assert ' %s/24 ' % node.address in addrs
        res = node.ssh('hostname; runuser -u looker -- sh -c "cd %s && ./looker status"' % LOOKER_HOME)
        assert res.returncode == 0, res.stderr
        assert res.stdout.splitlines()[0] == node.name
        assert 'running' in res.stdout
        # each node sees its own /home/looker, /tmp and /usr/local/bin
        marker = node.run(['sh', '-c', 'echo %s > /tmp/bed-test-marker; cat /tmp/bed-test-marker' % node.name],
                          check=True).stdout.strip()
        assert marker == node.name
        assert node.run(['readlink', '-f', '/usr/local/bin/java'], check=True).returncode == 0
        assert os.path.exists(os.path.join(node.tmp_dir, 'bed-test-marker'))
    assert not os.path.exists('/tmp/bed-test-marker')
    bed.nodes[0].run(['touch', '/home/looker/bed-test-own-home'], check=True)
    try:
        assert bed.nodes[0].run(['test', '-e', '/home/looker/bed-test-own-home']).returncode == 0
        assert bed.nodes[1].run(['test', '-e', '/home/looker/bed-test-own-home']).returncode == 1
        assert os.path.exists(os.path.join(bed.nodes[0].user_home, 'bed-test-own-home'))
    finally:
        os.unlink(os.path.join(bed.nodes[0].user_home, 'bed-test-own-home'))
    with open(os.path.join(bed.nodes[0].home, 'lookerstart.cfg'), encoding='utf-8') as handle:
        cfg = handle.read()
    assert '--clustered -H 198.51.100.11 -d /home/looker/looker/looker-db.yml --shared-storage-dir /srv/looker-shared' in cfg
    creds = os.path.join(bed.nodes[0].home, 'looker-db.yml')
    assert oct(os.stat(creds).st_mode & 0o777) == '0o600'
    data = bed.inspect()
    assert data['total'] == bed.records and data['legacy'] == bed.records and data['gcm'] == 0


def test_nodes_reach_backend_and_each_other(bed):
    node = bed.nodes[1]
    probe = 'import socket; socket.create_connection((%r, %d), timeout=3).close()' % (bed.mariadb.host, bed.mariadb.port)
    assert node.run(['/usr/bin/python3', '-c', probe], check=False).returncode == 0
    probe = ('import pymysql; c = pymysql.connect(host=%r, port=%d, user=%r, password=open(%r).read().split("password: ")[1]'
             '.split()[0].strip(chr(34)), database="looker"); c.close()'
             % (bed.mariadb.host, bed.mariadb.port, bed.mariadb.user, LOOKER_HOME + '/looker-db.yml'))
    assert node.run(['/usr/bin/python3', '-c', probe], check=False).returncode == 0
    assert node.run(['getent', 'hosts', 'looker3'], check=True).stdout.split()[0] == '198.51.100.13'


def test_ansible_ping_over_ssh(bed):
    res = _ansible(bed, '-m', 'ansible.builtin.ping')
    assert res.returncode == 0, res.stdout + res.stderr
    for node in bed.nodes:
        assert '%s | SUCCESS' % node.name in res.stdout
    assert res.stdout.count('"pong"') == 3
    # the inventory's ControlPath is used: the masters live in the bed directory
    assert len(os.listdir(bed.cp_dir)) == 3
    assert len(bed.control_master_pids()) == 3
    res = _ansible(bed, '-m', 'ansible.builtin.setup', '-a', 'filter=ansible_hostname')
    assert res.returncode == 0, res.stdout + res.stderr
    for node in bed.nodes:
        assert '"ansible_hostname": "%s"' % node.name in res.stdout
    ansible = os.path.join(os.path.dirname(os.path.abspath(bed.python)), 'ansible')
    res = subprocess.run([ansible, '-i', bed.local_inventory, 'looker_nodes', '-m', 'ansible.builtin.stat',
                          '-a', 'path={{ lookerops_looker_home }}/looker.jar'], env=bed.ansible_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count('"exists": true') == 3


def test_up_is_idempotent(bed):
    before = {
        'init': [n.pid for n in bed.nodes],
        'sshd': [bed.sshd_pid(n) for n in bed.nodes],
        'looker': [_looker_pid(n) for n in bed.nodes],
        'mariadb': bed.mariadb.pid,
        'password': bed.mariadb.password,
    }
    with open(bed.inventory, encoding='utf-8') as handle:
        inventory = handle.read()
    with open(os.path.join(bed.nodes[0].home, 'looker-db.yml'), encoding='utf-8') as handle:
        creds = handle.read()
    assert bed.up() is bed
    again = Bed(name=bed.name).up()  # a fresh object (as another process would make) too
    after = {
        'init': [n.pid for n in again.nodes],
        'sshd': [again.sshd_pid(n) for n in again.nodes],
        'looker': [_looker_pid(n) for n in again.nodes],
        'mariadb': again.mariadb.pid,
        'password': again.mariadb.password,
    }
    assert after == before
    assert None not in before['init'] and None not in before['sshd']
    with open(bed.inventory, encoding='utf-8') as handle:
        assert handle.read() == inventory
    with open(os.path.join(bed.nodes[0].home, 'looker-db.yml'), encoding='utf-8') as handle:
        assert handle.read() == creds
    assert bed.inspect()['total'] == bed.records  # not seeded twice


def test_down_of_another_bed_leaves_this_one_alone(bed):
    pids = [n.pid for n in bed.nodes]
    Bed(name='pytest-intruder', nodes=3).down()
    assert [n.pid for n in bed.nodes] == pids and None not in pids
    assert all(n.alive() for n in bed.nodes)
    assert bed.nodes[0].ssh_ok()


def test_watchdog_restarts_stopped_looker(bed):
    node = bed.nodes[1]
    count = bed.watchdog_restarts(node)
    old_pid = _looker_pid(node)
    res = node.looker('stop', timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    wait_for(lambda: bed.watchdog_restarts(node) > count, 30, what='a watchdog restart attempt')
    wait_for(node.alive, 60, what='/alive after the watchdog restart')
    assert _looker_pid(node) != old_pid
    assert node.looker('status').returncode == 0


def test_watchdog_is_fenced_by_deploying(bed):
    node = bed.nodes[2]
    node.run(['touch', LOOKER_HOME + '/.deploying'], check=True)
    try:
        count = bed.watchdog_restarts(node)
        assert node.looker('stop', timeout=120).returncode == 0
        # the watchdog keeps trying, the startup script keeps refusing: Looker stays down
        wait_for(lambda: bed.watchdog_restarts(node) >= count + 2, 30, what='two refused restart attempts')
        assert not node.alive()
        assert node.looker('status').returncode == 7
        with open(node.watchdog_output, encoding='utf-8') as handle:
            assert '.deploying exists' in handle.read()
        with open(node.watchdog_log, encoding='utf-8') as handle:
            assert handle.read().splitlines()[-1].endswith('rc=1')
    finally:
        node.run(['rm', '-f', LOOKER_HOME + '/.deploying'], check=True)
    wait_for(node.alive, 60, what='/alive once .deploying is gone')


def test_watchdog_switch(bed):
    node = bed.nodes[0]
    bed.set_watchdog(node, False)
    try:
        assert node.looker('stop', timeout=120).returncode == 0
        count = bed.watchdog_restarts(node)
        # the watchdog checks every second; give it several cycles' worth of polls to misbehave
        with pytest.raises(TimeoutError):
            wait_for(lambda: bed.watchdog_restarts(node) > count or node.alive(), 3, what='no restart')
    finally:
        bed.set_watchdog(node, True)
    wait_for(node.alive, 60, what='/alive after the watchdog is back on')


def test_cut_and_restore_link(bed):
    node = bed.nodes[0]
    other = bed.nodes[1]
    bed.cut_link(node)
    try:
        assert not _tcp_open(node.address, 22)
        probe = 'import socket; socket.create_connection((%r, %d), timeout=2).close()' % (bed.mariadb.host, bed.mariadb.port)
        assert node.run(['/usr/bin/python3', '-c', probe]).returncode != 0
        assert other.run(['/usr/bin/python3', '-c', probe]).returncode == 0
        assert node.alive()  # Looker itself keeps running, only the network is gone
    finally:
        bed.restore_link(node)
    wait_for(node.ssh_ok, 30, what='ssh after restore_link')


def test_stop_and_start_sshd(bed):
    node = bed.nodes[2]
    old = bed.sshd_pid(node)
    bed.stop_sshd(node)
    try:
        assert bed.sshd_pid(node) is None and not pid_alive(old)
        res = node.ssh('true', timeout=30)
        assert res.returncode == 255
        assert bed.nodes[0].ssh_ok()
        assert node.alive()
    finally:
        bed.start_sshd(node)
    assert node.ssh_ok()
    assert bed.sshd_pid(node) not in (None, old)


def test_fill_and_unfill_backup_fs(bed):
    node = bed.nodes[1]
    size = bed.backup_fs_mb * 1024 * 1024
    assert bed.backup_fs_free(node) > size * 0.9
    bed.fill_backup_fs(node)
    try:
        assert bed.backup_fs_free(node) == 0
        write = 'open("/var/backups/lookerops/probe", "w").write("x" * 65536)'
        res = node.run(['/usr/bin/python3', '-c', write], user='root')
        assert res.returncode != 0 and 'No space left on device' in res.stderr
        # the tmpfs is the node's own: other nodes and the host are not full
        assert bed.backup_fs_free(bed.nodes[0]) > size * 0.9
        assert not os.path.exists('/var/backups/lookerops/.bed-fill')
    finally:
        bed.unfill_backup_fs(node)
    assert bed.backup_fs_free(node) > size * 0.9


def test_set_standin(bed):
    node = bed.nodes[2]
    bed.set_standin(node, heartbeat_seconds=2.5)
    try:
        with open(node.standin_config, encoding='utf-8') as handle:
            assert json.load(handle)['heartbeat_seconds'] == 2.5
        with open(bed.nodes[0].standin_config, encoding='utf-8') as handle:
            assert json.load(handle)['heartbeat_seconds'] != 2.5
        # the node's java shim reads this very file
        res = node.run(['sh', '-c', 'grep -o "LOOKER_STANDIN_CONFIG=.*" /usr/local/bin/java'], check=True)
        assert node.standin_config in res.stdout
    finally:
        bed.set_standin(None, heartbeat_seconds=5.0)
    for each in bed.nodes:
        with open(each.standin_config, encoding='utf-8') as handle:
            assert json.load(handle)['heartbeat_seconds'] == 5.0


@pytest.mark.full
def test_single_node_with_moto(bed_factory):
    import boto3  # pylint: disable=import-outside-toplevel
    single = bed_factory(name='pytest-single', nodes=1, cluster=False, moto=True, records=7)
    node = single.nodes[0]
    with open(os.path.join(node.home, 'lookerstart.cfg'), encoding='utf-8') as handle:
        cfg = handle.read()
    assert '--clustered' not in cfg and ' -d ' not in cfg
    assert os.path.isdir(os.path.join(node.home, '.db'))
    assert not os.path.exists(os.path.join(node.home, 'looker-db.yml'))
    assert single.inspect()['total'] == 7
    assert node.looker('status').returncode == 0
    env = single.aws_env()
    kms = boto3.client('kms', endpoint_url=env['AWS_ENDPOINT_URL'], region_name=env['AWS_DEFAULT_REGION'],
                       aws_access_key_id=env['AWS_ACCESS_KEY_ID'], aws_secret_access_key=env['AWS_SECRET_ACCESS_KEY'])
    kms.create_key()
    assert len(kms.list_keys()['Keys']) == 1
    single.moto.reset()
    assert not kms.list_keys()['Keys']


@pytest.mark.full
def test_java_override(bed_factory, tmp_path):
    wrapper = tmp_path / 'java-wrapper'
    wrapper.write_text('#!/bin/sh\necho "$*" >> /tmp/java-calls\nexec /usr/local/bin/java.standin "$@"\n', encoding='ascii')
    wrapper.chmod(0o755)
    tmp_path.chmod(0o755)
    custom = bed_factory(name='pytest-java', nodes=1, cluster=False, java=str(wrapper), records=3)
    node = custom.nodes[0]
    assert node.run(['readlink', '/usr/local/bin/java'], check=True).stdout.strip() == str(wrapper)
    with open(os.path.join(node.tmp_dir, 'java-calls'), encoding='utf-8') as handle:
        calls = handle.read()
    assert 'standin_seed --records 3' in calls and '-jar looker.jar start' in calls
    assert custom.inspect()['total'] == 3


@pytest.mark.full
def test_failed_up_then_down_leaves_nothing(bed_factory):
    bed_factory.exclusive()

    def broken_installer(*_args, **_kwargs):
        raise RuntimeError('installer failed on purpose')

    broken = Bed(name='pytest-broken', nodes=2, installer=broken_installer)
    try:
        with pytest.raises(RuntimeError, match='on purpose'):
            broken.up()
        assert 'lkbed-1' in _netns()
    finally:
        broken.down()
    assert not [ns for ns in _netns() if ns.startswith('lkbed-')]
    assert not os.path.exists(broken.workdir)
    broken.down()  # twice is fine


@pytest.mark.full
def test_bedctl_up_status_down_across_processes(bed_factory):
    bed_factory.exclusive()
    env = dict(os.environ, LC_ALL='C.UTF-8')
    up = subprocess.run([sys.executable, BEDCTL, 'up', '--name', 'pytest-cli', '--nodes', '2', '--keep'], env=env,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False, timeout=300)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert 'looker2 198.51.100.12' in up.stdout
        status = subprocess.run([sys.executable, BEDCTL, 'status', '--name', 'pytest-cli'], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False, timeout=120)
        assert status.returncode == 0, status.stdout + status.stderr
        assert status.stdout.count('Looker Web Application running') == 2
    finally:
        down = subprocess.run([sys.executable, BEDCTL, 'down', '--name', 'pytest-cli'], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False, timeout=120)
    assert down.returncode == 0, down.stdout + down.stderr
    assert not [ns for ns in _netns() if ns.startswith('lkbed-')]
    assert not os.path.exists('/tmp/lookerops-bed/pytest-cli')


@pytest.mark.full
def test_down_leaves_nothing(bed_factory):
    victim = bed_factory(name='pytest-down', nodes=2)
    res = _ansible(victim, '-m', 'ansible.builtin.ping')  # leaves ControlPersist masters behind
    assert res.returncode == 0, res.stdout + res.stderr
    masters = victim.control_master_pids()
    assert len(masters) == 2
    pids = [p for pids in victim.node_pids().values() for p in pids]
    assert len(pids) >= 6  # init, sshd, Looker on each node at least
    assert _mounts_mentioning(victim.workdir)
    mariadb_pid = victim.mariadb.pid
    assert mariadb_pid
    victim.down()
    assert not [p for p in pids + masters + [mariadb_pid] if pid_alive(p)]
    assert not [ns for ns in _netns() if ns.startswith('lkbed-')]
    with open('/proc/self/mountinfo', encoding='utf-8') as handle:
        assert 'lkbed-' not in handle.read()
    assert not _mounts_mentioning(victim.workdir)
    assert not os.path.exists(victim.workdir)
    assert subprocess.run(['ip', 'link', 'show', BRIDGE], capture_output=True, check=False).returncode != 0
    assert subprocess.run(['ip', 'link', 'show', 'lkv1'], capture_output=True, check=False).returncode != 0
    victim.down()  # twice is fine
    with pytest.raises(BedError):
        victim.nodes[0].run(['true'])
