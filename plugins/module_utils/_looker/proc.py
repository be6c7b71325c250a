# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: Looker's processes on a node, read from /proc (pid file, liveness, running tasks).

This is not a public API; it may change without notice. Standard library only: it runs on the node.
"""

from __future__ import annotations

import os
import pwd


def read_cmdline(pid):
    """argv of ``pid`` from /proc, or None when unreadable (gone, or hidden from us)."""
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            raw = handle.read()
    except OSError:
        return None
    return [part.decode('utf-8', 'replace') for part in raw.split(b'\0') if part]


def read_pid_file(path):
    """The pid a pid file names (its first word), or None when absent, unreadable, empty, not a number or <= 0."""
    try:
        with open(path, 'rb') as handle:
            pid = int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if pid > 0 else None


def pid_alive(pid, looker_only=True):
    """Whether ``pid`` is a live process: the one rule of the collection for "is Looker's pid alive".

    A pid that is None or <= 0 is no process; one whose /proc entry cannot be read is dead; a zombie (Z) or dead (X)
    process is dead. With ``looker_only`` (the default) the process must also run looker.jar (its command line
    mentions it), since a stale pid file may name a pid the kernel has given to another program since.
    """
    if not pid or pid <= 0:
        return False
    try:
        with open('/proc/%d/stat' % pid, 'rb') as handle:
            state = handle.read().rsplit(b')', 1)[-1].split()[0]
    except (OSError, IndexError):
        return False
    if state in (b'Z', b'X'):
        return False
    if not looker_only:
        return True
    return any('looker.jar' in part for part in read_cmdline(pid) or [])


def pid_state(pid_file):
    """{pid, pid_alive, stale} of a Looker pid file."""
    pid = read_pid_file(pid_file)
    alive = pid_alive(pid)
    return {'pid': pid, 'pid_alive': alive, 'stale': bool(pid) and not alive}


def looker_task_of(argv):
    """(jar, task) when argv runs ``-jar .../looker.jar TASK``; task None when there is no task word."""
    for i, part in enumerate(argv[:-1]):
        if part == '-jar' and os.path.basename(argv[i + 1]) == 'looker.jar':
            rest = argv[i + 2:]
            task = rest[0] if rest and not rest[0].startswith('-') else None
            return argv[i + 1], task
    return None


def user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _task_jar_id(pid, jar):
    """(st_dev, st_ino) of the jar a process runs, resolved in that process's own mount namespace and cwd."""
    base = '/proc/%d/root' % pid if os.path.isabs(jar) else '/proc/%d/cwd' % pid
    try:
        st = os.stat(base + ('' if os.path.isabs(jar) else '/') + jar)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def running_looker_tasks(exclude_tasks=('start',)):
    """Processes running ``java ... -jar looker.jar TASK`` with a task word other than start: [{pid, task, user, jar}]."""
    found = []
    own = os.getpid()
    try:
        entries = os.listdir('/proc')
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit() or int(entry) == own:
            continue
        pid = int(entry)
        argv = read_cmdline(pid)
        if not argv:
            continue
        hit = looker_task_of(argv)
        if not hit or hit[1] is None or hit[1] in exclude_tasks:
            continue
        try:
            uid = os.stat('/proc/%d' % pid).st_uid
        except OSError:
            continue
        found.append({'pid': pid, 'task': hit[1], 'user': user_name(uid), 'jar': hit[0], 'jar_id': _task_jar_id(pid, hit[0])})
    return sorted(found, key=lambda item: item['pid'])


# The task_scope option of the modules that refuse while a Looker task runs (documented by the task_scope doc fragment).
TASK_SCOPE_OPTION = {'type': 'str', 'choices': ['host', 'install'], 'default': 'host'}


def running_tasks(jar, scope='host'):
    """Running Looker tasks; ``scope='install'`` keeps only those running ``jar`` (the same file)."""
    tasks = running_looker_tasks()
    if scope == 'install':
        try:
            st = os.stat(jar)
            mine = (st.st_dev, st.st_ino)
        except OSError:
            mine = None
        tasks = [t for t in tasks if t.get('jar_id') is not None and t['jar_id'] == mine]
    for task in tasks:
        task.pop('jar_id', None)
    return tasks


def process_started_at(pid):
    """Epoch seconds when ``pid`` started (from /proc/<pid>/stat and the boot time), or None when unreadable."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as handle:
            ticks = int(handle.read().rsplit(b')', 1)[-1].split()[19])
        with open('/proc/stat', 'rb') as handle:
            boot = next(int(line.split()[1]) for line in handle if line.startswith(b'btime '))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot + ticks / float(os.sysconf('SC_CLK_TCK'))
