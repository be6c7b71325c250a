# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end on the bed: lookerops.encryption.migrate / rollback / new_install run by the real
ansible-playbook over SSH against simulated Looker nodes in network namespaces."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import threading
import time

import pytest

from bed.util import wait_for
from e2e.report_page import parse_report
from e2e.runner import Controller, run_playbook

# The API key the stand-in's API takes (its login); the runs that prove through Looker's API get it as the SDK's variables.
API_CLIENT = {'api_client_id': 'lookerops-e2e', 'api_client_secret': 'e2e-api-secret-' + secrets.token_hex(12)}
CLUSTER = {'name': 'e2e', 'nodes': 3, 'cluster': True,
           'standin': dict(API_CLIENT, start_seconds=0.3, stop_seconds=0.3, migrate_seconds=1, live_window_seconds=4)}
SINGLE = {'name': 'e2e-single', 'nodes': 1, 'cluster': False,
          'standin': {'start_seconds': 0.3, 'stop_seconds': 0.3, 'migrate_seconds': 0.5, 'live_window_seconds': 2}}
KEY_PATH = '/home/looker/.lookerops/cmk.key'
PROGRESS_INTERVAL = 0.5
LONG_LIVE_WINDOW = 10
LOG_TS = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \+0000 ')


def fresh(bed_factory, spec):
    """A freshly built bed (legacy data, every node running)."""
    old = bed_factory.beds.pop(spec['name'], None)
    if old is not None:
        old.down()
        if bed_factory.current is old:
            bed_factory.current = None
    kwargs = dict(spec)
    name = kwargs.pop('name')
    return bed_factory(name, **kwargs)


def api_env(bed):
    """Looker's API of the first node, given to the collection the SDK's own way (its LOOKERSDK_* variables); the stand-in's
    self-signed certificate, as Looker's own, needs verification off."""
    return {'LOOKERSDK_BASE_URL': 'https://%s:19999' % bed.nodes[0].address, 'LOOKERSDK_CLIENT_ID': API_CLIENT['api_client_id'],
            'LOOKERSDK_CLIENT_SECRET': API_CLIENT['api_client_secret'], 'LOOKERSDK_VERIFY_SSL': 'false'}


def api_proof_counts(stdout):
    """(tested, pass before and after) from the summary's line, or None."""
    match = re.search(r'Looker API proof: connections: (\d+) tested, (\d+) pass before and after', stdout)
    return (int(match.group(1)), int(match.group(2))) if match else None


def controller_for(bed, tmp_path):
    return Controller(str(tmp_path / 'controller'))


def all_alive(bed):
    return {n.name: n.looker('status', timeout=60).returncode == 0 for n in bed.nodes}


def fences(bed):
    return {n.name: os.path.exists(os.path.join(n.home, '.deploying')) for n in bed.nodes}


def recap_changed(stdout):
    return {m.group(1): int(m.group(2)) for m in re.finditer(r'^(\S+)\s+: ok=\d+\s+changed=(\d+)', stdout, re.M)}


def log_entries(node, since):
    """(timestamp, line) of the node's looker.log lines at or after ``since`` ('YYYY-MM-DD HH:MM:SS')."""
    entries = []
    log_dir = os.path.join(node.home, 'log')
    for name in sorted(os.listdir(log_dir)):
        if not name.startswith('looker.log') or name.endswith('.gz'):
            continue
        with open(os.path.join(log_dir, name), encoding='utf-8', errors='replace') as handle:
            for line in handle:
                match = LOG_TS.match(line)
                if match and match.group(1) >= since:
                    entries.append((match.group(1), line.rstrip('\n')))
    return sorted(entries)


def pid_running(pid):
    """Whether the process ``pid`` runs (a zombie does not)."""
    try:
        with open('/proc/%d/stat' % pid, encoding='utf-8') as handle:
            return handle.read().rsplit(')', 1)[-1].split()[0] not in ('Z', 'X')
    except OSError:
        return False


def assert_untouched(bed, before):
    """Nothing was changed: every node still running, not fenced, data as before."""
    assert all(all_alive(bed).values()), all_alive(bed)
    assert not any(fences(bed).values()), fences(bed)
    assert bed.inspect() == before


