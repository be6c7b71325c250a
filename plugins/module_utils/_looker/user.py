# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: running commands as the Looker user in the Looker home (login PATH, environment).

This is not a public API; it may change without notice. Standard library only: it runs on the node.
"""

from __future__ import annotations

import os
import pwd
import re
import subprocess
import tempfile

from ansible_collections.lookerops.encryption.plugins.module_utils._looker.home import LookerNodeError

DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin'
_ENV_NAME_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
_SOURCE_CFG_WRAPPER = 'if [ -r ./lookerstart.cfg ]; then . ./lookerstart.cfg >/dev/null 2>&1 </dev/null; fi; exec "$@"'


class CapturedOutput:
    """Where a child's stdout and stderr go: two files that have no name from the first byte.

    Each is a ``tempfile.TemporaryFile`` (created 0600 and unlinked, or O_TMPFILE, before the child writes anything),
    so nothing the child prints (the startup script's own ``set -x`` trace of lookerstart.cfg, say) is ever readable
    under a path, and a killed module leaves nothing behind. Files rather than pipes: a daemonizing child (looker
    start) keeps its inherited descriptors open, and an offline task that outlives the module must not be stopped by
    a closed pipe. While the child runs its output stays readable as ``/proc/<pid>/fd/1`` and ``fd/2``.
    """

    def __init__(self):
        self.stdout = tempfile.TemporaryFile(prefix='lookerops-out-')
        try:
            self.stderr = tempfile.TemporaryFile(prefix='lookerops-err-')
        except OSError:
            self.stdout.close()
            raise

    def read(self, limit=None):
        """{stdout, stderr} written so far (the last ``limit`` bytes of each)."""
        result = {}
        for name in ('stdout', 'stderr'):
            handle = getattr(self, name)
            try:
                handle.seek(0)
                data = handle.read()
            except (OSError, ValueError):
                data = b''
            if limit is not None and len(data) > limit:
                data = data[-limit:]
            result[name] = data.decode('utf-8', 'replace')
        return result

    def close(self):
        for handle in (self.stdout, self.stderr):
            handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class LookerUser:
    """The Looker user ``user`` running commands in ``home`` with ``java`` (a name or a path) and an optional PATH."""

    def __init__(self, home, user, java='java', path=None):
        self.home = home
        self.user = user
        self.java = java or 'java'
        self.path_override = path
        self._login_path = None

    def user_info(self):
        try:
            return pwd.getpwnam(self.user)
        except KeyError:
            raise LookerNodeError("the Looker user '%s' does not exist on this node: set looker_user to the user "
                                  "that runs Looker" % self.user) from None

    def login_path(self):
        """PATH for Looker commands: the override, else the user's login PATH, else /usr/local/bin:/usr/bin:/bin."""
        if self.path_override:
            path = self.path_override
        else:
            if self._login_path is None:
                self._login_path = self._probe_login_path() or DEFAULT_PATH
            path = self._login_path
        if os.path.isabs(self.java):
            # The startup script calls plain `java`: put the directory of the configured java first so both agree.
            jdir = os.path.dirname(self.java)
            path = jdir + ':' + ':'.join(p for p in path.split(':') if p != jdir)
        return path

    def _probe_login_path(self):
        marker = '__lookerops_path__'
        try:
            res = self.run(['/bin/sh', '-l', '-c', 'printf "\\n%s%%s" "$PATH"' % marker], timeout=15, source_cfg=False,
                           path=DEFAULT_PATH, cwd=self.user_info().pw_dir if os.path.isdir(self.user_info().pw_dir) else '/')
        except (LookerNodeError, OSError):
            return None
        if res['rc'] != 0 or marker not in res['stdout']:
            return None
        return res['stdout'].rsplit(marker, 1)[1].strip() or None

    def child_env(self, env_extra=None, path=None):
        info = self.user_info()
        env = {'HOME': info.pw_dir, 'USER': info.pw_name, 'LOGNAME': info.pw_name,
               'SHELL': info.pw_shell or '/bin/sh', 'PATH': path or self.login_path()}
        if env_extra:
            env.update(env_extra)
        return env

    def preexec(self):
        """The function that drops a child to the Looker user (None when this process already is that user)."""
        info = self.user_info()
        if os.geteuid() != 0:
            if os.geteuid() != info.pw_uid:
                raise LookerNodeError("this module must run as root (become: true) to run Looker commands as '%s'"
                                      % self.user)
            return None

        def drop():
            os.initgroups(info.pw_name, info.pw_gid)
            os.setgid(info.pw_gid)
            os.setuid(info.pw_uid)
        return drop

    def spawn(self, argv, output, env_extra=None, source_cfg=True, new_session=False, path=None, cwd=None, unset=()):
        """Start a command as the Looker user with stdout/stderr to ``output`` (a CapturedOutput); returns the Popen.

        ``unset`` names settings of lookerstart.cfg removed after it is sourced (names only: never a value in argv).
        """
        bad = [name for name in unset if not _ENV_NAME_RE.match(name)]
        if bad:
            raise LookerNodeError('not an environment variable name: %s' % ', '.join(bad))
        preexec = self.preexec()
        env = self.child_env(env_extra, path=path)
        # Popen rather than AnsibleModule.run_command: this runs as another user, may outlive the module (a Looker task
        # is never killed), and the module_utils are also used without an AnsibleModule.
        if source_cfg:
            wrapper = _SOURCE_CFG_WRAPPER
            if unset:
                wrapper = wrapper.replace('exec "$@"', 'unset %s; exec "$@"' % ' '.join(unset))
            argv = ['/bin/sh', '-c', wrapper, 'sh'] + list(argv)
        # pylint: disable-next=ansible-bad-function
        return subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=output.stdout, stderr=output.stderr,
                                cwd=cwd or self.home, env=env, preexec_fn=preexec, start_new_session=new_session,
                                close_fds=True)

    def run(self, argv, timeout=None, source_cfg=True, env_extra=None, path=None, cwd=None):
        """Run a command as the Looker user in the Looker home; {rc, stdout, stderr, timed_out, pid}.

        With ``source_cfg`` the command runs through ``/bin/sh`` after sourcing ./lookerstart.cfg, so the JVM gets
        exactly the environment Looker's startup script would give it. On a timeout the command is left running.
        """
        with CapturedOutput() as output:
            proc = self.spawn(argv, output, env_extra=env_extra, source_cfg=source_cfg, path=path, cwd=cwd)
            timed_out = False
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                # Never killed: it may be a Looker task, and stopping one midway can corrupt the database.
                rc = None
                timed_out = True
            result = output.read()
        result.update({'rc': rc, 'timed_out': timed_out, 'pid': proc.pid})
        return result

    def run_as_user(self, argv, env_extra=None, timeout=None, source_cfg=True):
        """:meth:`run` with the argument order the modules use."""
        return self.run(argv, timeout=timeout, source_cfg=source_cfg, env_extra=env_extra)

    def read_secret(self, script, what, timeout=60, check_rc=False):
        """Output of ``/bin/sh -c script`` as the Looker user, read through a pipe into this process only (a secret).

        The secret never touches a file: stdout is a pipe, stderr (where a ``set -x`` in lookerstart.cfg would trace
        it) goes nowhere, and a killed reader leaves nothing behind. With ``check_rc`` a non-zero exit is an error.
        """
        # pylint: disable-next=ansible-bad-function
        proc = subprocess.Popen(['/bin/sh', '-c', script], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, cwd=self.home, env=self.child_env(), preexec_fn=self.preexec(),
                                close_fds=True)
        try:
            out, _err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise LookerNodeError('sourcing %s as %s to read %s did not finish within %ss'
                                  % (os.path.join(self.home, 'lookerstart.cfg'), self.user, what, timeout)) from None
        if check_rc and proc.returncode != 0:
            raise LookerNodeError('sourcing %s as %s to read %s failed (rc %s)'
                                  % (os.path.join(self.home, 'lookerstart.cfg'), self.user, what, proc.returncode))
        return out.decode('utf-8', 'replace')
