# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of _looker_node against a temp Looker home with a fake ``java`` and startup script written here.

The fake Looker below is this test's own; it is not the collection's stand-in (tests/standin) and only
follows the public behaviour described in FACTS.md. ``FakeLooker`` is also used by the module tests.
"""

from __future__ import annotations

import datetime
import gzip
import http.server
import json
import os
import pwd
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import zipfile

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils._looker import home as lh
from ansible_collections.lookerops.encryption.plugins.module_utils._looker import log as llog
from ansible_collections.lookerops.encryption.plugins.module_utils._looker import migrate as lmig
from ansible_collections.lookerops.encryption.plugins.module_utils._looker import node as ln
from ansible_collections.lookerops.encryption.plugins.module_utils._looker import ops as lops
from ansible_collections.lookerops.encryption.plugins.module_utils._looker import proc as lproc
from ansible_collections.lookerops.encryption.plugins.module_utils._looker import settings as lset

FAKE_JAVA = r'''#!%(python)s
import datetime, hashlib, http.server, json, os, sys, time, urllib.request
CFG = %(cfg)r
CALLS = %(calls)r
LIVE = ('There are other live nodes connected to this backend Looker database. If Looker was shutdown within the last '
        'minute, try again shortly, otherwise verify all nodes in the cluster are shut down.')


def conf():
    with open(CFG) as h:
        return json.load(h)


def log(msg, level='INFO', src='crypt'):
    os.makedirs('log', exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    with open('log/looker.log', 'a') as h:
        h.write('%%s.%%03d +0000 [%%s|007d0|%%s] :: %%s\n' %% (now.strftime('%%Y-%%m-%%d %%H:%%M:%%S'), now.microsecond // 1000,
                                                       level, src, msg))


def port_of(args):
    for i, a in enumerate(args):
        if a == '--port':
            return int(args[i + 1])
        if a.startswith('--port='):
            return int(a.split('=', 1)[1])
    return int(os.environ.get('LOOKERPORT') or 9999)


args = sys.argv[1:]
c = conf()
with open(CALLS, 'a') as h:
    h.write(json.dumps({'argv': args, 'cwd': os.getcwd(), 'uid': os.getuid(), 'user': os.environ.get('USER'),
                        'home': os.environ.get('HOME'), 'path': os.environ.get('PATH'),
                        'key_file': os.environ.get('LKR_MASTER_KEY_FILE'),
                        'key_env_set': 'LKR_MASTER_KEY_ENV' in os.environ,
                        'aws_region': os.environ.get('AWS_REGION'),
                        'rekey_env': {k: hashlib.sha256(v.encode()).hexdigest() for k, v in os.environ.items()
                                      if k.endswith(('_SOURCE', '_DESTINATION'))}}) + '\n')
i = args.index('-jar')
task = args[i + 2] if len(args) > i + 2 else 'start'
def refuse_while_live():
    """The live-node answer for the first live_failures runs (counted in a file)."""
    n = 0
    if os.path.exists(CFG + '.count'):
        with open(CFG + '.count') as h:
            n = int(h.read())
    with open(CFG + '.count', 'w') as h:
        h.write(str(n + 1))
    if n < c.get('live_failures', 2):
        log(LIVE, 'ERROR', 'main')
        sys.stderr.write(LIVE + '\n')
        sys.exit(1)


if task == 'migrate_encryption':
    mode = c.get('migrate', 'success')
    if mode == 'live':
        refuse_while_live()
        mode = 'success'
    if mode == 'success':
        log('Starting migration from AES-128-CBC Legacy to AES-GCM-256')
        log('(0.000152s) INSERT INTO "SETTING" ("KEY", "VALUE") VALUES', 'INFO', 'db:looker')
        print('migration done')
        sys.exit(0)
    if mode == 'already':
        log('Encryption already AES-GCM-256', 'INFO', 'crypt')
        sys.exit(0)
    if mode == 'rotate':
        log('before rotation')
        day = datetime.datetime.now(datetime.timezone.utc).strftime('%%Y%%m%%d')
        os.rename('log/looker.log', 'log/looker.log.' + day)
        log('Starting migration from AES-128-CBC Legacy to AES-GCM-256')
        log('after rotation')
        sys.exit(0)
    if mode == 'error':
        log(c['message'], 'ERROR', 'main')
        sys.stderr.write(c['message'] + '\n')
        sys.exit(c.get('rc', 1))
    if mode == 'hang':
        deadline = time.time() + 120
        while not os.path.exists(CFG + '.release') and time.time() < deadline:
            time.sleep(0.05)
        sys.exit(0)
    sys.exit(int(mode))
if task == 'rekey':
    mode = c.get('rekey', 'success')
    if mode == 'live':
        refuse_while_live()
    if mode == 'crash':
        sys.exit(137)
    log('rekey done', 'INFO', 'crypt')
    sys.exit(0)
if task == 'stop':
    with open('.tmp/fake-token') as h:  # the real `looker.jar stop` has its own way; the fake keeps a copy
        tok = h.read().strip()
    urllib.request.urlopen('http://127.0.0.1:%%d/control/stop?token=%%s' %% (port_of(args), tok), timeout=5).read()
    sys.exit(0)
if task == 'start':
    mode = c.get('start', 'ok')
    if mode == 'cannot':
        log('Looker can not start because: ' + c['message'], 'ERROR', 'main')
        sys.exit(1)
    if mode == 'die':
        sys.exit(3)
    port = port_of(args)
    if os.fork():
        sys.exit(0)
    os.setsid()
    if os.fork():
        os._exit(0)
    os.makedirs('.tmp', exist_ok=True)
    with open('.tmp/looker.pid', 'w') as h:
        h.write('%%d\n' %% os.getpid())
    for name in ('.status_server_token', '.tmp/fake-token'):
        with open(name, 'w') as h:
            h.write('tok-%%d\n' %% os.getpid())
    log('Looker started', 'INFO', 'main')
    time.sleep(c.get('start_delay', 0))
    state = {'stop_at': None}

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            if self.path == '/alive':
                self.send_response(200)
            elif self.path == '/control/stop?token=tok-%%d' %% os.getpid():
                state['stop_at'] = time.time() + c.get('stop_delay', 0.3)
                self.send_response(200)
            else:
                self.send_response(403)
            self.end_headers()

    srv = http.server.HTTPServer(('127.0.0.1', port), H)
    srv.timeout = 0.1
    end = time.time() + 300
    while time.time() < end and not (state['stop_at'] and time.time() >= state['stop_at'] and not c.get('ignore_stop')):
        srv.handle_request()
    srv.server_close()
    log('Looker stopped', 'INFO', 'main')
    os._exit(0)
sys.exit(2)
'''

FAKE_SCRIPT = r'''#!/bin/sh
cd "$(dirname "$0")" || exit 1
if [ -r ./lookerstart.cfg ]; then . ./lookerstart.cfg; fi
LOOKERPORT=${LOOKERPORT:-9999}
case "$1" in
  start)
    if [ -e .deploying ]; then echo "Looker is deploying, refusing to start"; exit 1; fi
    java -XX:+UseG1GC $JAVAARGS -jar looker.jar start $LOOKERARGS
    exit 0 ;;
  stop)
    java -jar looker.jar stop $LOOKERARGS
    exit 0 ;;
  *)
    java -jar looker.jar "$@" ;;
esac
'''


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


class FakeLooker:
    """A temp Looker home: looker.jar (zip with manifest), startup script, lookerstart.cfg, fake java."""

    def __init__(self, base, release='24.0.12', cfg_extra='', user=None):
        self.base = str(base)
        self.home = os.path.join(self.base, 'looker')
        self.bin = os.path.join(self.base, 'bin')
        self.java = os.path.join(self.bin, 'java')
        self.cfg = os.path.join(self.base, 'fake.json')
        self.calls_file = os.path.join(self.base, 'calls.jsonl')
        self.user = user or pwd.getpwuid(os.getuid()).pw_name
        self.port = free_port()
        for d in (self.home, self.bin, os.path.join(self.home, 'log')):
            os.makedirs(d, exist_ok=True)
        with zipfile.ZipFile(os.path.join(self.home, 'looker.jar'), 'w') as jar:
            jar.writestr('META-INF/MANIFEST.MF', 'Manifest-Version: 1.0\r\nImplementation-Title: Looker\r\n'
                                                 'Implementation-Version: %s\r\n\r\n' % release)
        with open(os.path.join(self.home, 'looker-dependencies.jar'), 'wb') as handle:
            handle.write(b'PK')
        self._write(os.path.join(self.home, 'looker'), FAKE_SCRIPT, 0o755)
        self._write(self.java, FAKE_JAVA % {'python': sys.executable, 'cfg': self.cfg, 'calls': self.calls_file}, 0o755)
        self.key_file = os.path.join(self.base, 'cmk.key')
        self._write(self.key_file, 'A' * 43 + '=\n', 0o400)
        self.write_cfg(cfg_extra)
        self.configure()

    @staticmethod
    def _write(path, text, mode):
        with open(path, 'w') as handle:
            handle.write(text)
        os.chmod(path, mode)

    def write_cfg(self, extra=''):
        self._write(os.path.join(self.home, 'lookerstart.cfg'),
                    'LOOKERARGS="--no-ssl --port %d -d %s/looker-db.yml"\nLOOKERPORT=%d\n'
                    'export LKR_MASTER_KEY_FILE=%s\n%s' % (self.port, self.home, self.port, self.key_file, extra), 0o644)
        self._write(os.path.join(self.home, 'looker-db.yml'), 'dialect: mysql\nhost: 127.0.0.1\n', 0o600)

    def configure(self, **conf):
        self._write(self.cfg, json.dumps(conf), 0o644)
        for suffix in ('.count', '.release'):
            if os.path.exists(self.cfg + suffix):
                os.unlink(self.cfg + suffix)

    def node(self, **kwargs):
        return ln.LookerNode(self.home, self.user, java=self.java, **kwargs)

    def calls(self):
        if not os.path.exists(self.calls_file):
            return []
        with open(self.calls_file) as handle:
            return [json.loads(line) for line in handle]

    def log(self, *lines, name='looker.log'):
        with open(os.path.join(self.home, 'log', name), 'a') as handle:
            for line in lines:
                handle.write(line + '\n')

    def pid(self):
        try:
            with open(os.path.join(self.home, '.tmp', 'looker.pid')) as handle:
                return int(handle.read())
        except (OSError, ValueError):
            return None

    def start_jvm(self):
        """Start the fake JVM directly (not through the module under test) and wait for /alive."""
        subprocess.run([self.java, '-jar', 'looker.jar', 'start', '--no-ssl', '--port', str(self.port)], cwd=self.home, check=True)
        assert wait_for(lambda: self.node().probe_alive()['state'] == 'up')
        return self.pid()

    def cleanup(self):
        pid = self.pid()
        if pid and lproc.pid_alive(pid):
            os.kill(pid, signal.SIGTERM)
            wait_for(lambda: not lproc.pid_alive(pid), 10)


def _proc_cwd(pid):
    try:
        return os.readlink('/proc/%d/cwd' % pid)
    except OSError:
        return ''


def confine_task_scan(monkeypatch, base):
    """Tests may run in parallel: only see Looker tasks started under ``base`` (the real /proc scan still runs)."""
    real = lproc.running_looker_tasks

    def scoped(*args, **kwargs):
        return [t for t in real(*args, **kwargs) if _proc_cwd(t['pid']).startswith(str(base))]
    monkeypatch.setattr(lproc, 'running_looker_tasks', scoped)


@pytest.fixture(name='fake')
def fake_fixture(tmp_path, monkeypatch):
    fake = FakeLooker(tmp_path)
    confine_task_scan(monkeypatch, tmp_path)
    yield fake
    fake.cleanup()


def ts(dt):
    return dt.strftime('%Y-%m-%d %H:%M:%S.') + '%03d +0000' % (dt.microsecond // 1000)


# -- parsing -------------------------------------------------------------------------------------

@pytest.mark.parametrize('text, expected', [
    ('--clustered -H node1 -d /etc/looker/db.yml --shared-storage-dir /mnt/s --no-ssl --port 9443',
     {'clustered': True, 'host_id': 'node1', 'creds_file': '/etc/looker/db.yml', 'shared_storage_dir': '/mnt/s',
      'no_ssl': True, 'port': 9443}),
    ('--hostname=n2 --internal-db-creds=/x/db.yml --shared-storage-dir=/s --port=1',
     {'clustered': False, 'host_id': 'n2', 'creds_file': '/x/db.yml', 'shared_storage_dir': '/s', 'no_ssl': False, 'port': 1}),
    ('--internal-db-creds "/path with/space.yml"', {'creds_file': '/path with/space.yml'}),
    ('', {'clustered': False, 'host_id': None, 'creds_file': None, 'port': None}),
])
def test_parse_lookerargs(text, expected):
    got = lset.parse_lookerargs(text)
    for key, val in expected.items():
        assert got[key] == val, key


def test_parse_lookerargs_bad_quotes():
    assert 'cannot be split' in lset.parse_lookerargs('-d "unterminated')['parse_error']


def test_log_line_time_and_since():
    assert llog.log_line_time('2018-10-29 22:42:20.279 +0000 [INFO|007d0|crypt] :: x') == \
        datetime.datetime(2018, 10, 29, 22, 42, 20, 279000, tzinfo=datetime.timezone.utc)
    assert llog.log_line_time('2018-10-29 22:42:20.279 +0200 [INFO] :: x').hour == 20
    assert llog.log_line_time('  at com.looker.Foo(Foo.java:1)') is None
    assert llog.parse_since('2026-01-02 03:04:05') == datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    assert llog.parse_since('2026-01-02T03:04:05Z') == datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    assert llog.parse_since('2026-01-02T05:04:05+02:00').hour == 3
    with pytest.raises(lh.LookerNodeError, match='YYYY-MM-DD'):
        llog.parse_since('yesterday')


def test_release_from_manifest(tmp_path):
    jar = tmp_path / 'looker.jar'
    with zipfile.ZipFile(str(jar), 'w') as handle:
        handle.writestr('META-INF/MANIFEST.MF', 'Manifest-Version: 1.0\nLooker-Version: 23.4\nBundle-Version: 1\n')
    assert lh.read_manifest_version(str(jar)) == '23.4'
    assert lh.read_manifest_version(str(jar), keys=('Bundle-Version',)) == '1'
    (tmp_path / 'bad.jar').write_bytes(b'not a zip')
    assert lh.read_manifest_version(str(tmp_path / 'bad.jar')) is None
    assert lh.read_manifest_version(str(tmp_path / 'missing.jar')) is None


def test_release_manifest_continuation(tmp_path):
    jar = tmp_path / 'looker.jar'
    with zipfile.ZipFile(str(jar), 'w') as handle:
        handle.writestr('META-INF/MANIFEST.MF', 'Implementation-Version: 24.0.\n 12-abc\n')
    assert lh.read_manifest_version(str(jar)) == '24.0.12-abc'


# -- settings --------------------------------------------------------------------------------------

def test_settings_sourced_never_secret_values(fake):
    fake.write_cfg('export LKR_MASTER_KEY_ENV=c2VjcmV0LXNob3VsZC1ub3QtbGVhaw==\nLOOKER_DB="dialect=mysql&password=pw"\n'
                   'AWS_REGION=us-east-1\nJAVAARGS="-Xmx2g"\n')
    node = fake.node()
    st = node.config.settings()
    assert st['port'] == fake.port and st['no_ssl'] is True
    assert st['creds_file'] == fake.home + '/looker-db.yml'
    assert st['javaargs'] == '-Xmx2g'
    assert st['key_vars']['LKR_MASTER_KEY_ENV'] == {'set': True, 'exported': True}
    assert st['key_vars']['AWS_REGION'] == {'set': True, 'exported': False}
    assert st['looker_db_set'] is True
    assert 'c2VjcmV0' not in json.dumps(st) and 'password=pw' not in json.dumps(st)
    summary = node.config.key_summary()
    assert summary['modes'] == ['file', 'env'] and summary['not_exported'] == ['AWS_REGION']
    assert summary['key_file'] == {'path': fake.key_file, 'exists': True, 'mode': '0400', 'owner': fake.user, 'size': 45}


def test_settings_defaults_without_cfg(fake):
    os.unlink(os.path.join(fake.home, 'lookerstart.cfg'))
    st = fake.node().config.settings()
    assert st['lookerstart_cfg'] is False and st['port'] == 9999 and st['port_source'] == 'default'
    assert fake.node().config.key_summary()['mode'] == 'none'


def test_settings_relative_creds_and_exit(fake):
    fake.write_cfg('LOOKERARGS="--clustered -d conf/db.yml"\n')
    st = fake.node().config.settings()
    assert st['creds_file'] == os.path.join(fake.home, 'conf/db.yml') and st['clustered']
    fake.write_cfg('exit 3\n')
    with pytest.raises(lh.LookerNodeError, match='did not finish'):
        fake.node().config.settings()


def test_missing_user_and_home(tmp_path):
    with pytest.raises(lh.LookerNodeError, match='does not exist'):
        ln.LookerNode(str(tmp_path), 'no-such-user-lookerops').runner.user_info()
    with pytest.raises(lh.LookerNodeError, match='looker_home'):
        ln.LookerNode(str(tmp_path / 'nope'), 'root').require_home()


# -- running commands as the Looker user -----------------------------------------------------------

def test_run_as_user_sources_cfg(fake):
    node = fake.node()
    res = node.runner.run_as_user([fake.java, '-jar', 'looker.jar', 'migrate_encryption'], env_extra={'X': '1'})
    assert res['rc'] == 0 and 'migration done' in res['stdout']
    call = fake.calls()[-1]
    assert call['cwd'] == fake.home and call['key_file'] == fake.key_file and call['user'] == fake.user
    assert call['path'].split(':')[0] == fake.bin
    res = node.runner.run_as_user(['sh', '-c', 'echo ${LKR_MASTER_KEY_FILE:-unset}'], source_cfg=False)
    assert res['stdout'].strip() == 'unset'


@pytest.mark.skipif(os.geteuid() != 0, reason='dropping privileges needs root')
def test_run_as_user_drops_privileges(tmp_path):
    nobody = pwd.getpwnam('nobody')
    home = tmp_path / 'h'
    home.mkdir()
    os.chmod(str(tmp_path), 0o755)
    os.chmod(str(home), 0o755)
    node = ln.LookerNode(str(home), 'nobody', path='/usr/bin:/bin')
    res = node.runner.run_as_user(['sh', '-c', 'id -u; id -g; echo $HOME $USER $LOGNAME $PATH; pwd'], source_cfg=False)
    out = res['stdout'].split('\n')
    assert out[0] == str(nobody.pw_uid) and out[1] == str(nobody.pw_gid)
    assert out[2] == '%s nobody nobody /usr/bin:/bin' % nobody.pw_dir
    assert out[3] == str(home)


def test_run_as_user_timeout_leaves_process(fake):
    node = fake.node()
    res = node.runner.run_as_user(['sh', '-c', 'sleep 30'], timeout=0.3, source_cfg=False)
    try:
        assert res['timed_out'] and res['rc'] is None
        os.kill(res['pid'], 0)
    finally:
        os.kill(res['pid'], signal.SIGTERM)


# -- pid, tasks, /alive ----------------------------------------------------------------------------

def test_stale_pid(fake):
    os.makedirs(os.path.join(fake.home, '.tmp'))
    proc = subprocess.Popen(['sleep', '30'])
    try:
        with open(os.path.join(fake.home, '.tmp', 'looker.pid'), 'w') as handle:
            handle.write('%d\n' % proc.pid)
        # A live pid that is not a Looker process (pid reuse) is stale too.
        assert fake.node().pid_state() == {'pid': proc.pid, 'pid_alive': False, 'stale': True}
    finally:
        proc.kill()
        proc.wait()
    assert fake.node().pid_state()['stale'] is True


def test_running_tasks_and_pid_alive(fake):
    proc = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)', '-Xmx1g', '-jar', fake.home + '/looker.jar',
                             'rekey', '-d', 'x'], cwd=fake.home)
    start_like = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)', '-jar', 'looker.jar', 'start'],
                                  cwd=fake.home)
    try:
        assert wait_for(lambda: any(t['pid'] == proc.pid for t in lproc.running_looker_tasks()))
        tasks = [t for t in fake.node().running_tasks() if t['pid'] in (proc.pid, start_like.pid)]
        assert tasks == [{'pid': proc.pid, 'task': 'rekey', 'user': fake.user, 'jar': fake.home + '/looker.jar'}]
        assert wait_for(lambda: lproc.pid_alive(start_like.pid))
        assert [t['pid'] for t in fake.node().running_tasks('install')] == [proc.pid]
        other = os.path.join(fake.base, 'other')
        os.makedirs(other)
        with open(os.path.join(other, 'looker.jar'), 'wb') as handle:
            handle.write(b'PK')
        foreign = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)', '-jar', 'looker.jar', 'rekey'], cwd=other)
        try:
            assert wait_for(lambda: any(t['pid'] == foreign.pid for t in fake.node().running_tasks()))
            assert [t['pid'] for t in fake.node().running_tasks('install')] == [proc.pid]
        finally:
            foreign.kill()
            foreign.wait()
    finally:
        for p in (proc, start_like):
            p.kill()
            p.wait()
    assert not lproc.pid_alive(proc.pid)


class _AliveHandler(http.server.BaseHTTPRequestHandler):
    status = 200

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass

    def do_GET(self):  # pylint: disable=invalid-name
        self.send_response(self.status if self.path == '/alive' else 404)
        self.end_headers()


def _serve(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


def test_probe_alive_https_self_signed(fake, tmp_path):
    cert, key = str(tmp_path / 'c.pem'), str(tmp_path / 'k.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
                    '-subj', '/CN=looker.invalid'], check=True, capture_output=True)
    fake.write_cfg('LOOKERARGS="--port %d"\n' % fake.port)
    server = http.server.HTTPServer(('127.0.0.1', fake.port), _AliveHandler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    _serve(server)
    try:
        res = fake.node().probe_alive()
        assert res['state'] == 'up' and res['url'].startswith('https://')
    finally:
        server.shutdown()
        server.server_close()
    assert fake.node().probe_alive()['state'] == 'refused'


def test_probe_alive_http_error_status(fake):
    class Handler(_AliveHandler):
        status = 503
    server = http.server.HTTPServer(('127.0.0.1', fake.port), Handler)
    _serve(server)
    try:
        res = fake.node().probe_alive()
        assert res['state'] == 'error' and res['status'] == 503
        # https against a plain-http server: an error, not 'up' and not 'refused'.
        node = fake.node()
        node.config.settings()['no_ssl'] = False
        assert node.probe_alive()['state'] == 'error'
    finally:
        server.shutdown()
        server.server_close()


# -- fence -----------------------------------------------------------------------------------------

def test_fence_ownership(fake):
    node = fake.node()
    assert node.fence.create('r1') is True
    with open(node.fence_file) as handle:
        assert handle.read() == 'lookerops.encryption run r1\n'
    assert os.stat(node.fence_file).st_uid == pwd.getpwnam(fake.user).pw_uid
    assert node.fence.create('r1') is False
    with pytest.raises(lh.LookerNodeError, match='run r1 .not this run'):
        node.fence.create('r2')
    with pytest.raises(lh.LookerNodeError, match='not written by run r2'):
        node.fence.remove('r2')
    assert node.fence.state('r2')['collection'] is True
    assert node.fence.remove('r1') is True and node.fence.remove('r1') is False
    with open(node.fence_file, 'w') as handle:
        handle.write('upgrade by ops team\n')
    with pytest.raises(lh.LookerNodeError, match='someone else'):
        node.fence.create('r1')
    assert node.fence.remove('r1', force=True) is True
    assert not os.path.exists(node.fence_file)


def test_fence_op_check_mode(fake):
    node = fake.node()
    res = lops.fence_op(node, 'present', 'r1', check_mode=True)
    assert res['changed'] and not os.path.exists(node.fence_file)
    assert lops.fence_op(node, 'present', 'r1')['changed']
    assert not lops.fence_op(node, 'present', 'r1')['changed']
    assert lops.fence_op(node, 'absent', 'r1', check_mode=True)['changed'] and os.path.exists(node.fence_file)
    with pytest.raises(lh.OperationFailed, match='left in place'):
        lops.fence_op(node, 'absent', 'other')
    assert lops.fence_op(node, 'absent', 'r1')['changed'] and not os.path.exists(node.fence_file)


# -- log -------------------------------------------------------------------------------------------

def test_log_lines_since_rotated_and_gz(fake):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

    def day(days):
        return (now - datetime.timedelta(days=days)).strftime('%Y%m%d')
    old = now - datetime.timedelta(days=9)
    with gzip.open(os.path.join(fake.home, 'log', 'looker.log.%s.gz' % day(1)), 'wt') as handle:
        handle.write('%s [INFO|1|crypt] :: yesterday GCM\n  continuation of yesterday\n' % ts(now - datetime.timedelta(days=1)))
    fake.log('%s [INFO|1|crypt] :: ancient GCM' % ts(old), name='looker.log.%s' % day(9))
    fake.log('%s [INFO|1|crypt] :: two hours ago' % ts(now - datetime.timedelta(hours=2)),
             '%s [INFO|1|crypt] :: recent GCM' % ts(now - datetime.timedelta(minutes=1)),
             '\tat Foo.bar(Foo.java:1)', name='looker.log.%s' % day(0))
    fake.log('%s [INFO|1|crypt] :: now GCM' % ts(now))
    lines, scanned = fake.node().log.log_lines_since(now - datetime.timedelta(days=2))
    assert lines == ['%s [INFO|1|crypt] :: yesterday GCM' % ts(now - datetime.timedelta(days=1)), '  continuation of yesterday',
                     '%s [INFO|1|crypt] :: two hours ago' % ts(now - datetime.timedelta(hours=2)),
                     '%s [INFO|1|crypt] :: recent GCM' % ts(now - datetime.timedelta(minutes=1)), '\tat Foo.bar(Foo.java:1)',
                     '%s [INFO|1|crypt] :: now GCM' % ts(now)]
    names = [os.path.basename(s['path']) for s in scanned]
    assert names == ['looker.log.%s.gz' % day(1), 'looker.log.%s' % day(0), 'looker.log']
    res = lops.log_evidence(fake.node(), (now - datetime.timedelta(minutes=5)).strftime('%Y-%m-%d %H:%M:%S'))
    assert res['count'] == 2
    with pytest.raises(lh.OperationFailed, match='no log line matching'):
        lops.log_evidence(fake.node(), (now + datetime.timedelta(minutes=5)).isoformat())
    assert lops.log_evidence(fake.node(), now.isoformat(), pattern='nomatch', required=False)['count'] == 0
    with pytest.raises(lh.OperationFailed, match='not a valid regular expression'):
        lops.log_evidence(fake.node(), now.isoformat(), pattern='(')


def test_lines_after_across_rotation(fake):
    node = fake.node()
    fake.log('before 1')
    pos = node.log.log_position()
    fake.log('during 1')
    os.rename(node.log_file, node.log_file + '.20260101')
    fake.log('during 2')
    assert node.log.lines_after(pos) == ['during 1', 'during 2']
    pos = node.log.log_position()
    assert node.log.lines_after(pos) == []
    fake.log('during 3')
    assert node.log.lines_after(pos) == ['during 3']


def test_lines_after_rotated_and_gzipped(fake):
    node = fake.node()
    fake.log('before')
    pos = node.log.log_position()
    fake.log('during 1')
    with open(node.log_file, 'rb') as src, gzip.open(node.log_file + '.20260102.gz', 'wb') as dst:
        dst.write(src.read())
    os.unlink(node.log_file)
    fake.log('during 2')
    assert node.log.lines_after(pos) == ['during 1', 'during 2']


def test_lines_after_no_log_at_start(fake):
    node = fake.node()
    pos = node.log.log_position()
    assert pos['inode'] is None
    fake.log('first')
    assert node.log.lines_after(pos) == ['first']


# -- supervisors, marker ---------------------------------------------------------------------------

def test_supervisors(fake, tmp_path):
    root = tmp_path / 'root'
    (root / 'etc/systemd/system').mkdir(parents=True)
    (root / 'etc/systemd/system/looker.service').write_text('[Service]\nUser=looker\n')
    (root / 'etc/init.d').mkdir(parents=True)
    (root / 'etc/init.d/looker').write_text('#!/bin/sh\n')
    (root / 'etc/monit/conf.d').mkdir(parents=True)
    (root / 'etc/monit/conf.d/looker').write_text('check process looker with pidfile /home/looker/looker/.tmp/looker.pid\n')
    (root / 'etc/monit/conf.d/other').write_text('check process nginx with pidfile /run/nginx.pid\n')
    found = fake.node(supervisor_root=str(root)).supervisors()
    assert [(f['kind'], os.path.relpath(f['path'], str(root))) for f in found] == [
        ('systemd', 'etc/systemd/system/looker.service'), ('sysv', 'etc/init.d/looker'), ('monit', 'etc/monit/conf.d/looker')]
    assert fake.node(supervisor_root=str(tmp_path / 'empty')).supervisors() == []


def test_node_info(fake):
    with open(os.path.join(fake.home, '.lookerops-encryption.json'), 'w') as handle:
        json.dump({'scheme': 'AES-GCM-256', 'kcv': 'kcv1:00', 'run_id': 'r0'}, handle)
    fake.node().fence.create('r1')
    info = lops.node_info(fake.node(), run_id='r1')
    assert info['release'] == '24.0.12' and info['jar_present'] and info['dependencies_jar_present']
    assert info['startup_script_present'] and info['pid'] is None and info['pid_alive'] is False
    assert info['alive']['state'] == 'refused' and info['fence']['ours'] is True
    assert info['marker']['kcv'] == 'kcv1:00' and info['key']['mode'] == 'file'
    assert info['creds_file'] == fake.home + '/looker-db.yml' and info['port'] == fake.port


# -- stop / start ----------------------------------------------------------------------------------

def test_stop_control_and_start(fake):
    node = fake.node()
    res = lops.start_node(node, timeout=30, poll_interval=0.05)
    assert res['changed'] and res['started'] and res['pid'] == fake.pid()
    assert lops.start_node(fake.node(), timeout=30)['changed'] is False
    pid = fake.pid()
    res = lops.stop_node(fake.node(), run_id='r1', check_mode=True)
    assert res['changed'] and res['was_running'] and res['method'] == 'control'
    assert lproc.pid_alive(pid) and not os.path.exists(node.fence_file)
    res = lops.stop_node(fake.node(), run_id='r1', stop_timeout=30, poll_interval=0.05)
    assert res['changed'] and res['fenced'] and res['method'] == 'control' and res['control_call']['ok']
    assert res['evidence']['alive'] == 'refused' and res['evidence']['pid_alive'] is False
    assert not lproc.pid_alive(pid)
    res = lops.stop_node(fake.node(), run_id='r1')
    assert res['changed'] is False and res['was_running'] is False
    with pytest.raises(lh.OperationFailed, match='refuses to start'):
        lops.start_node(fake.node(), run_id='r1', timeout=5)
    assert lops.start_node(fake.node(), run_id='r1', unfence=True, check_mode=True)['changed']
    assert os.path.exists(node.fence_file)
    res = lops.start_node(fake.node(), run_id='r1', unfence=True, timeout=30, poll_interval=0.05)
    assert res['unfenced'] and res['changed'] and not os.path.exists(node.fence_file)


def test_stop_script_fallback_without_token(fake):
    pid = fake.start_jvm()
    os.unlink(os.path.join(fake.home, '.status_server_token'))
    res = lops.stop_node(fake.node(), run_id='r1', stop_timeout=30, poll_interval=0.05)
    assert res['method'] == 'script' and 'missing' in res['method_reason']
    assert not lproc.pid_alive(pid)
    assert ['-jar', 'looker.jar', 'stop'] == fake.calls()[-1]['argv'][:3]


def test_stop_refuses_running_task(fake):
    pid = fake.start_jvm()
    task = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)', '-jar', 'looker.jar', 'migrate_encryption'],
                            cwd=fake.home)
    try:
        assert wait_for(lambda: any(t['pid'] == task.pid for t in lproc.running_looker_tasks()))
        with pytest.raises(lh.OperationFailed, match='pid %d .migrate_encryption' % task.pid) as info:
            lops.stop_node(fake.node(), run_id='r1')
        assert not os.path.exists(fake.node().fence_file)
        assert info.value.result['running_tasks'][0]['pid'] == task.pid
        assert lproc.pid_alive(pid) and task.poll() is None
    finally:
        task.kill()
        task.wait()


def test_stop_timeout_never_kills(fake):
    fake.configure(ignore_stop=True)
    pid = fake.start_jvm()
    with pytest.raises(lh.OperationFailed, match='did not stop within 1s') as info:
        lops.stop_node(fake.node(), run_id='r1', stop_timeout=1, poll_interval=0.05)
    assert info.value.result['evidence']['pid_alive'] is True and lproc.pid_alive(pid)
    assert fake.node().fence.state('r1')['ours']


def test_stop_foreign_fence(fake):
    fake.start_jvm()
    with open(fake.node().fence_file, 'w') as handle:
        handle.write('someone\n')
    with pytest.raises(lh.OperationFailed, match='someone else'):
        lops.stop_node(fake.node(), run_id='r1')
    assert fake.node().probe_alive()['state'] == 'up'


@pytest.mark.parametrize('message', ['Missing backing keystore', 'Permission for backing key file must be 0400, but is 0644'])
def test_start_cannot_start(fake, message):
    fake.configure(start='cannot', message=message)
    t0 = time.monotonic()
    with pytest.raises(lh.OperationFailed, match='can not start because: ' + message.split(',', maxsplit=1)[0]) as info:
        lops.start_node(fake.node(), timeout=60, poll_interval=0.05)
    assert time.monotonic() - t0 < 20
    ev = info.value.result['evidence']
    assert ev['alive'] == 'refused' and any(message in line for line in ev['log_lines'])


def test_start_dies_without_reason(fake):
    fake.configure(start='die')
    with pytest.raises(lh.OperationFailed, match='no Looker process has been alive for 0s'):
        lops.start_node(fake.node(), timeout=60, startup_grace=0, poll_interval=0.05)


def test_start_timeout(fake):
    fake.configure(start_delay=30)
    with pytest.raises(lh.OperationFailed, match='did not answer /alive within 1s') as info:
        lops.start_node(fake.node(), timeout=1, poll_interval=0.05)
    assert info.value.result['evidence']['pid_alive'] is True


# -- migrate_encryption ----------------------------------------------------------------------------

def _migrate(fake, **kwargs):
    kwargs.setdefault('retry_delay', 0.01)
    return lmig.migrate_encryption(fake.node(), **kwargs)


def test_migrate_success_and_already(fake):
    res = _migrate(fake)
    assert res['changed'] and 'Starting migration from AES-128-CBC Legacy to AES-GCM-256' in res['migration_started']
    assert res['command'] == [fake.java, '-jar', 'looker.jar', 'migrate_encryption', '-d', fake.home + '/looker-db.yml']
    assert len(res['log_lines']) == 2 and res['already_migrated'] is False and res['attempts'][0]['rc'] == 0
    call = fake.calls()[-1]
    assert call['key_file'] == fake.key_file and call['cwd'] == fake.home
    fake.configure(migrate='already')
    res = _migrate(fake, creds_file='none', extra_args=['--verbose'])
    assert res['changed'] is False and res['already_migrated'] is True
    assert fake.calls()[-1]['argv'] == ['-jar', 'looker.jar', 'migrate_encryption', '--verbose']


def test_migrate_check_mode(fake):
    res = _migrate(fake, check_mode=True)
    assert res['changed'] and fake.calls() == []


def test_migrate_retries_live_nodes(fake):
    fake.configure(migrate='live', live_failures=2)
    res = _migrate(fake, retries=3)
    assert res['changed'] and [a['live_nodes'] for a in res['attempts']] == [True, True, False]
    fake.configure(migrate='live', live_failures=5)
    with pytest.raises(lh.OperationFailed, match='other live nodes.*after 3 attempt') as info:
        _migrate(fake, retries=2)
    assert len(info.value.result['attempts']) == 3
    assert info.value.result['error'] == lmig.LIVE_NODES_ERROR == 'live_nodes'


@pytest.mark.parametrize('message, ident, remedy', [
    ('Could not find task "migrate_encryption"', 'task_not_found', '6.4'),
    ('Looker can not start because: Missing backing keystore', 'missing_keystore', 'LKR_MASTER_KEY_FILE'),
    ('Looker can not start because: Size of the Master Key is invalid it must be 32 bytes however is 31', 'key_size', '32'),
    ('Looker can not start because: Permission for backing key file must be 0400, but is 644', 'key_file_mode', 'chmod 0400'),
])
def test_migrate_documented_errors(fake, message, ident, remedy):
    fake.configure(migrate='error', message=message)
    with pytest.raises(lh.OperationFailed) as info:
        _migrate(fake)
    assert info.value.result['error'] == ident and remedy in info.value.msg and message in info.value.msg


def test_migrate_documented_error_even_with_rc0(fake):
    fake.configure(migrate='error', message='Missing backing keystore', rc=0)
    with pytest.raises(lh.OperationFailed, match='Missing backing keystore'):
        _migrate(fake)


def test_migrate_unknown_error(fake):
    fake.configure(migrate='error', message='java.lang.OutOfMemoryError', rc=7)
    with pytest.raises(lh.OperationFailed, match='rc 7') as info:
        _migrate(fake)
    assert 'java.lang.OutOfMemoryError' in info.value.result['stderr_tail']
    assert any('OutOfMemoryError' in line for line in info.value.result['log_lines'])


def test_migrate_rotation_safe(fake):
    fake.log('old line')
    fake.configure(migrate='rotate')
    res = _migrate(fake)
    assert res['changed']
    assert [line.split(' :: ')[1] for line in res['log_lines']] == [
        'before rotation', 'Starting migration from AES-128-CBC Legacy to AES-GCM-256', 'after rotation']


def test_migrate_timeout_leaves_task(fake):
    fake.configure(migrate='hang')
    with pytest.raises(lh.OperationFailed, match='NOT stopped') as info:
        _migrate(fake, timeout=1)
    pid = info.value.result['pid']
    try:
        assert lproc.pid_alive(pid)
        # The task's output has no name anywhere (a killed module leaves no file): only the task's own descriptors.
        assert 'output_dir' not in info.value.result and '/proc/%d/fd/1' % pid in info.value.msg
        for fd in (1, 2):
            assert os.readlink('/proc/%d/fd/%d' % (pid, fd)).endswith('(deleted)')
        assert [t['pid'] for t in lproc.running_looker_tasks() if t['pid'] == pid] == [pid]
        with pytest.raises(lh.OperationFailed, match='already running'):
            _migrate(fake)
    finally:
        with open(fake.cfg + '.release', 'w'):
            pass
        assert wait_for(lambda: not lproc.pid_alive(pid), 10)


def test_migrate_refusals(fake):
    fake.start_jvm()
    with pytest.raises(lh.OperationFailed, match='Looker is running on this node'):
        _migrate(fake)
    fake.cleanup()
    fake.write_cfg('unset LKR_MASTER_KEY_FILE\n')
    with pytest.raises(lh.OperationFailed, match='no key settings'):
        _migrate(fake)
    fake.write_cfg('LKR_MASTER_KEY_FILE=/x\nunset LKR_MASTER_KEY_FILE\nLKR_MASTER_KEY_FILE=/x\n')
    with pytest.raises(lh.OperationFailed, match='without exporting'):
        _migrate(fake)
    fake.write_cfg()
    with pytest.raises(lh.OperationFailed, match='does not exist'):
        _migrate(fake, creds_file='/nonexistent/db.yml')
    assert fake.calls() == [c for c in fake.calls() if c['argv'][2] != 'migrate_encryption']