class ArgvWatcher(threading.Thread):
    """Reads every process's argv while a run is under way, to prove the key is never in one."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop_event = threading.Event()
        self.seen = set()
        self.samples = 0

    def run(self):
        while not self.stop_event.is_set():
            for entry in os.listdir('/proc'):
                if entry.isdigit():
                    try:
                        with open('/proc/%s/cmdline' % entry, 'rb') as handle:
                            self.seen.add(handle.read())
                    except OSError:
                        pass
            self.samples += 1
            self.stop_event.wait(0.02)

    def stop(self):
        self.stop_event.set()
        self.join(10)


def scan_tree(top, needles, skip=()):
    """Files under top whose bytes contain any needle (symlinks and skipped paths ignored)."""
    hits = []
    for dirpath, _dirs, files in os.walk(top):
        for name in files:
            path = os.path.join(dirpath, name)
            if path in skip or os.path.islink(path):
                continue
            try:
                with open(path, 'rb') as handle:
                    data = handle.read()
            except OSError:
                continue
            if any(n in data for n in needles):
                hits.append(path)
    return hits


# --- preflight: bad input is caught before any node is touched -------------------------------

def _jar(node, release):
    from standin.install import build_jar  # pylint: disable=import-outside-toplevel
    build_jar(os.path.join(node.home, 'looker.jar'), release)


def _set_host_id(node, host_id):
    cfg = os.path.join(node.home, 'lookerstart.cfg')
    with open(cfg, encoding='utf-8') as handle:
        text = handle.read()
    with open(cfg, 'w', encoding='utf-8') as handle:
        handle.write(re.sub(r'-H \S+', '-H ' + host_id, text))


def _other_key_file(node, mode):
    node.run(['sh', '-c', 'mkdir -p -m 700 /home/looker/.lookerops && umask 077 && head -c 32 /dev/urandom | base64 > %s '
              '&& chmod %s %s' % (KEY_PATH, mode, KEY_PATH)], check=True)


def _cfg_line(node, add):
    cfg = os.path.join(node.home, 'lookerstart.cfg')
    with open(cfg, encoding='utf-8') as handle:
        lines = [ln for ln in handle.read().splitlines() if 'LKR_MASTER_KEY_FILE=/etc/other' not in ln]
    if add:
        lines.append('export LKR_MASTER_KEY_FILE=/etc/other/looker.key')
    with open(cfg, 'w', encoding='utf-8') as handle:
        handle.write('\n'.join(lines) + '\n')


# A key set outside lookerstart.cfg: the running Looker was started with one in its environment.
HIDDEN_KEY = base64.b64encode(bytes(range(7, 39))).decode()
HIDDEN_KCV = 'kcv1:' + hmac.new(base64.b64decode(HIDDEN_KEY), b'lookerops.encryption key check value v1',
                                hashlib.sha256).hexdigest()[:16]


def _restart_with_env(bed, index, env):
    node = bed.nodes[index]
    bed.set_watchdog(node.name, False)
    node.looker('stop', timeout=60, check=True)
    node.looker('start', timeout=120, env=env, check=True)
    deadline = time.monotonic() + 60
    while not node.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert node.alive()
    if not env:
        bed.set_watchdog(node.name, True)


PREFLIGHT_CASES = {
    'a key only the running Looker has (outside lookerstart.cfg)': dict(
        setup=lambda bed: _restart_with_env(bed, 1, {'LKR_MASTER_KEY_ENV': HIDDEN_KEY}),
        undo=lambda bed: _restart_with_env(bed, 1, None),
        expect=['looker2', 'the running Looker (pid', 'gives Looker %s, which lookerstart.cfg does not show' % HIDDEN_KCV,
                'lookerstart.cfg: no key'],
        forbid=[HIDDEN_KEY]),
    'a different key already on a node (mode 0644)': dict(
        setup=lambda bed: _other_key_file(bed.nodes[1], '0644'),
        undo=lambda bed: bed.nodes[1].run(['rm', '-rf', '/home/looker/.lookerops'], check=True),
        expect=['looker2', KEY_PATH, 'rekey']),
    'key settings outside the managed block': dict(
        setup=lambda bed: _cfg_line(bed.nodes[0], True), undo=lambda bed: _cfg_line(bed.nodes[0], False),
        expect=['looker1', 'outside the managed block', 'LKR_MASTER_KEY_FILE']),
    'key of the wrong size': dict(
        extra={'lookerops_cmk_key': base64.b64encode(b'x' * 16).decode()}, expect=['decoded length 16 bytes, must be 32']),
    'key that is not base64': dict(
        extra={'lookerops_cmk_key': 'not*base64*at*all*' * 3}, expect=['base64']),
    'no escrow and no key': dict(
        extra={'lookerops_cmk_escrow': 'none', 'lookerops_cmk_escrow_waiver': 'I have escrowed the CMK myself'},
        expect=['key']),
    'escrow opt-out without the waiver': dict(
        extra={'lookerops_cmk_escrow': 'none', 'lookerops_cmk_key': base64.b64encode(b'k' * 32).decode()},
        expect=['I have escrowed the CMK myself']),
    'release before 6.4': dict(
        setup=lambda bed: _jar(bed.nodes[1], '6.2.0'), undo=lambda bed: _jar(bed.nodes[1], '23.0.0'),
        expect=['looker2', 'Could not find task "migrate_encryption"', '6.4']),
    'unreachable node': dict(
        extra={'lookerops_reach_timeout': 10},
        setup=lambda bed: bed.cut_link(3), undo=lambda bed: bed.restore_link(3), expect=['looker3', 'unreachable'],
        check_untouched=False),
    'misspelt variable': dict(extra={'lookerops_cmk_delivry': 'env'}, expect=['lookerops_cmk_delivry']),
    'variable of the wrong type': dict(extra={'lookerops_stop_timeout': 'soon'}, expect=['lookerops_stop_timeout']),
    'two nodes with the same -H': dict(
        setup=lambda bed: _set_host_id(bed.nodes[1], bed.nodes[0].address),
        undo=lambda bed: _set_host_id(bed.nodes[1], bed.nodes[1].address), expect=['-H', 'looker1', 'looker2']),
    'backup filesystem full': dict(
        setup=lambda bed: bed.fill_backup_fs(2), undo=lambda bed: bed.unfill_backup_fs(2),
        expect=['looker2', 'not enough free space']),
    'someone else is deploying': dict(
        setup=lambda bed: bed.nodes[2].run(['sh', '-c', 'echo other-tool > .deploying'], cwd='/home/looker/looker', check=True),
        undo=lambda bed: bed.nodes[2].run(['rm', '-f', '.deploying'], cwd='/home/looker/looker', check=True),
        expect=['looker3', '.deploying', 'other-tool'], check_untouched=False),
}


@pytest.fixture(scope='module')
def legacy_cluster(bed_factory):
    bed = fresh(bed_factory, CLUSTER)
    return bed, bed.inspect()


# The gate proves the wiring with two refusals that guard the key; the long tier runs every case (each refusal's
# decision is also a unit test of the planner).
GATE_REFUSALS = ('a key only the running Looker has (outside lookerstart.cfg)', 'a different key already on a node (mode 0644)')


@pytest.mark.parametrize('case', [pytest.param(c, marks=() if c in GATE_REFUSALS else pytest.mark.full)
                                  for c in sorted(PREFLIGHT_CASES)])
def test_preflight_refuses_before_touching_any_node(legacy_cluster, tmp_path, case):
    bed, before = legacy_cluster
    spec = PREFLIGHT_CASES[case]
    if spec.get('setup'):
        spec['setup'](bed)
    try:
        proc = run_playbook(bed, 'migrate', controller_for(bed, tmp_path), extra_vars=spec.get('extra'))
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0, out[-3000:]
        for fragment in spec['expect']:
            assert fragment in out, (fragment, out[-4000:])
        for fragment in spec.get('forbid', []):
            assert fragment not in out
        assert 'changed: [' not in proc.stdout, 'a task changed something: ' + proc.stdout[-4000:]
        assert not os.path.exists(os.path.join(str(tmp_path), 'controller', 'escrow', 'cmk.vault'))
    finally:
        if spec.get('undo'):
            spec['undo'](bed)
    if spec.get('check_untouched', True):
        assert_untouched(bed, before)
    else:
        assert all(all_alive(bed).values())
        assert bed.inspect() == before


def test_no_node_group_is_explained(legacy_cluster, tmp_path):
    bed, before = legacy_cluster
    inventory = tmp_path / 'inventory.yml'
    with open(bed.inventory, encoding='utf-8') as handle:
        inventory.write_text(handle.read().replace('looker_nodes', 'lookers'), encoding='utf-8')
    proc = run_playbook(bed, 'migrate', controller_for(bed, tmp_path), inventory=str(inventory))
    assert proc.returncode != 0
    assert "no hosts in group 'looker_nodes'" in proc.stdout, proc.stdout[-3000:]
    assert 'lookerops_nodes' in proc.stdout
    assert_untouched(bed, before)


def test_check_mode_changes_nothing(legacy_cluster, tmp_path):
    bed, before = legacy_cluster
    controller = controller_for(bed, tmp_path)
    proc = run_playbook(bed, 'migrate', controller, check=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert_untouched(bed, before)
    assert not os.path.exists(controller.escrow_path)
    for node in bed.nodes:
        assert not os.path.exists(os.path.join(node.user_home, '.lookerops', 'cmk.key'))
        with open(os.path.join(node.home, 'lookerstart.cfg'), encoding='utf-8') as handle:
            assert 'lookerops.encryption' not in handle.read()
    # The forecast before the change: every part, with the times the bed states for its stand-in and the backups measured.
    # Each stop and start part names its source in brackets: the nodes' own measured restarts, or the stated times.
    match = re.search(r'downtime forecast: (\d+) s = stop (\d+) \([^)]*\) \+ max\(backup (\d+), live window (\d+)\) \+ '
                      r'migrate_encryption (\d+) \+ start of the first node (\d+) \([^)]*\) \+ start of the others (\d+) \([^)]*\)',
                      proc.stdout)
    assert match, proc.stdout[-4000:]
    total, stop, backup, window, task, first, rest = (int(x) for x in match.groups())
    assert window == round(bed.looker_live_window()) and 'backup not measured' not in proc.stdout
    assert abs(total - (stop + max(backup, window) + task + first + rest)) <= 3  # each part rounded on its own
    # A check run writes its report too, saying nothing was changed.
    with open(report_of(bed, proc.stdout)[1], encoding='utf-8') as handle:
        report = handle.read()
    assert re.search(r'^outcome: +check mode: nothing was changed$', report, re.M)
    assert re.search(r'^downtime forecast: +%d s = stop' % total, report, re.M)
    # ... and its change plan, from the facts preflight checked on this cluster.
    for words in ('change plan, point of no return:', 'when migrate_encryption starts on %s' % bed.nodes[0].name,
                  'lookerops.encryption.rollback -e lookerops_run_id=', 'change plan, pre-change checklist (checked):'):
        assert words in report, words


# --- the migration, its re-run, and the rollback -----------------------------------------------

@pytest.fixture(scope='module')
def migrated(bed_factory, tmp_path_factory):
    """A fresh cluster migrated once with -vvvv while every process's argv is watched, with fewer forks (2) than nodes (3):
    the stop and the start of the other nodes take the path of a cluster larger than forks (launched at once, then waited for)."""
    bed = fresh(bed_factory, CLUSTER)
    before = bed.inspect()
    controller = Controller(str(tmp_path_factory.mktemp('migrated') / 'controller'))
    restarts_before = {n.name: bed.watchdog_restarts(n.name) for n in bed.nodes}
    watcher = ArgvWatcher()
    watcher.start()
    now = time.time()
    started = time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(now)) + '.%03d' % int((now % 1) * 1000)
    try:
        # A live window longer than the backups take, and a progress line every half second: the wait before
        # migrate_encryption shows as it happens. No throughput probe: backups the forecast cannot time run async, as
        # those it expects to outlast a line do (the bed's small homes would otherwise run as plain tasks).
        proc = run_playbook(bed, 'migrate', controller, verbosity=4, env_extra=dict(api_env(bed), ANSIBLE_FORKS='2'),
                            extra_vars={'lookerops_progress_interval': PROGRESS_INTERVAL,
                                        'lookerops_live_window_seconds': LONG_LIVE_WINDOW,
                                        'lookerops_forecast_probe_seconds': 0})
    finally:
        watcher.stop()
    return {'bed': bed, 'before': before, 'controller': controller, 'proc': proc, 'watcher': watcher,
            'started': started, 'restarts_before': restarts_before}


def test_migrate_moves_every_record_to_gcm_and_loses_nothing(migrated):
    proc, bed = migrated['proc'], migrated['bed']
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    after = bed.inspect()
    assert after['legacy'] == 0
    assert after['gcm'] == migrated['before']['total'] == after['total']
    assert after['digest'] == migrated['before']['digest']
    assert all(all_alive(bed).values())
    assert not any(fences(bed).values())
    assert 'Starting migration from AES-128-CBC Legacy to AES-GCM-256' in proc.stdout
    assert re.search(r'downtime window: [\d.]+ s \(first node stopped to last node answering /alive\); forecast \d+ s, [+-]\d+ %',
                     proc.stdout), 'the summary must show the window beside its forecast'


def test_looker_itself_proves_every_connection_before_and_after(migrated):
    """With an API key, Looker's own test of every database connection ran before the stop and after the start (through
    looker-sdk), every connection passed both, the report lists each, and the API secret is nowhere."""
    proc, bed = migrated['proc'], migrated['bed']
    counts = api_proof_counts(proc.stdout)
    assert counts and counts[0] > 0 and counts[0] == counts[1], proc.stdout[-4000:]
    assert "API proof | Test every database connection through Looker's API (before)" in proc.stdout
    assert "API proof | Test every database connection through Looker's API (after)" in proc.stdout
    with open(report_of(bed, proc.stdout)[1], encoding='utf-8') as handle:
        report = handle.read()
    assert len(re.findall(r'^  conn-\d+: pass before, pass after$', report, re.M)) == counts[0], report
    secret = API_CLIENT['api_client_secret'].encode()
    assert secret not in (proc.stdout + proc.stderr).encode(), 'the API secret in ansible-playbook -vvvv output'
    # The check an operator can run at any time (lookerops.encryption.api_check) says the same, and changes nothing.
    check = run_playbook(bed, 'api_check', migrated['controller'], env_extra=api_env(bed))
    assert check.returncode == 0, check.stdout[-4000:]
    assert len(re.findall(r'"conn-\d+: pass"', check.stdout)) == counts[0] and 'FAIL' not in check.stdout
    assert secret not in (check.stdout + check.stderr).encode()
    assert not any(secret in argv for argv in migrated['watcher'].seen), 'the API secret in a process argv'
    assert scan_tree(migrated['controller'].workdir, [secret]) == [] and scan_tree(bed.report_dir, [secret]) == []


def test_more_nodes_than_forks_stop_and_start_in_one_round(migrated):
    """3 nodes, 2 forks: every node's stop was launched at once and then waited for; every other node's start was
    launched before the migration (the start gate) and waited for after the first node's, and none was started from
    the controller."""
    out, names = migrated['proc'].stdout, [n.name for n in migrated['bed'].nodes]
    for task, hosts in (('Stop | Wait for the stops launched at once', names),
                        ("Start | Launch the other nodes' starts, each waiting for the first node's /alive", names[1:]),
                        ('Start | Wait for the other nodes, each started as soon as the first node answered', names[1:]),
                        ('Start | Start the other nodes and wait for /alive', []),
                        ('Start | Wait for the starts launched at once', [])):
        assert task in out, 'no task %r in the output' % task
        section = out.split(task, 1)[1].split('\nTASK [', 1)[0]
        for host in hosts:
            assert re.search(r'^(ok|changed): \[%s\]' % re.escape(host), section, re.M), (task, host, section[-3000:])
        assert set(re.findall(r'^skipping: \[([^\]]+)\]', section, re.M)) == set(names) - set(hosts), section[-3000:]


def test_long_phases_show_their_progress_as_they_happen(migrated):
    """The wait for Looker's live window prints a line every lookerops_progress_interval while it runs, inside the
    migrate task and before its result, counting down; the home backups are launched on every node at once, the backend
    dump on the first node, each waited for by lk_job_wait, and their own result is the one the run reports; no progress
    file is left."""
    out, names = migrated['proc'].stdout, [n.name for n in migrated['bed'].nodes]
    section = out.split('Migrate | Run migrate_encryption once, on the first node]', 1)[1].split('\nTASK [', 1)[0]
    left = [int(n) for n in re.findall(r"^%s: migrate_encryption waits for Looker's live window after the stop: (\d+) s left"
                                       % re.escape(names[0]), section, re.M)]
    assert len(left) >= 2 and left == sorted(left, reverse=True) and left[0] <= LONG_LIVE_WINDOW, section[-3000:]
    assert section.index('s left') < section.index('changed: [%s' % names[0]), 'the lines came after the task ended'
    task = 'Backup | Wait for the home backups, with a line on their progress'
    # The backup phase's, not preflight's check (which runs the same tasks in check mode and waits for nothing).
    waited = out.rsplit('%s]' % task, 1)[1].split('\nTASK [', 1)[0]
    for host in names:
        assert re.search(r'^changed: \[%s\]' % re.escape(host), waited, re.M), (host, waited[-3000:])
        # The backup's own result, not the launch's, is what the run reports.
        assert re.search(r'%s: home backup /var/backups/lookerops/\S+/%s-looker-home\.tar\.gz \([^)]*sha256 [0-9a-f]{64}, '
                         r'verified True\)' % (re.escape(host), re.escape(host)), out), host
    dump = out.rsplit('Backup | Wait for the backend dump, with a line on its progress]', 1)[1].split('\nTASK [', 1)[0]
    assert re.search(r'^changed: \[%s\]' % re.escape(names[0]), dump, re.M), dump[-3000:]
    assert re.search(r'%s: backend dump /var/backups/lookerops/\S+/backend-looker\.sql\.gz \([^)]*sha256 [0-9a-f]{64}, '
                     r'verified True, ' % re.escape(names[0]), out)
    for node in migrated['bed'].nodes:
        left = node.run(['sh', '-c', 'ls -A /var/backups/lookerops/*/'], user='root', check=True).stdout.split()
        assert not [name for name in left if name.startswith('.progress-')], left


def report_of(bed, stdout):
    """The paths of the report a run said it wrote (html, txt), checked private."""
    match = re.search(r'report: (/\S+?)\.html \(and \.txt\)', stdout)
    assert match, 'the run did not say where its report is'
    stem = match.group(1)
    assert os.path.dirname(stem) == bed.report_dir
    assert os.stat(bed.report_dir).st_mode & 0o777 == 0o700
    for ext in ('html', 'txt'):
        assert os.stat('%s.%s' % (stem, ext)).st_mode & 0o777 == 0o600
    return stem + '.html', stem + '.txt'


def test_the_report_for_the_change_record(migrated):
    """A self-contained page: every node's stop, backup and start on one timeline, the migration on the first node, the
    proof from the log, the backups with their checksums, the key by its check value; nothing fetched from elsewhere."""
    bed, proc = migrated['bed'], migrated['proc']
    html_path, text_path = report_of(bed, proc.stdout)
    with open(html_path, encoding='utf-8') as handle:
        page = parse_report(handle.read())
    assert 'svg' in page.tags and page.references == [] and 'script' not in page.tags
    assert page.bars.count('stop') == page.bars.count('backup') == page.bars.count('start') == len(bed.nodes)
    assert page.bars.count('migrate') == 1
    text = ''.join(page.text)
    assert 'Starting migration from AES-128-CBC Legacy to AES-GCM-256' in text and 'completed' in text
    for node in bed.nodes:
        assert node.name in text
    with open(text_path, encoding='utf-8') as handle:
        plain = handle.read()
    kcv = re.search(r'key: (kcv1:[0-9a-f]+) \(', proc.stdout).group(1)  # as the summary names it
    assert kcv in plain and kcv in text
    assert len(re.findall(r'sha256 [0-9a-f]{64}', plain)) >= len(bed.nodes) + 1  # every home and the backend


def test_every_node_holds_the_same_key_file_0400(migrated):
    bed = migrated['bed']
    kcvs = set()
    for node in bed.nodes:
        path = os.path.join(node.user_home, '.lookerops', 'cmk.key')
        st = os.stat(path)
        assert oct(st.st_mode & 0o7777) == '0o400'
        assert st.st_uid == __import__('pwd').getpwnam('looker').pw_uid
        with open(os.path.join(node.home, '.lookerops-encryption.json'), encoding='utf-8') as handle:
            kcvs.add(json.load(handle)['kcv'])
        cfg = os.path.join(node.home, 'lookerstart.cfg')
        assert oct(os.stat(cfg).st_mode & 0o777) == '0o600'
        with open(cfg, encoding='utf-8') as handle:
            assert "export LKR_MASTER_KEY_FILE='%s'" % KEY_PATH in handle.read()
    assert len(kcvs) == 1 and next(iter(kcvs)).startswith('kcv1:')


def test_first_node_answers_before_the_others_start(migrated):
    bed = migrated['bed']
    first = [ts for ts, line in log_entries(bed.nodes[0], migrated['started']) if 'Looker started: listening' in line]
    assert first, 'looker1 did not start during the run'
    for node in bed.nodes[1:]:
        starts = [ts for ts, line in log_entries(node, migrated['started']) if 'Starting Looker' in line]
        assert starts, '%s did not start during the run' % node.name
        assert min(starts) >= first[-1], (node.name, min(starts), first[-1])


def test_the_nodes_stop_together_and_the_others_start_as_soon_as_the_first_answers(migrated):
    """The stop gate: the report says every node stopped at one instant set ahead from preflight's measured round. The
    start gate: preflight proved each other node reaches the first node's /alive, the report says so, each other node
    started itself after the first node answered (test_first_node_answers_before_the_others_start), its start's result
    says how long it waited at the gate, and no gate file is left on any node."""
    proc, bed = migrated['proc'], migrated['bed']
    with open(report_of(bed, proc.stdout)[1], encoding='utf-8') as handle:
        report = handle.read()
    assert re.search(r"^stop gate: +every node stopped at one instant, set [\d.]+ s ahead \(preflight's round to every node "
                     r"took [\d.]+ s\)$", report, re.M), report
    url = r'https?://%s:\d+/alive' % re.escape(bed.nodes[0].address)
    assert re.search(r"^start gate: +used: every other node reached the first node's /alive at %s in preflight" % url,
                     report, re.M), report
    section = proc.stdout.split('Start | Wait for the other nodes, each started as soon as the first node answered]', 1)[1]
    section = section.split('\nTASK [', 1)[0]
    gated = re.findall(r'^(?:ok|changed): \[([^\]]+)\] => \{\n(?:(?!^\}).)*?"gate_waited_seconds": [\d.]+', section, re.M | re.S)
    assert set(gated) == {n.name for n in bed.nodes[1:]}, section[-3000:]
    assert '"cancelled": null' in section
    for node in bed.nodes:
        assert not [name for name in os.listdir(node.home) if name.startswith('.lookerops-start-gate-')], node.name


def test_fence_held_against_the_watchdog(migrated):
    bed = migrated['bed']
    # The watchdog tried to restart every stopped node (so it was active) ...
    for node in bed.nodes:
        assert bed.watchdog_restarts(node.name) > migrated['restarts_before'][node.name], node.name
    # ... yet no node started between its stop and the collection's own start: the only
    # 'Starting Looker' lines of the run come after the migration finished.
    migration_done = [ts for ts, line in log_entries(bed.nodes[0], migrated['started'])
                      if 'AES-GCM-256 complete' in line or 'Migration from AES-128-CBC Legacy to AES-GCM-256' in line]
    assert migration_done
    for node in bed.nodes:
        starts = [ts for ts, line in log_entries(node, migrated['started']) if 'Starting Looker' in line]
        assert starts and min(starts) >= migration_done[-1], (node.name, starts, migration_done)


def test_backups_are_private_and_verified(migrated):
    bed = migrated['bed']
    for node in bed.nodes:
        res = node.run(['sh', '-c', 'ls -1 /var/backups/lookerops/*/'], user='root', check=True)
        names = res.stdout.split()
        assert '%s-looker-home.tar.gz' % node.name in names
        mode = node.run(['sh', '-c', 'stat -c %a /var/backups/lookerops/*/' + node.name + '-looker-home.tar.gz'],
                        user='root', check=True).stdout.strip()
        assert mode == '600'
        res = node.run(['sh', '-c', 'cd /var/backups/lookerops/*/ && sha256sum %s-looker-home.tar.gz && cat %s-looker-home.manifest.json'
                        % (node.name, node.name)], user='root', check=True)
        digest = res.stdout.split()[0]
        manifest = json.loads(res.stdout[res.stdout.index('{'):])
        assert manifest['sha256'] == digest
    res = bed.nodes[0].run(['sh', '-c', 'ls /var/backups/lookerops/*/backend-looker.sql.gz'], user='root', check=False)
    assert res.returncode == 0, 'no backend dump on the first node'


def test_the_key_never_leaks(migrated):
    bed, proc, controller = migrated['bed'], migrated['proc'], migrated['controller']
    with open(os.path.join(bed.nodes[0].user_home, '.lookerops', 'cmk.key'), 'rb') as handle:
        key_text = handle.read().strip()
    raw = base64.b64decode(key_text)
    needles = [key_text, raw, raw.hex().encode()]
    output = (proc.stdout + proc.stderr).encode()
    assert len(output) > 10000, 'the -vvvv run printed suspiciously little'
    assert not any(n in output for n in needles), 'key material in ansible-playbook -vvvv output'
    assert migrated['watcher'].samples > 10
    assert not any(n in argv for argv in migrated['watcher'].seen for n in needles), 'key material in a process argv'
    assert scan_tree(controller.workdir, needles) == []
    assert scan_tree(bed.report_dir, needles) == [], 'key material in a report'
    for node in bed.nodes:
        leaks = scan_tree(node.tmp_dir, needles) + scan_tree(node.root_dir, needles)
        leaks += scan_tree(node.user_home, needles, skip={os.path.join(node.user_home, '.lookerops', 'cmk.key')})
        assert leaks == [], leaks


def test_second_run_changes_nothing(migrated, tmp_path):
    bed = migrated['bed']
    proc = run_playbook(bed, 'migrate', migrated['controller'])
    assert proc.returncode == 0, proc.stdout[-4000:]
    changed = recap_changed(proc.stdout)
    assert changed and set(changed.values()) == {0}, changed
    assert 'already on AES-GCM-256' in proc.stdout
    assert all(all_alive(bed).values())
    # Without an API key (none given to this run) the proof through Looker's API is skipped, and the summary says so.
    assert 'Looker API proof: skipped (no API key given' in proc.stdout and api_proof_counts(proc.stdout) is None


@pytest.mark.full
def test_rollback_of_a_completed_run_is_refused_without_acknowledgement(migrated):
    bed = migrated['bed']
    with open(os.path.join(bed.nodes[0].home, '.lookerops-encryption.json'), encoding='utf-8') as handle:
        run_id = json.load(handle)['run_id']
    before = bed.inspect()
    proc = run_playbook(bed, 'rollback', migrated['controller'], extra_vars={'lookerops_run_id': run_id})
    assert proc.returncode != 0
    out = proc.stdout
    assert 'run %s completed at 20' % run_id in out, out[-5000:]
    assert 'Looker up since' in out and 'lookerops_rollback_discard_changes_since_run=true' in out
    assert 'no node was touched' in out
    assert bed.inspect() == before and all(all_alive(bed).values()) and not any(fences(bed).values())
    for node in bed.nodes:
        listing = node.run(['ls', '/var/backups/lookerops'], user='root', check=True).stdout.split()
        assert not [d for d in listing if d.startswith('pre-rollback-')], listing


def test_rollback_restores_the_legacy_data(migrated):
    bed = migrated['bed']
    with open(os.path.join(bed.nodes[0].home, '.lookerops-encryption.json'), encoding='utf-8') as handle:
        run_id = json.load(handle)['run_id']
    proc = run_playbook(bed, 'rollback', migrated['controller'],
                        extra_vars={'lookerops_run_id': run_id, 'lookerops_rollback_discard_changes_since_run': True})
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    # The homes and backend as they were before the restore, under their own run id, named in the summary.
    match = re.search(r'pre-rollback backup: run (pre-rollback-[0-9TZ]+-[0-9a-f]+) ', proc.stdout)
    assert match, proc.stdout[-4000:]
    migrated['pre_rollback'] = match.group(1)
    for node in bed.nodes:
        listing = node.run(['ls', '/var/backups/lookerops/' + match.group(1)], user='root', check=True).stdout.split()
        assert '%s-looker-home.tar.gz' % node.name in listing and 'pre-rollback.json' in listing, listing
    after = bed.inspect()
    assert after['legacy'] == migrated['before']['total'] and after['gcm'] == 0
    assert after['digest'] == migrated['before']['digest']
    assert all(all_alive(bed).values())
    for node in bed.nodes:
        assert not os.path.exists(os.path.join(node.home, '.lookerops-encryption.json'))
        with open(os.path.join(node.home, 'lookerstart.cfg'), encoding='utf-8') as handle:
            assert 'LKR_MASTER_KEY' not in handle.read()


@pytest.mark.full
def test_the_rollback_can_be_undone(migrated):
    bed = migrated['bed']
    proc = run_playbook(bed, 'rollback', migrated['controller'],
                        extra_vars={'lookerops_run_id': migrated['pre_rollback'],
                                    'lookerops_rollback_discard_changes_since_run': True})
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    after = bed.inspect()
    assert after['legacy'] == 0 and after['gcm'] == migrated['before']['total']
    assert after['digest'] == migrated['before']['digest']
    assert all(all_alive(bed).values()) and not any(fences(bed).values())
    for node in bed.nodes:
        with open(os.path.join(node.home, '.lookerops-encryption.json'), encoding='utf-8') as handle:
            assert json.load(handle)['scheme'] == 'AES-GCM-256'
        with open(os.path.join(node.home, 'lookerstart.cfg'), encoding='utf-8') as handle:
            assert 'LKR_MASTER_KEY_FILE' in handle.read()


# --- a failure after the stop: nodes stay fenced, nothing is lost, the run resumes ------------

@pytest.mark.full
def test_a_run_that_fails_after_the_start_gate_cancels_it_and_gives_service_back(bed_factory, tmp_path):
    """Looker refuses migrate_encryption before changing anything (the stand-in counts stopped nodes as live for ten
    minutes; the run tries once). The other nodes' starts were already launched at the gate: the run cancels each (its
    result says so, so none started its node on its own), then gives service back on the legacy scheme, the first node
    first; no gate file is left."""
    bed = fresh(bed_factory, CLUSTER)
    before = bed.inspect()
    now = time.time()
    since = time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(now)) + '.%03d' % int((now % 1) * 1000)
    bed.set_standin(None, live_window_seconds=600)
    try:
        proc = run_playbook(bed, 'migrate', controller_for(bed, tmp_path), verbosity=1,
                            extra_vars={'lookerops_migrate_retries': 0})
    finally:
        bed.set_standin(None, live_window_seconds=CLUSTER['standin']['live_window_seconds'])
    out = proc.stdout
    assert proc.returncode != 0 and 'nothing was migrated; service restored' in out, out[-6000:]
    launched = out.split("Start | Launch the other nodes' starts, each waiting for the first node's /alive]", 1)[1]
    launched = launched.split('\nTASK [', 1)[0]
    for node in bed.nodes[1:]:
        assert re.search(r'^changed: \[%s\]' % re.escape(node.name), launched, re.M), launched[-3000:]
    cancel = out.split("Start gate | Cancel the other nodes' starts still waiting for the first node]", 1)[1]
    cancel = cancel.split('\nTASK [', 1)[0]
    assert len(re.findall(r'"cancelled": "the run cancelled this start', cancel)) == len(bed.nodes) - 1, cancel[-3000:]
    assert out.index('Start gate | Cancel') < out.index('Restore service | Start the first node')
    assert_untouched(bed, before)
    first = [ts for ts, line in log_entries(bed.nodes[0], since) if 'Looker started: listening' in line]
    for node in bed.nodes:
        assert not [name for name in os.listdir(node.home) if name.startswith('.lookerops-start-gate-')], node.name
        starts = [ts for ts, line in log_entries(node, since) if 'Starting Looker' in line]
        assert len(starts) == 1, (node.name, starts)
        if node is not bed.nodes[0]:
            assert starts[0] >= first[-1], (node.name, starts, first)


@pytest.mark.full
def test_a_controller_killed_after_the_start_gate_leaves_no_start_behind(bed_factory, tmp_path):
    """The controller dies after the other nodes' starts were launched at the gate: they keep waiting on their nodes, each
    holding its gate file. The resume's preflight removes those files first (which ends them, starting nothing), and the
    resumed run completes with every node up once; no gate file or waiting process is left."""
    bed = fresh(bed_factory, CLUSTER)
    before = bed.inspect()
    controller = controller_for(bed, tmp_path)
    proc = run_playbook(bed, 'migrate', controller, kill_at='Migrate | Note the phase')
    assert proc.returncode != 0
    waiting = {}
    for node in bed.nodes[1:]:
        # Each start was launched just before the controller died; it takes its gate file once its module runs.
        names = wait_for(lambda home=node.home: [n for n in os.listdir(home) if n.startswith('.lookerops-start-gate-')], 60,
                         what='the gate file on %s' % node.name)
        assert len(names) == 1, (node.name, names)
        with open(os.path.join(node.home, names[0]), encoding='utf-8') as handle:
            waiting[node.name] = (names[0], json.load(handle)['pid'])
        assert pid_running(waiting[node.name][1]), 'the start at the gate waits on %s' % node.name
    resumed = run_playbook(bed, 'migrate', controller, extra_vars={'lookerops_run_id': waiting['looker2'][0].split('-gate-', 1)[1]})
    assert resumed.returncode == 0, resumed.stdout[-5000:]
    cancel = resumed.stdout.split('Preflight | Cancel the starts an earlier run left waiting for its first node]', 1)[1]
    cancel = cancel.split('\nTASK [', 1)[0]
    for name, (gate, pid) in waiting.items():
        assert re.search(r'^changed: \[%s\] => \(item=%s \(pid %d, waiting\)\)' % (name, re.escape(gate), pid), cancel, re.M), cancel
        assert not pid_running(pid), name
    assert bed.inspect()['digest'] == before['digest'] and bed.inspect()['legacy'] == 0
    assert all(all_alive(bed).values())
    for node in bed.nodes:
        assert not [name for name in os.listdir(node.home) if name.startswith('.lookerops-start-gate-')], node.name


@pytest.mark.full
def test_crash_during_migration_then_resume(bed_factory, tmp_path):
    bed = fresh(bed_factory, CLUSTER)
    before = bed.inspect()
    controller = controller_for(bed, tmp_path)
    bed.set_standin(None, crash_midway=True)
    proc = run_playbook(bed, 'migrate', controller)
    assert proc.returncode != 0
    assert 'FAILED in phase migrate' in proc.stdout, proc.stdout[-5000:]
    match = re.search(r'resume \(after fixing the cause\): (ansible-playbook .*lookerops_run_id=([A-Za-z0-9_.-]+))', proc.stdout)
    assert match, proc.stdout[-3000:]
    assert all(fences(bed).values()), 'nodes must stay fenced after a failed migration'
    assert not any(all_alive(bed).values()), 'nodes must stay down after a failed migration'
    with open(report_of(bed, proc.stdout)[1], encoding='utf-8') as handle:
        report = handle.read()
    assert re.search(r'^outcome: +failed$', report, re.M) and 'not ended: the nodes were left stopped' in report
    assert match.group(1) in report, 'the report must carry the resume command'
    # The other nodes' starts were launched at the gate before the migration: the failed run cancelled them.
    cancel = proc.stdout.split("Start gate | Cancel the other nodes' starts still waiting for the first node]", 1)[1]
    assert len(re.findall(r'^ok: \[\S+ -> (looker2|looker3)[\](]', cancel.split('\nTASK [', 1)[0], re.M)) == 2, cancel[:3000]
    for node in bed.nodes:
        assert not [name for name in os.listdir(node.home) if name.startswith('.lookerops-start-gate-')], node.name
    bed.set_standin(None, crash_midway=False)
    # The resume finds every node down, so no gate (nothing proves the others reach the first node's /alive): with fewer
    # forks than nodes, the others' start is launched at once from the controller and waited for.
    proc = run_playbook(bed, 'migrate', controller, extra_vars={'lookerops_run_id': match.group(2)}, env_extra={'ANSIBLE_FORKS': '2'})
    assert proc.returncode == 0, proc.stdout[-5000:]
    after = bed.inspect()
    assert after['legacy'] == 0 and after['digest'] == before['digest']
    assert all(all_alive(bed).values())
    waited = proc.stdout.split('Start | Wait for the starts launched at once]', 1)[1].split('\nTASK [', 1)[0]
    assert set(re.findall(r'^(?:ok|changed): \[([^\]]+)\]', waited, re.M)) == {'looker2', 'looker3'}, waited[-3000:]
    with open(report_of(bed, proc.stdout)[1], encoding='utf-8') as handle:
        assert re.search(r"^start gate: +not used: the first node's Looker did not answer /alive in preflight", handle.read(), re.M)


def test_a_connection_the_key_does_not_decrypt_fails_the_run_with_its_name(bed_factory, tmp_path):
    """Looker's own connection test of conn-00001 passes before the stop and fails after the start (its stored credential
    was written under another key): the run fails with that connection's name, Looker's message and the rollback command,
    and leaves Looker running (the cluster is not stopped again)."""
    standin = dict(SINGLE['standin'], undecryptable_connection='conn-00001', **API_CLIENT)
    bed = fresh(bed_factory, dict(SINGLE, name='e2e-api', standin=standin))
    proc = run_playbook(bed, 'migrate', controller_for(bed, tmp_path), env_extra=api_env(bed))
    assert proc.returncode != 0
    out = proc.stdout
    assert "Looker's own connection test fails after the start for conn-00001, which passed before the stop: conn-00001: " in out, out[-5000:]
    assert 'FAILED in phase start' in out
    assert re.search(r'lookerops\.encryption\.rollback -e lookerops_run_id=\S+ -e lookerops_rollback_discard_changes_since_run=true', out)
    assert 'FAIL after the start: conn-00001' in out
    assert 'Looker runs on every node: the start completed' in out and 'service not given back' not in out
    assert all(all_alive(bed).values()) and not any(fences(bed).values())
    with open(report_of(bed, out)[1], encoding='utf-8') as handle:
        report = handle.read()
    assert re.search(r'^  conn-00001: pass before, FAIL after \(.+\)$', report, re.M), report
    assert API_CLIENT['api_client_secret'] not in out + proc.stderr + report
    # lookerops.encryption.api_check names it too, and fails; without any API settings it says what to set.
    check = run_playbook(bed, 'api_check', controller_for(bed, tmp_path), env_extra=api_env(bed))
    assert check.returncode != 0 and "Looker's connection test fails for conn-00001" in check.stdout, check.stdout[-3000:]
    assert '"conn-00001: FAIL (connect: Cannot decrypt the stored credentials of connection conn-00001' in check.stdout
    bare = run_playbook(bed, 'api_check', controller_for(bed, tmp_path))
    assert bare.returncode != 0 and 'No Looker API is configured' in bare.stdout


@pytest.mark.full
def test_the_rollback_a_failed_api_proof_prints_gives_every_connection_back(bed_factory, tmp_path):
    """The command the failed proof prints, run as printed: the backups of the run come back, Looker starts on the legacy
    scheme, and Looker's own test of every connection passes again."""
    standin = dict(SINGLE['standin'], undecryptable_connection='conn-00001', **API_CLIENT)
    bed = fresh(bed_factory, dict(SINGLE, name='e2e-api', standin=standin))
    before = bed.inspect()
    controller = controller_for(bed, tmp_path)
    proc = run_playbook(bed, 'migrate', controller, env_extra=api_env(bed))
    assert proc.returncode != 0 and 'FAIL after the start: conn-00001' in proc.stdout, proc.stdout[-4000:]
    match = re.search(r'lookerops\.encryption\.rollback -e lookerops_run_id=(\S+) -e lookerops_rollback_discard_changes_since_run=true',
                      proc.stdout)
    assert match, proc.stdout[-4000:]
    rollback = run_playbook(bed, 'rollback', controller, env_extra=api_env(bed),
                            extra_vars={'lookerops_run_id': match.group(1), 'lookerops_rollback_discard_changes_since_run': True})
    assert rollback.returncode == 0, rollback.stdout[-5000:] + rollback.stderr[-2000:]
    after = bed.inspect()
    assert after['legacy'] == after['total'] == before['total'] and after['digest'] == before['digest']
    assert all(all_alive(bed).values()) and not any(fences(bed).values())
    check = run_playbook(bed, 'api_check', controller, env_extra=api_env(bed))
    assert check.returncode == 0 and 'FAIL' not in check.stdout, check.stdout[-3000:]


