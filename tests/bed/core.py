# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bed: Looker nodes in network namespaces, a MariaDB backend, optionally moto (test code).

Layout of the workdir (default /tmp/lookerops-bed/NAME)::

    state.json              what down() in another process needs (0600)
    ssh/                    the bed's ed25519 client key, authorized_keys
    cp/                     ssh ControlPersist sockets (inventory ControlPath)
    mariadb/  moto.log      the backend
    shared/                 bound at /srv/looker-shared in every node
    nodes/lookerN/          home/ (-> /home/looker), tmp/ (-> /tmp), root/ (-> /root),
                            bin/ (-> /usr/local/bin, holds java), hosts (-> /etc/hosts),
                            sshd config, host key and pid, init.json, watchdog.log, standin.json
    inventory.yml  inventory-local.yml
    reports/                the runs' reports (lookerops_report_dir in both inventories)

Only one bed can be up at a time: the addresses (198.51.100.0/24), the bridge and the namespace
names are fixed.

inventory-local.yml (``ansible_connection: local``) runs every host on this machine, in the
host's namespaces: every host reports the same hostname and facts, 127.0.0.1:9999 is not the
node's Looker, and processes inside the nodes are not visible as the host's own. Its
``lookerops_looker_home`` points at the host path of each node's Looker home. Use it only for
syntax checks and for tasks that touch files; use inventory.yml for everything else.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time

from bed.mariadb import MariaDB
from bed.moto import MotoServer, AWS_TEST_ENV
from bed.util import pid_alive, wait_for, wait_pid_exit, write_private

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUBNET_PREFIX = '198.51.100.'
HOST_ADDRESS = SUBNET_PREFIX + '1'
BRIDGE = 'lkbr0'
LOOKER_USER = 'looker'
USER_HOME = '/home/looker'
LOOKER_HOME = USER_HOME + '/looker'
SHARED_DIR = '/srv/looker-shared'
BACKUP_DIR = '/var/backups/lookerops'
CREDS_PATH = LOOKER_HOME + '/looker-db.yml'
NODE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
REQUIRED_PACKAGES = ('python3-pymysql', 'python3-yaml', 'sudo', 'curl', 'openssh-server', 'mariadb-server', 'iproute2')
SETUP_HINT = 'apt-get update && apt-get install -y ' + ' '.join(REQUIRED_PACKAGES)


class BedError(RuntimeError):
    """The bed could not be brought up or a bed operation failed."""


def default_python():
    """The test venv's Python: this one when it runs in a venv, else $LOOKEROPS_PYTHON or the checkout's .venv."""
    if sys.prefix != sys.base_prefix:
        return sys.executable
    for cand in (os.environ.get('LOOKEROPS_PYTHON', ''), os.path.join(os.path.dirname(TESTS_DIR), '.venv', 'bin', 'python')):
        if cand and os.access(cand, os.X_OK):
            return cand
    return sys.executable


def _run(argv, check=True, **kwargs):
    kwargs.setdefault('stdout', subprocess.PIPE)
    kwargs.setdefault('stderr', subprocess.PIPE)
    kwargs.setdefault('text', True)
    res = subprocess.run(argv, check=False, **kwargs)
    if check and res.returncode != 0:
        raise BedError('command failed (rc=%d): %s\nstdout: %s\nstderr: %s'
                       % (res.returncode, ' '.join(argv), (res.stdout or '')[-2000:], (res.stderr or '')[-2000:]))
    return res


def _link_exists(name, netns=None):
    argv = ['ip'] + (['-n', netns] if netns else []) + ['link', 'show', 'dev', name]
    return _run(argv, check=False).returncode == 0


def _netns_list():
    out = _run(['ip', 'netns', 'list'], check=False).stdout or ''
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _netns_pids(netns):
    res = _run(['ip', 'netns', 'pids', netns], check=False)
    return [int(p) for p in (res.stdout or '').split() if p.isdigit()]


