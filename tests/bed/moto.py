# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A moto server (AWS emulator) for tests (test code, not part of the collection)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from bed.util import free_port, pid_alive, wait_pid_exit

AWS_TEST_ENV = {
    'AWS_ACCESS_KEY_ID': 'testing',
    'AWS_SECRET_ACCESS_KEY': 'testing',
    'AWS_DEFAULT_REGION': 'us-east-1',
    'AWS_EC2_METADATA_DISABLED': 'true',
}


class MotoError(RuntimeError):
    """moto_server could not be started."""


def _moto_binary():
    cand = os.path.join(os.path.dirname(sys.executable), 'moto_server')
    if os.access(cand, os.X_OK):
        return cand
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for bin_dir in (os.path.dirname(os.environ.get('LOOKEROPS_PYTHON', '')), os.path.join(repo, '.venv', 'bin')):
        cand = os.path.join(bin_dir, 'moto_server')
        if os.access(cand, os.X_OK):
            return cand
    raise MotoError("moto_server not found next to %s: install it with `pip install 'moto[server]'` in the test venv"
                    % sys.executable)


class MotoServer:
    """``moto_server -H host -p port`` as a child process."""

    def __init__(self, host='127.0.0.1', port=None, log_file=None):
        self.host = host
        self.port = port
        self.log_file = log_file
        self.pid = None
        self._proc = None

    @property
    def url(self):
        """Endpoint URL for boto3 (``endpoint_url=``)."""
        return 'http://%s:%d' % (self.host, self.port)

    def env(self):
        """Environment variables a client of this server needs (test credentials, endpoint)."""
        env = dict(AWS_TEST_ENV)
        env['AWS_ENDPOINT_URL'] = self.url
        return env

    def to_dict(self):
        """State for another process (see :meth:`from_dict`)."""
        return {'host': self.host, 'port': self.port, 'pid': self.pid, 'log_file': self.log_file}

    @classmethod
    def from_dict(cls, data):
        """Rebuild from :meth:`to_dict` output."""
        obj = cls(host=data['host'], port=data['port'], log_file=data.get('log_file'))
        obj.pid = data.get('pid')
        return obj

    def _ping(self):
        try:
            with urllib.request.urlopen(self.url + '/moto-api/', timeout=1) as resp:
                return resp.status < 500
        except urllib.error.HTTPError as exc:
            return exc.code < 500
        except OSError:
            return False

    def running(self):
        """True when our server process is alive and answers."""
        return self.pid is not None and pid_alive(self.pid) and self._ping()

    def start(self, timeout=30):
        """Start the server and wait until it answers; idempotent."""
        if self.running():
            return self
        if self.port is None:
            self.port = free_port(self.host)
        env = dict(os.environ)
        env.update(AWS_TEST_ENV)
        out = subprocess.DEVNULL
        if self.log_file:
            out = open(self.log_file, 'ab')  # pylint: disable=consider-using-with
        try:
            # pylint: disable-next=consider-using-with
            self._proc = subprocess.Popen([_moto_binary(), '-H', self.host, '-p', str(self.port)], env=env,
                                          stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
        finally:
            if out is not subprocess.DEVNULL:
                out.close()
        self.pid = self._proc.pid
        deadline = time.monotonic() + timeout
        while not self._ping():
            if self._proc.poll() is not None:
                raise MotoError('moto_server exited with %s during start (log: %s)' % (self._proc.returncode, self.log_file))
            if time.monotonic() > deadline:
                self.stop()
                raise MotoError('moto_server did not answer on %s within %ss' % (self.url, timeout))
            time.sleep(0.05)
        return self

    def reset(self):
        """Forget every emulated resource (``POST /moto-api/reset``)."""
        req = urllib.request.Request(self.url + '/moto-api/reset', data=b'', method='POST')
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()

    def stop(self, timeout=20):
        """Stop the server by pid and wait for it to exit; idempotent."""
        if self.pid is not None and pid_alive(self.pid):
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            if self._proc is not None:
                try:
                    self._proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    os.kill(self.pid, signal.SIGKILL)
                    self._proc.wait(10)
            elif not wait_pid_exit(self.pid, timeout):
                os.kill(self.pid, signal.SIGKILL)
                wait_pid_exit(self.pid, 10)
        elif self._proc is not None:
            self._proc.poll()
        self.pid = None
        self._proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