# --- a new instance -----------------------------------------------------------------------------

def test_new_install_starts_in_gcm(bed_factory, tmp_path):
    bed = fresh(bed_factory, SINGLE)
    node = bed.nodes[0]
    # A new instance: installed, never started, no store. The watchdog is off as it would be
    # before the first start (it would otherwise start Looker without key settings).
    bed.set_watchdog(node.name, False)
    node.looker('stop', timeout=60)
    shutil.rmtree(os.path.join(node.home, '.db'))
    proc = run_playbook(bed, 'new_install', controller_for(bed, tmp_path))
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    after = bed.inspect()
    assert after['legacy'] == 0 and after['gcm'] == after['total'] and after['scheme'] == 'gcm'
    assert all(all_alive(bed).values())


# --- the key in the environment, and a log rotated during the migration -------------------------

@pytest.mark.full
def test_env_delivery_and_rotated_log(bed_factory, tmp_path):
    bed = fresh(bed_factory, SINGLE)
    before = bed.inspect()
    bed.set_standin(None, rotate_log_on_migrate=True)
    proc = run_playbook(bed, 'migrate', controller_for(bed, tmp_path), extra_vars={'lookerops_cmk_delivery': 'env'})
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    after = bed.inspect()
    assert after['legacy'] == 0 and after['digest'] == before['digest']
    node = bed.nodes[0]
    # The evidence line was found although Looker rotated its log right after writing it.
    rotated = [n for n in os.listdir(os.path.join(node.home, 'log')) if re.match(r'looker\.log\.\d{8}$', n)]
    assert rotated, os.listdir(os.path.join(node.home, 'log'))
    assert 'evidence: ' in proc.stdout and 'Starting migration from AES-128-CBC Legacy to AES-GCM-256' in proc.stdout
    cfg = os.path.join(node.home, 'lookerstart.cfg')
    assert oct(os.stat(cfg).st_mode & 0o777) == '0o600'
    with open(cfg, encoding='utf-8') as handle:
        assert 'export LKR_MASTER_KEY_ENV=' in handle.read()
    assert not os.path.exists(os.path.join(node.user_home, '.lookerops', 'cmk.key'))
    assert all(all_alive(bed).values())