def _tcp_open(host, port, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class Node:
    """One bed node (``looker1`` .. ``lookerN``)."""

    def __init__(self, bed, index):
        self.bed = bed
        self.index = index
        self.name = 'looker%d' % index
        self.address = SUBNET_PREFIX + str(10 + index)
        self.netns = 'lkbed-%d' % index
        self.veth = 'lkv%d' % index
        self.dir = os.path.join(bed.workdir, 'nodes', self.name)
        self.user_home = os.path.join(self.dir, 'home')
        self.home = os.path.join(self.user_home, 'looker')
        self.bin_dir = os.path.join(self.dir, 'bin')
        self.root_dir = os.path.join(self.dir, 'root')
        self.tmp_dir = os.path.join(self.dir, 'tmp')
        self.hosts_file = os.path.join(self.dir, 'hosts')
        self.sshd_config = os.path.join(self.dir, 'sshd_config')
        self.sshd_pid_file = os.path.join(self.dir, 'sshd.pid')
        self.sshd_log = os.path.join(self.dir, 'sshd.log')
        self.host_key = os.path.join(self.dir, 'ssh_host_ed25519_key')
        self.init_config = os.path.join(self.dir, 'init.json')
        self.init_log = os.path.join(self.dir, 'init.log')
        self.ready_file = os.path.join(self.dir, 'init.ready')
        self.error_file = os.path.join(self.dir, 'init.error')
        self.watchdog_log = os.path.join(self.dir, 'watchdog.log')
        self.watchdog_output = os.path.join(self.dir, 'watchdog-output.log')
        self.watchdog_flag = os.path.join(self.dir, 'watchdog.enabled')
        self.standin_config = os.path.join(self.dir, 'standin.json')

    def __repr__(self):
        return 'Node(name=%r, address=%r, netns=%r)' % (self.name, self.address, self.netns)

    @property
    def pid(self):
        """pid of the node's init process (its namespaces), or None."""
        try:
            with open(self.ready_file, encoding='ascii') as handle:
                pid = int(handle.read().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def _prefix(self, namespaces=('--net', '--mount', '--uts')):
        pid = self.pid
        if pid is None:
            raise BedError('node %s is not running (no live init process); run bed.up()' % self.name)
        return ['nsenter', '--target', str(pid)] + list(namespaces)

    def run(self, argv, user=LOOKER_USER, env=None, input=None, check=False, cwd=None, timeout=None):  # pylint: disable=redefined-builtin
        """Run ``argv`` inside the node (its netns, mount and UTS namespaces) as ``user``."""
        if user == 'root':
            home = '/root'
            wrap = []
        else:
            home = pwd.getpwnam(user).pw_dir if user != LOOKER_USER else USER_HOME
            wrap = ['runuser', '-u', user, '--']
        if cwd is None:
            cwd = home
            if user == LOOKER_USER and os.path.isdir(self.home):
                cwd = LOOKER_HOME
        full_env = {'PATH': NODE_PATH, 'LANG': 'C.UTF-8', 'LC_ALL': 'C.UTF-8', 'HOME': home, 'USER': user, 'LOGNAME': user}
        if env:
            full_env.update(env)
        # nsenter --wd resolves the directory before entering the mount namespace: use env -C.
        cmd = self._prefix() + ['--'] + wrap + ['env', '-C', cwd, '--'] + [str(a) for a in argv]
        res = subprocess.run(cmd, env=full_env, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, check=False, timeout=timeout)
        if check and res.returncode != 0:
            raise BedError('%s: command failed (rc=%d): %s\nstdout: %s\nstderr: %s'
                           % (self.name, res.returncode, ' '.join(map(str, argv)), res.stdout[-2000:], res.stderr[-2000:]))
        return res

    def looker(self, *args, **kwargs):
        """``./looker ARGS`` in the Looker home as the Looker user."""
        return self.run(['./looker'] + list(args), cwd=LOOKER_HOME, **kwargs)

    def alive(self, port=9999):
        """True when GET /alive on the node's 127.0.0.1 answers 200 (https, or http for --no-ssl)."""
        for url in ('https://127.0.0.1:%d/alive' % port, 'http://127.0.0.1:%d/alive' % port):
            res = subprocess.run(self._prefix(('--net',)) + ['curl', '-k', '-s', '-o', '/dev/null', '-w', '%{http_code}',
                                                             '--max-time', '2', url],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=False)
            if res.stdout.strip() == '200':
                return True
            if res.returncode == 7:  # connection refused: no point trying http
                return False
        return False

    def ssh_argv(self, *command):
        """argv of ``ssh`` to this node as root with the bed's key (no control master)."""
        return ['ssh', '-i', self.bed.ssh_key, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
                '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=5',
                '-o', 'ControlMaster=no', '-o', 'ControlPath=none', 'root@' + self.address] + list(command)

    def ssh(self, *command, timeout=60):
        """Run a command on the node over SSH; CompletedProcess."""
        return subprocess.run(self.ssh_argv(*command), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, check=False, timeout=timeout)

    def ssh_ok(self):
        """True when root can log in over SSH with the bed's key."""
        try:
            return self.ssh('true', timeout=15).returncode == 0
        except subprocess.TimeoutExpired:
            return False


class Bed:  # pylint: disable=too-many-instance-attributes,too-many-public-methods
    """A set of Looker nodes on one machine. See docs/design.md for the API."""

    def __init__(self, name='bed', nodes=3, cluster=True, standin=None, java=None, moto=False, workdir=None,
                 records=50, python=None, backup_fs_mb=256, install_standin=True, installer=None,
                 start_timeout=120, shared_backup_fs=False, backend=None, backend_database='looker', backend_rich=False,
                 backend_time_zone=None):
        if not name or '/' in name or name.startswith('.'):
            raise BedError('bad bed name %r' % name)
        if not 1 <= int(nodes) <= 200:
            raise BedError('nodes must be between 1 and 200')
        self.name = name
        self.cluster = cluster
        self.standin = dict(standin or {})
        self.java = java
        self.use_moto = moto
        self.workdir = os.path.abspath(workdir or os.path.join('/tmp/lookerops-bed', name))
        self.records = records
        self.python = python or default_python()
        self.backup_fs_mb = backup_fs_mb
        # One backup filesystem for every node (as an NFS export would be) instead of one per node.
        self.shared_backup_fs = bool(shared_backup_fs)
        self.shared_backup_dir = os.path.join(self.workdir, 'backup-shared')
        self.install_standin = install_standin
        self.installer = installer
        self.start_timeout = start_timeout
        # Where the nodes' Looker keeps its data: creds_file (-d), looker_db (LOOKER_DB in lookerstart.cfg) or
        # internal (.db/ in the home). A cluster always uses MySQL; default creds_file for a cluster, else internal.
        self.backend = backend or ('creds_file' if cluster else 'internal')
        if self.backend not in ('creds_file', 'looker_db', 'internal') or (cluster and self.backend == 'internal'):
            raise BedError('backend must be creds_file, looker_db or (single nodes only) internal, not %r' % (backend,))
        self.backend_database = backend_database
        self.backend_rich = backend_rich
        self.state_file = os.path.join(self.workdir, 'state.json')
        self.ssh_dir = os.path.join(self.workdir, 'ssh')
        self.ssh_key = os.path.join(self.ssh_dir, 'id_ed25519')
        self.cp_dir = os.path.join(self.workdir, 'cp')
        self.shared_dir = os.path.join(self.workdir, 'shared')
        self.inventory = os.path.join(self.workdir, 'inventory.yml')
        self.local_inventory = os.path.join(self.workdir, 'inventory-local.yml')
        self.report_dir = os.path.join(self.workdir, 'reports')
        # Sized for the nodes: each stand-in holds two connections, and each node's checks (preflight, the stop's
        # session check) open one more at once, with room for the dump client and the tests' own.
        self.mariadb = MariaDB(os.path.join(self.workdir, 'mariadb'), host=HOST_ADDRESS, time_zone=backend_time_zone,
                               max_connections=max(200, 50 + 4 * int(nodes)))
        self.moto = MotoServer(host=HOST_ADDRESS, log_file=os.path.join(self.workdir, 'moto.log')) if moto else None
        self._procs = {}
        self._state = {}
        self.nodes = [Node(self, i) for i in range(1, int(nodes) + 1)]
        self._load_state()

    # -- state -----------------------------------------------------------------------------

    def _load_state(self):
        try:
            with open(self.state_file, encoding='utf-8') as handle:
                state = json.load(handle)
        except (OSError, ValueError):
            return
        self._state = state
        self.cluster = state.get('cluster', self.cluster)
        self.backend = state.get('backend', self.backend)
        self.backend_database = state.get('backend_database', self.backend_database)
        self.nodes = [Node(self, i) for i in range(1, int(state.get('nodes', len(self.nodes))) + 1)]
        if state.get('mariadb'):
            self.mariadb = MariaDB.from_dict(state['mariadb'])
        if state.get('moto'):
            self.moto = MotoServer.from_dict(state['moto'])
            self.use_moto = True

    def _save_state(self, **extra):
        self._state.update(extra)
        self._state.update({'name': self.name, 'nodes': len(self.nodes), 'cluster': self.cluster, 'backend': self.backend,
                            'backend_database': self.backend_database,
                            'workdir': self.workdir, 'mariadb': self.mariadb.to_dict(),
                            'live_window': self.looker_live_window(),
                            'moto': self.moto.to_dict() if self.moto else None})
        os.makedirs(self.workdir, exist_ok=True)
        write_private(self.state_file, json.dumps(self._state, indent=2, sort_keys=True) + '\n')

    @classmethod
    def load(cls, name='bed', workdir=None):
        """The bed ``name`` as saved by up() in any process (for status/down)."""
        return cls(name=name, workdir=workdir)

    # -- context manager -------------------------------------------------------------------

    def __enter__(self):
        try:
            return self.up()
        except BaseException:
            self.down()
            raise

    def __exit__(self, *exc):
        self.down()

    # -- up ----------------------------------------------------------------------------------

    def up(self):
        """Bring the bed up; idempotent. Returns self."""
        t0 = time.monotonic()
        if os.geteuid() != 0:
            raise BedError('the bed needs root (network namespaces, mounts, useradd)')
        self._check_packages()
        self._check_conflict()
        for path in (self.workdir, self.ssh_dir, self.cp_dir, os.path.join(self.workdir, 'nodes')):
            os.makedirs(path, mode=0o755, exist_ok=True)
        os.chmod(self.workdir, 0o755)
        os.chmod(os.path.dirname(self.workdir), 0o755)
        self._save_state()
        looker = self._ensure_user()
        self._ensure_ssh_key()
        self._ensure_bridge()
        self.mariadb.start()
        self.mariadb.ensure_database(self.backend_database, 'looker')
        if self.backend_rich:
            self.mariadb.add_rich_objects()
        if self.moto is not None:
            self.moto.start()
        self._save_state()
        os.makedirs(self.shared_dir, exist_ok=True)
        os.chown(self.shared_dir, looker.pw_uid, looker.pw_gid)
        for path in (SHARED_DIR, BACKUP_DIR, USER_HOME, '/run/sshd'):
            os.makedirs(path, mode=0o755, exist_ok=True)
        if self.shared_backup_fs:
            os.makedirs(self.shared_backup_dir, mode=0o755, exist_ok=True)
            if not os.path.ismount(self.shared_backup_dir):
                _run(['mount', '-t', 'tmpfs', '-o', 'size=%dm,mode=0755,nosuid,nodev' % self.backup_fs_mb, 'tmpfs',
                      self.shared_backup_dir])
        for node in self.nodes:
            self._prepare_node(node, looker)
        for node in self.nodes:
            self._ensure_netns(node)
            self._start_init(node)
        for node in self.nodes:
            self._wait_init(node)
        self._save_state(init_pids={n.name: n.pid for n in self.nodes})
        for node in self.nodes:
            wait_for(lambda n=node: _tcp_open(n.address, 22), 15, what='sshd on %s' % node.name)
            self._install_node(node, looker)
        self._seed()
        self._start_lookers()
        for node in self.nodes:
            with open(node.watchdog_flag, 'a', encoding='ascii'):
                pass
        self._write_inventories()
        self._save_state(up_seconds=round(time.monotonic() - t0, 3))
        return self

    def _check_packages(self):
        missing = []
        for pkg in REQUIRED_PACKAGES:
            res = _run(['dpkg-query', '-W', '-f=${Status}', pkg], check=False)
            if 'install ok installed' not in (res.stdout or ''):
                missing.append(pkg)
        if missing:
            res = _run(['apt-get', 'install', '-y', '-q'] + missing, check=False,
                       env=dict(os.environ, DEBIAN_FRONTEND='noninteractive'))
            if res.returncode != 0:
                raise BedError('missing Debian packages %s and apt-get install failed; run: %s\n%s'
                               % (', '.join(missing), SETUP_HINT, res.stderr[-1000:]))
        for tool in ('nsenter', 'unshare', 'runuser', 'ssh', 'ssh-keygen', 'curl'):
            if not shutil.which(tool):
                raise BedError('%s not found; run: %s' % (tool, SETUP_HINT))

    def _check_conflict(self):
        """Refuse to take over namespaces of another bed (the addresses are fixed)."""
        other = []
        for path in glob.glob('/tmp/lookerops-bed/*/state.json'):
            if os.path.dirname(path) == self.workdir:
                continue
            try:
                with open(path, encoding='utf-8') as handle:
                    state = json.load(handle)
            except (OSError, ValueError):
                continue
            if any(ns.startswith('lkbed-') for ns in _netns_list()) and state.get('init_pids'):
                if any(pid and pid_alive(pid) for pid in state['init_pids'].values()):
                    other.append(state.get('name'))
        if other:
            raise BedError('another bed is up (%s); only one bed can run at a time: '
                           'run `python tests/bed/bedctl.py down --name %s` first' % (', '.join(other), other[0]))

    @staticmethod
    def _ensure_user():
        try:
            return pwd.getpwnam(LOOKER_USER)
        except KeyError:
            _run(['useradd', '-m', '-d', USER_HOME, '-s', '/bin/bash', LOOKER_USER])
            return pwd.getpwnam(LOOKER_USER)

    def _ensure_ssh_key(self):
        if not os.path.exists(self.ssh_key):
            _run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'lookerops-bed-' + self.name, '-f', self.ssh_key])
        os.chmod(self.ssh_key, 0o600)
        auth = os.path.join(self.ssh_dir, 'authorized_keys')
        with open(self.ssh_key + '.pub', encoding='ascii') as handle:
            write_private(auth, handle.read(), mode=0o644)

    @staticmethod
    def _ensure_bridge():
        if not _link_exists(BRIDGE):
            _run(['ip', 'link', 'add', BRIDGE, 'type', 'bridge'])
        addrs = _run(['ip', '-4', '-o', 'addr', 'show', 'dev', BRIDGE]).stdout
        if HOST_ADDRESS + '/24' not in addrs:
            _run(['ip', 'addr', 'add', HOST_ADDRESS + '/24', 'dev', BRIDGE])
        _run(['ip', 'link', 'set', BRIDGE, 'up'])

    def _prepare_node(self, node, looker):
        for path in (node.dir, node.user_home, node.bin_dir, node.root_dir, node.tmp_dir):
            os.makedirs(path, exist_ok=True)
        os.chmod(node.tmp_dir, 0o1777)
        # 0711: the Looker user must traverse to a Python kept visible under /root (pyenv)
        os.chmod(node.root_dir, 0o711)
        os.chown(node.user_home, looker.pw_uid, looker.pw_gid)
        os.chmod(node.user_home, 0o755)
        os.chmod(node.bin_dir, 0o755)
        root_ssh = os.path.join(node.root_dir, '.ssh')
        os.makedirs(root_ssh, mode=0o700, exist_ok=True)
        shutil.copyfile(os.path.join(self.ssh_dir, 'authorized_keys'), os.path.join(root_ssh, 'authorized_keys'))
        hosts = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\tbed-host\n' % HOST_ADDRESS
        hosts += ''.join('%s\t%s\n' % (n.address, n.name) for n in self.nodes)
        write_private(node.hosts_file, hosts, mode=0o644)
        if not os.path.exists(node.host_key):
            _run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', node.name, '-f', node.host_key])
        sshd_config = '\n'.join([
            'ListenAddress %s:22' % node.address,
            'HostKey %s' % node.host_key,
            'PidFile %s' % node.sshd_pid_file,
            'PermitRootLogin prohibit-password',
            'AllowUsers root',
            'PubkeyAuthentication yes',
            'PasswordAuthentication no',
            'KbdInteractiveAuthentication no',
            'AuthorizedKeysFile %s .ssh/authorized_keys' % os.path.join(self.ssh_dir, 'authorized_keys'),
            'UsePAM no',
            'StrictModes no',
            'UseDNS no',
            'PrintMotd no',
            'MaxStartups 100:30:200',
            'MaxSessions 100',
            'AcceptEnv LANG LC_*',
            'Subsystem sftp /usr/lib/openssh/sftp-server',
            '',
        ])
        write_private(node.sshd_config, sshd_config, mode=0o644)
        preserve = {self.workdir, TESTS_DIR, os.path.dirname(os.path.dirname(os.path.abspath(self.python)))}
        for prefix in (sys.prefix, sys.base_prefix):
            preserve.add(os.path.realpath(prefix))
        real = os.path.realpath(self.python)
        preserve.add(os.path.dirname(os.path.dirname(real)))
        if self.java:
            preserve.add(os.path.dirname(os.path.abspath(self.java)))
        cfg = {
            'hostname': node.name,
            'mounts': ([[node.user_home, USER_HOME], [node.tmp_dir, '/tmp'], [node.root_dir, '/root'],
                        [node.bin_dir, '/usr/local/bin'], [self.shared_dir, SHARED_DIR], [node.hosts_file, '/etc/hosts']]
                       + ([[self.shared_backup_dir, BACKUP_DIR]] if self.shared_backup_fs else [])),
            'preserve': sorted(p for p in preserve if p not in ('/', '/usr', '/usr/local')),
            'tmpfs': None if self.shared_backup_fs else {'path': BACKUP_DIR, 'size_mb': self.backup_fs_mb},
            'sshd': ['/usr/sbin/sshd', '-f', node.sshd_config, '-E', node.sshd_log],
            'ready_file': node.ready_file,
            'error_file': node.error_file,
            'watchdog': {'enabled_flag': node.watchdog_flag, 'log': node.watchdog_log, 'output': node.watchdog_output,
                         'home': LOOKER_HOME, 'user': LOOKER_USER, 'interval': 1.0, 'port': 9999},
        }
        write_private(node.init_config, json.dumps(cfg, indent=2) + '\n', mode=0o644)

    @staticmethod
    def _ensure_netns(node):
        if node.netns not in _netns_list():
            _run(['ip', 'netns', 'add', node.netns])
        if not _link_exists(node.veth):
            _run(['ip', 'link', 'add', node.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', node.netns])
        _run(['ip', 'link', 'set', node.veth, 'master', BRIDGE, 'up'])
        addrs = _run(['ip', '-n', node.netns, '-4', '-o', 'addr', 'show', 'dev', 'eth0']).stdout
        if node.address + '/24' not in addrs:
            _run(['ip', '-n', node.netns, 'addr', 'add', node.address + '/24', 'dev', 'eth0'])
        _run(['ip', '-n', node.netns, 'link', 'set', 'eth0', 'up'])
        _run(['ip', '-n', node.netns, 'link', 'set', 'lo', 'up'])

    def _start_init(self, node):
        if node.pid is not None:
            return
        for path in (node.ready_file, node.error_file):
            if os.path.exists(path):
                os.unlink(path)
        env = {'PATH': NODE_PATH, 'LANG': 'C.UTF-8', 'LC_ALL': 'C.UTF-8', 'HOME': '/root', 'PYTHONPATH': TESTS_DIR,
               'PYTHONDONTWRITEBYTECODE': '1'}
        with open(node.init_log, 'ab') as log:
            # pylint: disable-next=consider-using-with
            proc = subprocess.Popen(['ip', 'netns', 'exec', node.netns, 'unshare', '--uts', '--mount', '--propagation',
                                     'private', self.python, '-m', 'bed.nodeinit', node.init_config],
                                    cwd=TESTS_DIR, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    start_new_session=True)
        self._procs[node.name] = proc

    def _wait_init(self, node):
        proc = self._procs.get(node.name)

        def ready():
            if os.path.exists(node.error_file):
                with open(node.error_file, encoding='utf-8') as handle:
                    raise BedError('%s: node init failed:\n%s' % (node.name, handle.read()))
            if proc is not None and proc.poll() is not None:
                with open(node.init_log, encoding='utf-8', errors='replace') as handle:
                    raise BedError('%s: node init exited with %s:\n%s' % (node.name, proc.returncode, handle.read()[-3000:]))
            return node.pid is not None

        wait_for(ready, 30, interval=0.02, what='init of %s' % node.name)

    def _install_node(self, node, looker):
        """Stand-in (or the given installer), lookerstart.cfg, creds YAML, java override."""
        if self.install_standin and not os.path.exists(os.path.join(node.home, 'looker.jar')):
            if self.installer is not None:
                self.installer(node.home, node.bin_dir, node.standin_config, self.python, user=LOOKER_USER)
            else:
                from standin import install  # pylint: disable=import-outside-toplevel
                tunables = dict(self.standin)
                if self.moto is not None:
                    # What an EC2 instance role and the AWS endpoint are to a real node: the stand-in's
                    # boto3 reaches the bed's moto server with test credentials.
                    tunables['aws_env'] = self.moto.env()
                tunables.setdefault('records', self.records)
                install.write_config(node.standin_config, **tunables)
                install.install_node(node.home, node.bin_dir, node.standin_config, self.python,
                                     release=tunables.get('release', '23.0.0'), user=LOOKER_USER)
        os.makedirs(node.home, exist_ok=True)
        os.chown(node.home, looker.pw_uid, looker.pw_gid)
        if self.java:
            # /usr/local/bin/java becomes a symlink to the given java; the stand-in's shim stays
            # next to it as /usr/local/bin/java.standin so a wrapper can exec it.
            target = os.path.join(node.bin_dir, 'java')
            if os.path.isfile(target) and not os.path.islink(target):
                os.rename(target, target + '.standin')
            elif os.path.lexists(target):
                os.unlink(target)
            os.symlink(os.path.abspath(self.java), target)
        cfg = os.path.join(node.home, 'lookerstart.cfg')
        if not os.path.exists(cfg):
            args = ' '.join(([] if not self.cluster else ['--clustered -H %s' % node.address]) + self._creds_args()
                            + ([] if not self.cluster else ['--shared-storage-dir %s' % SHARED_DIR]))
            text = '# written by the lookerops test bed\nLOOKERARGS="%s"\n' % args
            mode = 0o644
            if self.backend == 'looker_db':
                text += "export LOOKER_DB='%s'\n" % self.mariadb.looker_db(host=HOST_ADDRESS)
                mode = 0o600
            write_private(cfg, text, mode=mode, uid=looker.pw_uid, gid=looker.pw_gid)
        if self.backend == 'creds_file':
            creds = os.path.join(node.home, 'looker-db.yml')
            self.mariadb.creds_yaml(creds, host=HOST_ADDRESS)
            os.chown(creds, looker.pw_uid, looker.pw_gid)

    def _creds_args(self):
        return ['-d', CREDS_PATH] if self.backend == 'creds_file' else []

    def _seed(self):
        seeded = set(self._state.get('seeded', []))
        targets = self.nodes[:1] if self.backend != 'internal' else self.nodes
        for node in targets:
            if node.name in seeded:
                continue
            # with lookerstart.cfg sourced, as the startup script does (it may export LOOKER_DB)
            script = 'if [ -f ./lookerstart.cfg ]; then . ./lookerstart.cfg; fi; exec java -jar looker.jar "$@"'
            node.run(['sh', '-c', script, 'sh', 'standin_seed', '--records', str(self.records)] + self._creds_args(),
                     cwd=LOOKER_HOME, check=True, timeout=120)
            seeded.add(node.name)
            self._save_state(seeded=sorted(seeded))

    def _start_lookers(self):
        pending = [n for n in self.nodes if not n.alive()]
        for node in pending:
            node.looker('start', check=True, timeout=120)
        wait_for(lambda: all(n.alive() for n in pending), self.start_timeout, interval=0.1,
                 what='/alive on %s' % ', '.join(n.name for n in pending))

    def looker_live_window(self):
        """Seconds the bed's Looker counts a stopped node as live: the stand-in's tunable (given or its default); None
        for another implementation whose window the bed was not told."""
        window = self.standin.get('live_window_seconds', self._state.get('live_window'))
        if window is None and self.install_standin and self.installer is None:
            from standin.config import DEFAULTS  # pylint: disable=import-outside-toplevel
            window = DEFAULTS['live_window_seconds']
        return None if window is None else float(window)

    def looker_times(self):
        """What an operator who knows their cluster states for the downtime forecast: the stand-in's stop, start and
        task times (given or its defaults); {} for another implementation whose times the bed was not told."""
        if not (self.install_standin and self.installer is None):
            return {}
        from standin.config import DEFAULTS  # pylint: disable=import-outside-toplevel
        conf = dict(DEFAULTS, **self.standin)
        return {'lookerops_forecast_stop_seconds': float(conf['stop_seconds']),
                'lookerops_forecast_start_seconds': float(conf['start_seconds']),
                'lookerops_forecast_task_seconds': float(conf['migrate_seconds'])}

    def _write_inventories(self):
        import yaml  # pylint: disable=import-outside-toplevel
        common = ('-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ControlMaster=auto '
                  '-o ControlPersist=60s -o ControlPath=%s/%%C' % self.cp_dir)
        # The runs' reports go to the bed's own directory, not the home of the user running the tests.
        node_vars = {'lookerops_looker_home': LOOKER_HOME, 'lookerops_looker_user': LOOKER_USER,
                     'lookerops_report_dir': self.report_dir}
        window = self.looker_live_window()
        if window is not None:
            # What an operator states when their Looker's live window is not the documented minute: the bed's
            # Looker has a short one, so the runs do not wait a minute that this Looker does not count.
            node_vars['lookerops_live_window_seconds'] = window
        node_vars.update(self.looker_times())
        inv = {'all': {'children': {'looker_nodes': {
            'hosts': {n.name: {'ansible_host': n.address} for n in self.nodes},
            'vars': dict(node_vars, ansible_user='root', ansible_ssh_private_key_file=self.ssh_key,
                         ansible_ssh_common_args=common, ansible_ssh_pipelining=True,
                         ansible_python_interpreter='/usr/bin/python3'),
        }}}}
        header = '---\n# lookerops test bed %r: SSH inventory (written by tests/bed)\n' % self.name
        write_private(self.inventory, header + yaml.safe_dump(inv, default_flow_style=False, sort_keys=True), mode=0o644)
        local = {'all': {'children': {'looker_nodes': {
            'hosts': {n.name: {'lookerops_looker_home': n.home, 'lookerops_bed_node_address': n.address}
                      for n in self.nodes},
            'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': '/usr/bin/python3',
                     'lookerops_looker_user': LOOKER_USER, 'lookerops_report_dir': self.report_dir},
        }}}}
        header = ('---\n# lookerops test bed %r: local-connection variant. Every host runs on this machine in its\n'
                  '# namespaces: same hostname and facts everywhere, /alive on 127.0.0.1 is not the node\'s.\n'
                  '# Good for syntax checks and file-only tasks; use inventory.yml for the rest.\n' % self.name)
        write_private(self.local_inventory, header + yaml.safe_dump(local, default_flow_style=False, sort_keys=True),
                      mode=0o644)

    # -- operations --------------------------------------------------------------------------

    def node(self, which):
        """A node by Node, index (1-based), or name."""
        if isinstance(which, Node):
            return which
        if isinstance(which, int):
            return self.nodes[which - 1]
        for node in self.nodes:
            if node.name == which or node.address == which:
                return node
        raise BedError('no node %r in bed %s' % (which, self.name))

    def _targets(self, which):
        if which is None or which == 'all':
            return list(self.nodes)
        return [self.node(which)]

    def inspect(self, node=None):
        """standin_inspect as the Looker user inside a node with lookerstart.cfg sourced; dict."""
        node = self.node(node or 1)
        script = 'if [ -f ./lookerstart.cfg ]; then . ./lookerstart.cfg; fi; exec java -jar looker.jar standin_inspect "$@"'
        res = node.run(['sh', '-c', script, 'sh'] + self._creds_args(), cwd=LOOKER_HOME, check=True, timeout=120)
        lines = [ln for ln in res.stdout.splitlines() if ln.strip().startswith('{')]
        if not lines:
            raise BedError('standin_inspect printed no JSON: %r' % res.stdout[-1000:])
        return json.loads(lines[-1])

    def status(self):
        """{node name: CompletedProcess of ``./looker status``}."""
        return {n.name: n.looker('status', timeout=60) for n in self.nodes}

    def cut_link(self, node):
        """Take the node's link down (host side of its veth)."""
        _run(['ip', 'link', 'set', self.node(node).veth, 'down'])

    def restore_link(self, node):
        """Bring the node's link back up."""
        _run(['ip', 'link', 'set', self.node(node).veth, 'up'])
        node = self.node(node)
        wait_for(lambda: _run(['ip', '-n', node.netns, '-o', 'link', 'show', 'eth0'], check=False).stdout.find('LOWER_UP') >= 0,
                 10, what='link of %s' % node.name)

    def sshd_pid(self, node):
        """pid of the node's sshd listener, or None."""
        try:
            with open(self.node(node).sshd_pid_file, encoding='ascii') as handle:
                pid = int(handle.read().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def stop_sshd(self, node):
        """Stop the node's sshd listener (existing sessions are left alone, like a real sshd stop)."""
        node = self.node(node)
        pid = self.sshd_pid(node)
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            if not wait_pid_exit(pid, 10):
                os.kill(pid, signal.SIGKILL)
                wait_pid_exit(pid, 5)
        wait_for(lambda: not _tcp_open(node.address, 22), 10, what='sshd of %s to stop' % node.name)

    def start_sshd(self, node):
        """Start the node's sshd listener again."""
        node = self.node(node)
        if self.sshd_pid(node) is None:
            node.run(['/usr/sbin/sshd', '-f', node.sshd_config, '-E', node.sshd_log], user='root', check=True)
        wait_for(lambda: _tcp_open(node.address, 22), 10, what='sshd of %s' % node.name)

    def fill_backup_fs(self, node):
        """Fill the node's /var/backups/lookerops tmpfs to the last byte."""
        self.node(node).run(['sh', '-c', 'cat /dev/zero > %s/.bed-fill 2>/dev/null; exit 0' % BACKUP_DIR], user='root',
                            check=True, timeout=120)

    def unfill_backup_fs(self, node):
        """Undo fill_backup_fs()."""
        self.node(node).run(['rm', '-f', BACKUP_DIR + '/.bed-fill'], user='root', check=True)

    def backup_fs_free(self, node):
        """Free bytes on the node's backup tmpfs."""
        res = self.node(node).run(['df', '-B1', '--output=avail', BACKUP_DIR], user='root', check=True)
        return int(res.stdout.split()[-1])

    def watchdog_restarts(self, node):
        """Number of restart attempts the node's watchdog has made."""
        try:
            with open(self.node(node).watchdog_log, encoding='utf-8') as handle:
                return sum(1 for line in handle if 'restart-attempt' in line)
        except OSError:
            return 0

    def set_watchdog(self, node, enabled):
        """Turn the node's watchdog on or off (it is on after up())."""
        for target in self._targets(node):
            if enabled:
                with open(target.watchdog_flag, 'a', encoding='ascii'):
                    pass
            elif os.path.exists(target.watchdog_flag):
                os.unlink(target.watchdog_flag)

    def set_standin(self, node=None, **tunables):
        """Rewrite the stand-in config of one node (or all, node=None/'all') with these tunables merged in."""
        from standin import install  # pylint: disable=import-outside-toplevel
        for target in self._targets(node):
            try:
                with open(target.standin_config, encoding='utf-8') as handle:
                    current = json.load(handle)
            except (OSError, ValueError):
                current = {}
            current.update(tunables)
            install.write_config(target.standin_config, **current)

    def aws_env(self):
        """Environment for AWS clients (test credentials; the moto endpoint when moto=True)."""
        return self.moto.env() if self.moto else dict(AWS_TEST_ENV)

    def ansible_env(self):
        """Environment for ansible/ansible-playbook against this bed."""
        env = dict(os.environ)
        env.update(self.aws_env())
        env.update({'LC_ALL': 'C.UTF-8', 'LANG': 'C.UTF-8', 'ANSIBLE_HOST_KEY_CHECKING': 'False'})
        venv_bin = os.path.dirname(os.path.abspath(self.python))
        env['PATH'] = venv_bin + ':' + env.get('PATH', NODE_PATH)
        return env

    # -- down --------------------------------------------------------------------------------

    def control_master_pids(self):
        """pids of ssh processes using a ControlPath in this bed's cp/ directory."""
        pids = []
        needle = self.cp_dir.encode()
        for entry in os.listdir('/proc'):
            if not entry.isdigit():
                continue
            try:
                with open('/proc/%s/cmdline' % entry, 'rb') as handle:
                    cmdline = handle.read()
            except OSError:
                continue
            # a master renames itself to "ssh: PATH [mux]"
            first = cmdline.split(b'\0', 1)[0].split(b' ', 1)[0]
            if needle in cmdline and (first.startswith(b'ssh') or first.endswith(b'/ssh')) and pid_alive(int(entry)):
                pids.append(int(entry))
        return pids

    def close_control_masters(self):
        """``ssh -O exit`` on every control socket of the bed, then make sure no master is left."""
        for sock in glob.glob(os.path.join(self.cp_dir, '*')):
            _run(['ssh', '-o', 'ControlPath=' + sock, '-O', 'exit', 'bed'], check=False, timeout=10)
        for pid in self.control_master_pids():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            if not wait_pid_exit(pid, 5):
                os.kill(pid, signal.SIGKILL)
                wait_pid_exit(pid, 5)

    def node_pids(self):
        """{netns: [pids]} for the bed's namespaces that exist."""
        existing = set(_netns_list())
        return {n.netns: _netns_pids(n.netns) for n in self.nodes if n.netns in existing}

    def _owns(self, netns):
        """True when the namespace is this bed's: empty, or holding a process started from this workdir."""
        pids = _netns_pids(netns)
        if not pids:
            return True
        needle = (self.workdir + '/').encode()
        for pid in pids:
            try:
                with open('/proc/%d/cmdline' % pid, 'rb') as handle:
                    if needle in handle.read():
                        return True
            except OSError:
                continue
        return False

    def down(self):
        """Tear everything down; safe after a partial up() and when called twice.

        Namespaces of the same name that belong to another bed (another workdir) are left alone.
        """
        self.close_control_masters()
        existing = {ns for ns in _netns_list() if ns in {n.netns for n in self.nodes} and self._owns(ns)}
        namespaces = [n.netns for n in self.nodes if n.netns in existing]
        # Every process in the bed's namespaces was started by the bed (init, sshd, Looker, tasks).
        for sig, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 10)):
            pids = [p for ns in namespaces for p in _netns_pids(ns)]
            for node in self.nodes:
                if node.pid is not None and node.pid not in pids:
                    pids.append(node.pid)
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            for proc in self._procs.values():
                try:
                    proc.wait(0.01)
                except subprocess.TimeoutExpired:
                    pass
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
                for proc in self._procs.values():
                    proc.poll()
                time.sleep(0.02)
        for proc in self._procs.values():
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self._procs = {}
        leftover = [p for ns in namespaces for p in _netns_pids(ns) if pid_alive(p)]
        if leftover:
            raise BedError('processes %s survived SIGKILL in the bed namespaces' % leftover)
        for node in self.nodes:
            if node.netns in existing:
                _run(['ip', 'netns', 'del', node.netns], check=False)
                if _link_exists(node.veth):
                    _run(['ip', 'link', 'del', node.veth], check=False)
        if _link_exists(BRIDGE) and not any(ns.startswith('lkbed-') for ns in _netns_list()):
            _run(['ip', 'link', 'del', BRIDGE], check=False)
        self.mariadb.stop()
        if self.moto is not None:
            self.moto.stop()
        self._state = {}
        if os.path.isdir(self.workdir):
            with open('/proc/self/mountinfo', encoding='utf-8') as handle:
                mounted = [ln.split()[4] for ln in handle if ln.split()[4].startswith(self.workdir + '/')]
            for path in sorted(mounted, reverse=True):
                _run(['umount', '-l', path], check=False)
            shutil.rmtree(self.workdir, ignore_errors=True)
