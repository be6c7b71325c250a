# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: one customer-hosted Looker node, put together from its parts, and its options.

A LookerNode is a Looker home (``home.py``) with the Looker user who runs its commands (``runner``,
``user.py``), its settings (``config``, ``settings.py``), its log (``log``, ``log.py``) and its fence
(``fence``, ``fence.py``); its processes come from ``proc.py`` and its HTTP answers from ``http.py``.
The operations the modules run are in ``ops.py`` and ``migrate.py``; the history of the stops and starts they
measured on the node, in ``restarts.py``.

This is not a public API; it may change without notice. Standard library only: it runs on the node.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lookerops.encryption.plugins.module_utils._looker.fence import Fence, supervisors
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.home import LookerHome
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.http import probe_alive
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.log import LookerLog
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.proc import pid_state, running_tasks
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.settings import NodeSettings
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.user import LookerUser


class LookerNode(LookerHome):
    """One Looker node: ``home`` is the Looker directory (holding looker.jar), ``user`` the Looker user."""

    def __init__(self, home, user, java='java', port=None, version_keys=None, path=None, supervisor_root='/'):
        super().__init__(home, version_keys)
        self.user = user
        self.supervisor_root = supervisor_root
        self.runner = LookerUser(self.home, user, java=java, path=path)
        self.config = NodeSettings(self.runner, port_override=port)
        self.log = LookerLog(self.log_dir)
        self.fence = Fence(self.fence_file, self.runner.user_info)

    @property
    def java(self):
        return self.runner.java

    @property
    def port_override(self):
        return self.config.port_override

    def pid_state(self):
        """{pid, pid_alive, stale} of .tmp/looker.pid."""
        return pid_state(self.pid_file)

    def probe_alive(self, timeout=3.0):
        """GET /alive on 127.0.0.1 at the port and scheme of the settings: {'state': up|refused|error, ...}."""
        return probe_alive(self.config.port(), self.config.scheme(), timeout)

    def down_state(self):
        """pid_state plus the /alive answer; ``down`` when /alive is refused and no Looker pid is alive."""
        state = self.pid_state()
        alive = self.probe_alive()
        state.update({'alive': alive['state'], 'alive_detail': alive['detail'],
                      'down': alive['state'] == 'refused' and not state['pid_alive']})
        return state

    def running_tasks(self, scope='host'):
        """Running Looker tasks; ``scope='install'`` keeps only those running this node's looker.jar (same file)."""
        return running_tasks(self.jar, scope)

    def supervisors(self):
        return supervisors(self.supervisor_root)


def node_argument_spec():
    """Options every lk_* node module takes (one group, composed into each module's argspec)."""
    return {
        'looker_home': {'type': 'path', 'default': '/home/looker/looker'},
        'looker_user': {'type': 'str', 'default': 'looker'},
        'java': {'type': 'str', 'default': 'java'},
        'looker_port': {'type': 'int'},
        'looker_path': {'type': 'str'},
    }


def node_from_params(params):
    return LookerNode(params['looker_home'], params['looker_user'], java=params.get('java') or 'java',
                      port=params.get('looker_port'), path=params.get('looker_path'))


def node_module(options, **kwargs):
    """(AnsibleModule, LookerNode) of an lk_* node module: the node options plus ``options``, check mode supported."""
    argument_spec = node_argument_spec()
    argument_spec.update(options)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **kwargs)
    return module, node_from_params(module.params)


def read_looker_db(home, user):
    """The LOOKER_DB value that ``home``'s lookerstart.cfg gives Looker when sourced as ``user`` (a secret), or None."""
    return LookerNode(home, user).config.looker_db()