# --- AWS KMS as the CMK, RDS snapshot of the backend (moto) -----------------------------------

KMS_CLUSTER = dict(CLUSTER, name='e2e-kms', moto=True)
KMS_VARS = {'lookerops_cmk_source': 'aws_kms', 'lookerops_aws_region': 'us-east-1',
            'lookerops_aws_cmk_alias': 'alias/looker-e2e', 'lookerops_aws_cmk_create': True,
            'lookerops_backend_backup': 'rds_snapshot', 'lookerops_aws_rds_instance': 'looker-backend',
            'lookerops_aws_iam_role': 'looker-nodes'}


def _aws(bed, service):
    import boto3  # pylint: disable=import-outside-toplevel
    env = bed.aws_env()
    return boto3.client(service, region_name='us-east-1', endpoint_url=env['AWS_ENDPOINT_URL'],
                        aws_access_key_id=env['AWS_ACCESS_KEY_ID'], aws_secret_access_key=env['AWS_SECRET_ACCESS_KEY'])


@pytest.fixture(scope='module')
def kms_bed(bed_factory):
    bed = fresh(bed_factory, KMS_CLUSTER)
    _aws(bed, 'rds').create_db_instance(DBInstanceIdentifier='looker-backend', DBInstanceClass='db.t3.micro', Engine='mysql',
                                        MasterUsername='admin', MasterUserPassword='not-a-secret-1', AllocatedStorage=20)
    return bed, bed.inspect()


