# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``java`` of the stand-in: ``python -m standin.java [JVM flags] -jar looker.jar TASK [ARGS]``."""

from __future__ import annotations

import os
import sys
import zipfile

from standin import keys
from standin.config import load_config
from standin.tasks import TaskError, running_pid, task_inspect, task_migrate, task_rekey, task_seed, task_stop

MARKER = 'standin.txt'
MARKER_TEXT = 'standin.java'
JVM_FLAGS_WITH_VALUE = ('--add-opens', '--add-exports', '--add-modules', '--add-reads', '-cp', '-classpath',
                        '--class-path', '--module-path', '-p')
TASKS_SINCE_6_4 = ('migrate_encryption', 'rekey')


def parse_jvm(argv):
    """(jar path, args after it); JVM flags before -jar are accepted and ignored."""
    idx = 0
    while idx < len(argv):
        arg = argv[idx]
        if arg == '-jar':
            if idx + 1 >= len(argv):
                raise TaskError('Error: -jar requires jar file specification')
            return argv[idx + 1], argv[idx + 2:]
        if arg in ('-version', '--version'):
            sys.stderr.write('openjdk version "11.0.99" (Looker stand-in java)\n')
            raise TaskError('', 0)
        if arg in JVM_FLAGS_WITH_VALUE:
            idx += 2
            continue
        if not arg.startswith('-'):
            raise TaskError('Error: Could not find or load main class %s' % arg)
        idx += 1
    raise TaskError('Usage: java [options] -jar <jarfile> [args...]')


RELEASE_ENTRY = 'com/looker/standin/release.txt'


def read_jar(path):
    """Release from META-INF/MANIFEST.MF of a stand-in looker.jar."""
    if not os.path.isfile(path):
        raise TaskError('Error: Unable to access jarfile %s' % path)
    try:
        with zipfile.ZipFile(path) as jar:
            manifest = jar.read('META-INF/MANIFEST.MF').decode('utf-8')
            marker = jar.read(MARKER).decode('utf-8').strip()
            # A jar whose manifest names no release (older builds): the stand-in keeps it beside its marker.
            hidden = jar.read(RELEASE_ENTRY).decode('utf-8').strip() if RELEASE_ENTRY in jar.namelist() else None
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError):
        raise TaskError('Error: Invalid or corrupt jarfile %s' % path) from None
    fields = {}
    for line in manifest.splitlines():
        if ':' in line:
            key, value = line.split(':', 1)
            fields[key.strip()] = value.strip()
    release = fields.get('Implementation-Version') or hidden
    if fields.get('Implementation-Title') != 'Looker' or marker != MARKER_TEXT or not release:
        raise TaskError('Error: Invalid or corrupt jarfile %s' % path)
    return release


def release_tuple(release):
    """'6.2.11' -> (6, 2, 11)."""
    out = []
    for part in release.split('.'):
        digits = ''.join(ch for ch in part if ch.isdigit())
        out.append(int(digits or 0))
    return tuple(out)


def creds_option(args):
    """Value of -d X / --internal-db-creds X / --internal-db-creds=X, or None."""
    for idx, arg in enumerate(args):
        if arg in ('-d', '--internal-db-creds') and idx + 1 < len(args):
            return args[idx + 1]
        if arg.startswith('--internal-db-creds='):
            return arg.split('=', 1)[1]
    return None


def parse_looker_args(args):
    """Options of ``start`` (LOOKERARGS); unknown options are ignored like deprecated Looker flags."""
    opts = {'creds': creds_option(args)}
    idx = 0
    while idx < len(args):
        arg = args[idx]
        nxt = args[idx + 1] if idx + 1 < len(args) else None
        if arg == '--clustered':
            opts['clustered'] = True
        elif arg == '--no-ssl':
            opts['no_ssl'] = True
        elif arg == '--no-daemonize':
            opts['no_daemonize'] = True
        elif arg in ('-H', '--hostname') and nxt is not None:
            opts['hostname'] = nxt
            idx += 1
        elif arg.startswith('--hostname='):
            opts['hostname'] = arg.split('=', 1)[1]
        elif arg == '--api-port' and nxt is not None:
            opts['api_port'] = int(nxt)
            idx += 1
        elif arg.startswith('--api-port='):
            opts['api_port'] = int(arg.split('=', 1)[1])
        elif arg in ('--port', '-p') and nxt is not None:
            opts['port'] = int(nxt)
            idx += 1
        elif arg.startswith('--port='):
            opts['port'] = int(arg.split('=', 1)[1])
        elif arg == '--shared-storage-dir' and nxt is not None:
            opts['shared_storage_dir'] = nxt
            idx += 1
        elif arg.startswith('--shared-storage-dir='):
            opts['shared_storage_dir'] = arg.split('=', 1)[1]
        idx += 1
    return opts


