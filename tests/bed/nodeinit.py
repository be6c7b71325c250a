# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Init process of one bed node (test code, not part of the collection).

Run as ``ip netns exec NS unshare --uts --mount --propagation private PYTHON -m bed.nodeinit CONFIG``.
It sets the hostname, bind-mounts the node's own directories, mounts the small backup tmpfs,
starts sshd, then runs a monit-like watchdog until it is killed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request

MS_BIND = 4096
MS_NOSUID = 2
MS_NODEV = 4
PR_SET_CHILD_SUBREAPER = 36

_LIBC = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6', use_errno=True)


def _mount(source, target, fstype=None, flags=0, data=None):
    args = [source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
            data.encode() if data else None]
    if _LIBC.mount(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, 'mount %s on %s failed: %s' % (source, target, os.strerror(err)))


def _under(path, top):
    return path == top or path.startswith(top.rstrip('/') + '/')


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def setup(cfg):
    """Hostname, mounts, sshd. Raises on any failure."""
    socket.sethostname(cfg['hostname'])
    _LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    targets = [dst for _src, dst in cfg['mounts']]
    # Keep these paths visible inside the node although a bind mount hides their parent
    # (the bed workdir under /tmp, the Python of the venv under /tmp or /root).
    keep = []
    for path in sorted(set(cfg.get('preserve', []))):
        if not os.path.isdir(path) or any(_under(path, k) for k, _fd in keep):
            continue
        if any(_under(path, t) for t in targets):
            keep.append((path, os.open(path, os.O_PATH | os.O_DIRECTORY)))
    # Open every source first: a mount over /tmp hides the sources that live under it.
    sources = [(os.open(src, os.O_PATH), os.path.isdir(src), dst) for src, dst in cfg['mounts']]
    for fd, is_dir, dst in sources:
        if is_dir:
            os.makedirs(dst, exist_ok=True)
        _mount('/proc/self/fd/%d' % fd, dst, flags=MS_BIND)
        os.close(fd)
    for path, fd in keep:
        os.makedirs(path, mode=0o755, exist_ok=True)
        _mount('/proc/self/fd/%d' % fd, path, flags=MS_BIND)
        os.close(fd)
    tmpfs = cfg.get('tmpfs')
    if tmpfs:
        os.makedirs(tmpfs['path'], exist_ok=True)
        _mount('tmpfs', tmpfs['path'], 'tmpfs', MS_NOSUID | MS_NODEV, 'size=%dm,mode=0755' % tmpfs['size_mb'])
    os.makedirs('/run/sshd', mode=0o755, exist_ok=True)
    res = subprocess.run(cfg['sshd'], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError('sshd failed to start (rc=%d): %s' % (res.returncode, res.stdout))


def _looker_pid(home):
    try:
        with open(os.path.join(home, '.tmp', 'looker.pid'), encoding='ascii') as handle:
            pid = int(handle.read().strip())
    except (OSError, ValueError):
        return None
    try:
        with open('/proc/%d/stat' % pid, encoding='ascii', errors='replace') as handle:
            state = handle.read().rsplit(')', 1)[-1].split()[0]
    except OSError:
        return None
    return None if state in ('Z', 'X') else pid


_CTX = ssl.create_default_context()
_CTX.check_hostname = False
_CTX.verify_mode = ssl.CERT_NONE


def alive(port=9999):
    """GET /alive on 127.0.0.1 (https like the monit example, http as a fallback for --no-ssl)."""
    for url, ctx in (('https://127.0.0.1:%d/alive' % port, _CTX), ('http://127.0.0.1:%d/alive' % port, None)):
        try:
            with urllib.request.urlopen(url, timeout=2, context=ctx) as resp:
                if resp.status == 200:
                    return True
        except urllib.error.HTTPError:
            return False
        except (OSError, ssl.SSLError):
            continue
    return False


def _reap():
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def watchdog(cfg):
    """Every interval: when /alive fails and Looker's pid is not live, run ``./looker start`` as the Looker user."""
    wd = cfg['watchdog']
    home = wd['home']
    while True:
        _reap()
        if os.path.exists(wd['enabled_flag']) and not alive(wd.get('port', 9999)) and _looker_pid(home) is None:
            # What Looker's monit example does: start program = su - looker -c '.../looker start'
            cmd = ['runuser', '-l', wd['user'], '-c', 'cd %s && ./looker start' % home]
            with open(wd['output'], 'ab') as out:
                out.write(('--- %s\n' % _now()).encode())
                out.flush()
                res = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, check=False)
            with open(wd['log'], 'a', encoding='utf-8') as log:
                log.write('%s restart-attempt rc=%d\n' % (_now(), res.returncode))
            _reap()
        time.sleep(wd.get('interval', 1.0))


def main():
    """Entry point."""
    with open(sys.argv[1], encoding='utf-8') as handle:
        cfg = json.load(handle)
    signal.signal(signal.SIGTERM, lambda *_a: os._exit(0))  # pylint: disable=protected-access
    # The node directory may be hidden while the mounts are half done: keep a handle on it.
    dir_fd = os.open(os.path.dirname(cfg['error_file']), os.O_PATH | os.O_DIRECTORY)
    try:
        setup(cfg)
    except Exception:  # pylint: disable=broad-except
        fd = os.open(os.path.basename(cfg['error_file']), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=dir_fd)
        with os.fdopen(fd, 'w', encoding='utf-8') as handle:
            handle.write(traceback.format_exc())
        sys.exit(1)
    os.close(dir_fd)
    with open(cfg['ready_file'] + '.tmp', 'w', encoding='ascii') as handle:
        handle.write('%d\n' % os.getpid())
    os.rename(cfg['ready_file'] + '.tmp', cfg['ready_file'])
    watchdog(cfg)


if __name__ == '__main__':
    main()