def _keys(bed):
    return _aws(bed, 'kms').list_keys()['Keys']


@pytest.mark.full
def test_kms_check_mode_creates_nothing_in_aws(kms_bed, tmp_path):
    bed, before = kms_bed
    proc = run_playbook(bed, 'migrate', controller_for(bed, tmp_path), extra_vars=KMS_VARS, check=True)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    assert _keys(bed) == []
    assert _aws(bed, 'rds').describe_db_snapshots(SnapshotType='manual')['DBSnapshots'] == []
    assert_untouched(bed, before)


@pytest.mark.full
def test_kms_wrong_context_on_one_node_is_caught_before_any_stop(kms_bed, tmp_path):
    bed, before = kms_bed
    inventory = tmp_path / 'inventory.yml'
    import yaml  # pylint: disable=import-outside-toplevel
    with open(bed.inventory, encoding='utf-8') as handle:
        data = yaml.safe_load(handle)
    hosts = data['all']['children']['looker_nodes']['hosts'] if 'all' in data else data['looker_nodes']['hosts']
    hosts['looker2']['lookerops_aws_cmk_ec'] = 'Another_Context'
    inventory.write_text(yaml.safe_dump(data), encoding='utf-8')
    proc = run_playbook(bed, 'migrate', controller_for(bed, tmp_path), extra_vars=KMS_VARS, inventory=str(inventory))
    assert proc.returncode != 0
    assert 'different key settings' in proc.stdout and 'looker2' in proc.stdout, proc.stdout[-4000:]
    assert_untouched(bed, before)


