# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption (controller side): settings of the controller under which no key is handled.

Not a public API. Pure decisions: the callers (the key-carrying action plugins, preflight through the
``lookerops.encryption.debug_refusal`` filter) gather the setting and act on the answer.
"""

from __future__ import annotations

DEBUG_REMEDY = ('Run again without it: unset ANSIBLE_DEBUG (and remove `debug` from the [defaults] section of ansible.cfg); '
                'use -v to -vvv for detail, which keeps no_log values hidden.')


def _truthy(value):
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return str(value).strip().lower() in ('1', 'y', 'yes', 'on', 'true', 't')


def debug_refusal(debug_setting, what='this run'):
    """Why ``what`` must not run with Ansible's debug output on, or None when the setting is off.

    ``debug_setting`` is Ansible's DEFAULT_DEBUG (ANSIBLE_DEBUG, ``debug`` in ansible.cfg): a bool, or its text.
    Ansible's debug output prints every module's arguments and reply whatever no_log says, so a run that sends a
    key (or, in a key recovery, a one-time pad and the sealed reply that together rebuild it) would write the key
    to the log.
    """
    if not _truthy(debug_setting):
        return None
    return ('%s refused: Ansible debug output is on (ANSIBLE_DEBUG, or debug in ansible.cfg). It prints every module\'s '
            'arguments and replies, no_log or not, so the Customer Master Key (or the one-time pad and sealed reply of a '
            'key recovery, which together rebuild it) would be written to the output. Nothing was sent and nothing was '
            'changed. %s' % (what, DEBUG_REMEDY))
