# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption (controller side): what a no-op sent like the key tells about a node.

Not a public API. Preflight sends lk_transport_probe to every node through the key's own transport (pipelined with
become, _key_transport.execute_module), before any node is stopped. :func:`probe_verdict` turns its outcome into the
refusal the key phase would otherwise meet after the stop: a sudo that needs a terminal or a password, a connection or
become method that cannot pipeline, a module that does not run as root.
"""

from __future__ import annotations

import hashlib

from ansible_collections.lookerops.encryption.plugins.plugin_utils._key_transport import refusal_message

WHAT = 'The key phase of this run'
AFTER = ('This was found before any node was stopped; nothing was changed. Without the fix the run would stop the '
         'cluster, back it up and fail when it sends the key.')
_TTY = ('must have a tty', 'no tty present', 'sudo: a terminal is required', 'requiretty')
_PASSWORD = ('password is required', 'missing sudo password', 'incorrect sudo password', 'missing become password',
             'incorrect become password', 'privilege escalation prompt', 'incorrect su password', 'sorry, try again')


def token_digest(token):
    """What the probe module answers for ``token`` (its sha256): proof the arguments arrived intact on stdin."""
    return hashlib.sha256(token.encode('utf-8')).hexdigest()


def _text(result):
    parts = [result.get(name) for name in ('msg', 'module_stderr', 'module_stdout', 'stderr', 'stdout')]
    return ' '.join(str(p) for p in parts if p).strip()


def probe_verdict(host, blocker, result, expected_digest):
    """The refusal for node ``host``, or None when the key's transport works there.

    ``blocker`` is _key_transport.pipelining_blocker's answer (checked before sending); ``result`` the probe's result
    (a failed one also when the connection raised); ``expected_digest`` the digest of the token sent.
    """
    where = 'the node %s' % host
    if blocker is not None:
        return '%s %s' % (refusal_message(WHAT, blocker, host), AFTER)
    result = result or {}
    text = _text(result)
    low = text.lower()
    if result.get('failed') or result.get('unreachable'):
        if any(word in low for word in _TTY):
            return ('%s cannot send the CMK to %s: sudo there needs a terminal (Defaults requiretty), and the key only '
                    'travels on the standard input of a pipelined module, which has none. Allow sudo without a tty for the '
                    'connecting user (for example "Defaults:<user> !requiretty" in a file under /etc/sudoers.d). %s (%s)'
                    % (WHAT, where, AFTER, text[-300:]))
        if any(word in low for word in _PASSWORD):
            return ('%s cannot send the CMK to %s: become there asks for a password that this run does not give. Give it '
                    '(--ask-become-pass or ansible_become_password from a vault) or allow the connecting user sudo '
                    'without a password. %s (%s)' % (WHAT, where, AFTER, text[-300:]))
        return ('%s cannot send the CMK to %s: a no-op module sent the same way (pipelined, with become) failed: %s. Fix the '
                'connection or become settings for that node. %s' % (WHAT, where, text[-500:] or 'no message', AFTER))
    if result.get('token_digest') != expected_digest:
        return ('%s cannot send the CMK to %s: a no-op module sent the same way did not get its arguments intact (the '
                'answer does not match what was sent). Check the connection and become settings (a wrapper that alters '
                'the standard input). %s' % (WHAT, where, AFTER))
    if result.get('euid') != 0:
        return ('%s cannot act on %s as root: a no-op module sent the same way ran as uid %s. The key phase writes the key '
                'for the Looker user as root: run with become: true (become_user root). %s'
                % (WHAT, where, result.get('euid'), AFTER))
    return None