@pytest.mark.full
def test_kms_migration_end_to_end_and_rerun(kms_bed, tmp_path):
    bed, before = kms_bed
    controller = controller_for(bed, tmp_path)
    proc = run_playbook(bed, 'migrate', controller, extra_vars=KMS_VARS)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    after = bed.inspect()
    assert after['legacy'] == 0 and after['gcm'] == before['total'] and after['digest'] == before['digest']
    assert all(all_alive(bed).values())
    keys = _keys(bed)
    assert len(keys) == 1
    for node in bed.nodes:
        with open(os.path.join(node.home, 'lookerstart.cfg'), encoding='utf-8') as handle:
            text = handle.read()
        assert "LKR_AWS_CMK='alias/looker-e2e'" in text and "AWS_REGION='us-east-1'" in text
        assert 'AWS_SECRET_ACCESS_KEY' not in text and 'AWS_ACCESS_KEY_ID' not in text
        with open(os.path.join(node.home, '.lookerops-encryption.json'), encoding='utf-8') as handle:
            assert json.load(handle)['kcv'] == 'kms:' + _aws(bed, 'kms').describe_key(KeyId=keys[0]['KeyId'])['KeyMetadata']['Arn']
    snaps = _aws(bed, 'rds').describe_db_snapshots(DBInstanceIdentifier='looker-backend', SnapshotType='manual')['DBSnapshots']
    assert len(snaps) == 1 and snaps[0]['DBSnapshotIdentifier'].startswith('lookerops-')
    policy = _aws(bed, 'iam').get_role_policy(RoleName='looker-nodes', PolicyName='lookerops-looker-cmk')['PolicyDocument']
    assert 'kms:GenerateRandom' in json.dumps(policy) and keys[0]['KeyId'] in json.dumps(policy)
    proc = run_playbook(bed, 'migrate', controller, extra_vars=KMS_VARS)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert set(recap_changed(proc.stdout).values()) == {0}
    assert len(_keys(bed)) == 1
    assert len(_aws(bed, 'rds').describe_db_snapshots(DBInstanceIdentifier='looker-backend', SnapshotType='manual')['DBSnapshots']) == 1


