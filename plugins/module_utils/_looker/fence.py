# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: what keeps Looker from starting behind a run's back (.deploying fence, supervisors).

This is not a public API; it may change without notice. Standard library only: it runs on the node.
"""

from __future__ import annotations

import os
import re

from ansible_collections.lookerops.encryption.plugins.module_utils._looker.home import LookerNodeError

FENCE_PREFIX = 'lookerops.encryption run '

SUPERVISOR_PATHS = {
    'systemd': ('etc/systemd/system/looker.service', 'lib/systemd/system/looker.service', 'usr/lib/systemd/system/looker.service'),
    'sysv': ('etc/init.d/looker',),
    'monit': ('etc/monit/monitrc', 'etc/monitrc', 'etc/monit/conf.d', 'etc/monit.d'),
}


def fence_content(run_id):
    return '%s%s\n' % (FENCE_PREFIX, run_id)


class Fence:
    """The ``.deploying`` file at ``path``; ``owner`` gives the pwd entry of the Looker user, who owns a fence we write."""

    def __init__(self, path, owner):
        self.path = path
        self.owner = owner

    def state(self, run_id=None):
        try:
            with open(self.path, 'rb') as handle:
                content = handle.read(4096).decode('utf-8', 'replace')
        except FileNotFoundError:
            return {'present': False, 'content': None, 'ours': False, 'collection': False, 'run_id': None}
        except OSError as exc:
            content = '<unreadable: %s>' % exc
        owner_run = None
        if content.startswith(FENCE_PREFIX):
            owner_run = content[len(FENCE_PREFIX):].strip() or None
        return {'present': True, 'content': content.strip(), 'run_id': owner_run, 'collection': owner_run is not None,
                'ours': bool(run_id) and content == fence_content(run_id)}

    def create(self, run_id):
        """Create the fence for ``run_id``; returns True when created, False when ours already; raises otherwise."""
        state = self.state(run_id)
        if state['present']:
            if state['ours']:
                return False
            raise LookerNodeError(self.foreign_msg(state))
        info = self.owner()
        # Exclusive creation (not a rename over the path): never replaces a fence someone else wrote meanwhile.
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise LookerNodeError(self.foreign_msg(self.state(run_id))) from None
        try:
            if os.geteuid() == 0:
                os.fchown(fd, info.pw_uid, info.pw_gid)
            os.write(fd, fence_content(run_id).encode('utf-8'))
            os.fsync(fd)
        finally:
            os.close(fd)
        return True

    def remove(self, run_id, force=False):
        state = self.state(run_id)
        if not state['present']:
            return False
        if not state['ours'] and not force:
            raise LookerNodeError('%s exists but was not written by run %s (content: %r). It is not removed: another '
                                  'deployment may own it. Remove it by hand once you know it is safe, or use force=true'
                                  % (self.path, run_id, state['content']))
        os.unlink(self.path)
        return True

    def foreign_msg(self, state):
        if state['collection']:
            who = 'lookerops.encryption run %s (not this run)' % state['run_id']
        else:
            who = 'someone else (content: %r)' % state['content']
        return ('%s exists, written by %s: a deployment is in progress or was left unfinished, and Looker\'s startup '
                'script refuses to start while it exists. Wait for that deployment to finish, or, when you are sure '
                'none is running, remove the file (or run lk_fence state=absent force=true) and retry'
                % (self.path, who))


def supervisors(root='/'):
    """Supervisors under ``root`` that can restart Looker behind our back: [{kind, path}]."""
    found = []
    for kind in ('systemd', 'sysv', 'monit'):
        for rel in SUPERVISOR_PATHS[kind]:
            path = os.path.join(root, rel)
            if kind != 'monit':
                if os.path.isfile(path):
                    found.append({'kind': kind, 'path': path})
                continue
            paths = []
            if os.path.isdir(path):
                paths = [os.path.join(path, n) for n in sorted(os.listdir(path))]
            elif os.path.isfile(path):
                paths = [path]
            for cand in paths:
                try:
                    with open(cand, 'rb') as handle:
                        if re.search(rb'(?im)^\s*check\s+process\s+\S*looker', handle.read(262144)):
                            found.append({'kind': 'monit', 'path': cand})
                except OSError:
                    continue
    return found