def _redirect_std(home):
    os.makedirs(os.path.join(home, '.tmp'), exist_ok=True)
    devnull = os.open(os.devnull, os.O_RDONLY)
    out = os.open(os.path.join(home, '.tmp', 'standin.out'), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(devnull, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(devnull)
    os.close(out)


def start(home, args, conf, release):
    """``start``: daemonize (double fork, setsid, std fds away) unless --no-daemonize."""
    from standin.server import run_node  # pylint: disable=import-outside-toplevel
    opts = parse_looker_args(args)
    pid = running_pid(home)
    if pid:
        raise TaskError('Looker is already running (pid %d in .tmp/looker.pid)' % pid)
    if opts.get('no_daemonize'):
        return run_node(home, opts, conf, release, foreground=True)
    sys.stdout.flush()
    sys.stderr.flush()
    rfd, wfd = os.pipe()
    child = os.fork()
    if child:
        os.close(wfd)
        os.waitpid(child, 0)
        while os.read(rfd, 64):  # returns b'' once the daemon wrote its pid file (or died)
            pass
        os.close(rfd)
        return 0
    try:
        os.close(rfd)
        os.setsid()
        if os.fork():
            os._exit(0)  # pylint: disable=protected-access
        os.chdir(home)
        os.umask(0o022)
        _redirect_std(home)
        os.closerange(3, wfd)
        os.closerange(wfd + 1, 1024)
        code = run_node(home, opts, conf, release, foreground=False, ready_fd=wfd)
    except BaseException:  # pylint: disable=broad-except
        import traceback  # pylint: disable=import-outside-toplevel
        traceback.print_exc()
        code = 70
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # pylint: disable=protected-access


def run(argv):
    """Dispatch; returns the exit code."""
    jar, rest = parse_jvm(argv)
    release = read_jar(jar)
    home = os.path.dirname(os.path.abspath(jar))
    conf = load_config()
    if not rest:
        raise TaskError('Usage: java -jar looker.jar TASK [ARGS]; tasks: start, stop, migrate_encryption, rekey, version')
    task, args = rest[0], rest[1:]
    if task in TASKS_SINCE_6_4 and release_tuple(release) < (6, 4):
        raise TaskError('Could not find task "%s"' % task)
    if task == 'start':
        return start(home, args, conf, release)
    if task == 'stop':
        return task_stop(home, conf)
    if task == 'migrate_encryption':
        return task_migrate(home, creds_option(args), conf)
    if task == 'rekey':
        return task_rekey(home, creds_option(args), conf)
    if task in ('version', '--version', '-v'):
        print(release)
        return 0
    if task == 'standin_seed':
        count = int(conf['records'])
        if '--records' in args:
            count = int(args[args.index('--records') + 1])
        return task_seed(home, creds_option(args), conf, count)
    if task == 'standin_inspect':
        return task_inspect(home, creds_option(args), counts_only='--counts-only' in args)
    raise TaskError('Could not find task "%s"' % task)


def main(argv=None):
    """Entry point: messages to stderr, exit codes."""
    argv = sys.argv[1:] if argv is None else argv
    for name, value in (load_config().get('aws_env') or {}).items():
        os.environ.setdefault(name, str(value))
    try:
        code = run(argv)
    except keys.StartError as exc:
        sys.stderr.write(str(exc) + '\n')
        code = 1
    except TaskError as exc:
        if str(exc):
            sys.stderr.write(str(exc) + '\n')
        code = exc.code
    sys.stdout.flush()
    sys.exit(code)


if __name__ == '__main__':
    main()