@pytest.mark.full
def test_kms_missing_permission_is_caught_in_preflight(kms_bed, tmp_path, monkeypatch):
    """The controller's AWS identity lacks kms:GenerateRandom (moto enforcing IAM): preflight names the action."""
    from bed.moto import MotoServer  # pylint: disable=import-outside-toplevel
    bed = kms_bed[0]
    before = bed.inspect()
    monkeypatch.setenv('INITIAL_NO_AUTH_ACTION_COUNT', '5')  # the set-up calls below, then IAM is enforced
    server = MotoServer(log_file=str(tmp_path / 'moto-iam.log'))
    try:
        server.start()
        monkeypatch.delenv('INITIAL_NO_AUTH_ACTION_COUNT')
        import boto3  # pylint: disable=import-outside-toplevel
        common = {'region_name': 'us-east-1', 'endpoint_url': server.url, 'aws_access_key_id': 'testing',
                  'aws_secret_access_key': 'testing'}
        iam, kms = boto3.client('iam', **common), boto3.client('kms', **common)
        iam.create_user(UserName='controller')
        iam.put_user_policy(UserName='controller', PolicyName='kms', PolicyDocument=json.dumps(
            {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Resource': '*', 'Action': [
                'kms:DescribeKey', 'kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:GetKeyRotationStatus',
                'kms:ListAliases', 'kms:ListKeys', 'kms:ListResourceTags']}]}))
        access = iam.create_access_key(UserName='controller')['AccessKey']
        key_id = kms.create_key()['KeyMetadata']['KeyId']
        kms.create_alias(AliasName='alias/looker-iam', TargetKeyId=key_id)
        extra = dict(KMS_VARS, lookerops_aws_cmk_alias='alias/looker-iam', lookerops_aws_cmk_create=False, lookerops_aws_iam_role='')
        proc = run_playbook(bed, 'migrate', controller_for(bed, tmp_path), extra_vars=extra, env_extra={
            'AWS_ENDPOINT_URL': server.url, 'AWS_ACCESS_KEY_ID': access['AccessKeyId'],
            'AWS_SECRET_ACCESS_KEY': access['SecretAccessKey'], 'AWS_SESSION_TOKEN': ''})
    finally:
        server.stop()
    assert proc.returncode != 0
    assert 'Preflight found' in proc.stdout and 'kms:GenerateRandom' in proc.stdout, proc.stdout[-4000:]
    assert_untouched(bed, before)
