# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption (controller side): key bytes reach a node only on stdin. Not a public API.

Without pipelining, Ansible writes the module with its arguments into a remote ``AnsiballZ_*`` file
that lives for the task's duration (and stays with ``ANSIBLE_KEEP_REMOTE_FILES=1`` or a killed
connection). A module execution whose arguments hold the CMK therefore always pipelines (the
payload goes on the module's stdin and never touches the node's disk), whatever the
``pipelining`` and ``keep_remote_files`` settings say. When the connection cannot pipeline, the
run is refused before anything is sent.

Works with ansible-core 2.17 (the action decides from the connection's ``pipelining`` option,
``has_pipelining`` and the become method's name) and 2.19+ (the connection decides, become
plugins carry ``pipelining``): the one decision point both share, ``ActionBase._is_pipelining_enabled``,
is overridden on the action instance for the one call, after the capabilities were checked here.
"""

from __future__ import annotations

import contextlib

NO_FILES_NOTE = ('Key bytes only ever travel on the module\'s standard input (pipelining), so that they are never written to a '
                 'file on the node; nothing was sent to %s.')


class KeyTransportError(Exception):
    """Key bytes cannot be sent without a remote file; the message names the cause and the remedy."""


def _become(connection):
    return getattr(connection, 'become', None)


def pipelining_blocker(connection, task):
    """Why a module cannot receive its arguments on stdin over this connection, or None when it can.

    Configuration (the ``pipelining`` option, ``keep_remote_files``) is not a blocker: it is overridden.
    Capabilities are: the connection plugin's, the become method's, a tty requested for ssh, async.
    """
    conn_name = getattr(connection, '_load_name', None) or type(connection).__name__
    if getattr(task, 'async_val', 0):
        return ('the task runs with async (%s s); async runs the module from a file on the node. Run the task without '
                'async and poll.' % task.async_val)
    if not (getattr(connection, 'has_pipelining', False) or getattr(connection, 'always_pipeline_modules', False)):
        return ('the connection plugin %s cannot pipeline. Use a connection plugin that can (ansible.builtin.ssh, '
                'ansible.builtin.paramiko_ssh, ansible.builtin.local, or a container/chroot plugin that supports '
                'pipelining).' % conn_name)
    become = _become(connection)
    if become is not None:
        become_name = getattr(become, 'name', None) or getattr(become, '_load_name', None) or type(become).__name__
        # ansible-core 2.19+ declares it on the plugin; before that only su was known not to pipeline.
        can_pipeline = getattr(become, 'pipelining', None)
        if can_pipeline is None:
            can_pipeline = become_name.rsplit('.', 1)[-1] != 'su'
        if not can_pipeline:
            return ('the become method %s cannot pipeline (it needs a terminal). Use become_method: sudo (or another '
                    'method that can pipeline, such as doas) for the Looker nodes.' % become_name)
    tty_requested = getattr(connection, '_is_tty_requested', None)
    if callable(tty_requested):
        try:
            requested = tty_requested()
        except Exception:  # pylint: disable=broad-except
            requested = False  # unknown: the ssh run itself will tell
        if requested:
            return ('the ssh arguments request a terminal (-t, -tt or RequestTTY), which rules out pipelining. Remove it '
                    'from ansible_ssh_args / ansible_ssh_extra_args / ansible_ssh_common_args for the Looker nodes.')
    return None


def refusal_message(module_name, blocker, host=None):
    where = 'the node %s' % host if host else 'the node'
    return ('%s cannot send the CMK to %s without writing it to a file there: %s %s'
            % (module_name, where, blocker, NO_FILES_NOTE % where))


@contextlib.contextmanager
def _forced_pipelining(action):
    """Within the block the action pipelines new-style modules whatever the configuration says."""
    connection = action._connection  # pylint: disable=protected-access
    saved_option = None
    has_option = True
    try:
        saved_option = connection.get_option('pipelining')
    except (KeyError, AttributeError, ValueError):
        has_option = False
    play_context = getattr(action, '_play_context', None)
    saved_pc = getattr(play_context, 'pipelining', None) if play_context is not None else None

    def forced(module_style, wrap_async=False):
        # Called by _execute_module before any transfer: a module that cannot pipeline is refused here.
        if module_style != 'new' or wrap_async:
            raise KeyTransportError('the module is not a new-style module (%s) or runs with async, so it cannot take its '
                                    'arguments on stdin; nothing was sent.' % module_style)
        return True

    # An instance attribute shadows the method for this action object only (a worker process runs one task).
    action._is_pipelining_enabled = forced  # pylint: disable=protected-access
    try:
        if has_option:
            # Connection plugins also consult their own option (for example local: pty for become prompts).
            connection.set_option('pipelining', True)
        if play_context is not None and saved_pc is not None:
            play_context.pipelining = True
        yield
    finally:
        del action._is_pipelining_enabled  # pylint: disable=protected-access
        if has_option:
            connection.set_option('pipelining', saved_option)
        if play_context is not None and saved_pc is not None:
            play_context.pipelining = saved_pc


def carries_secret(module_args, secret_args):
    return any(module_args.get(name) is not None for name in secret_args)


def execute_module(action, module_name, module_args, task_vars, secret_args=('key',)):
    """``action._execute_module(...)``, except that arguments with key bytes only travel on stdin.

    When one of ``secret_args`` is set in ``module_args``, the module is pipelined regardless of the
    configured pipelining and ``ANSIBLE_KEEP_REMOTE_FILES``; when the connection cannot pipeline,
    returns a failed result (nothing sent). Otherwise it is a plain ``_execute_module`` call.
    """
    if not carries_secret(module_args, secret_args):
        return action._execute_module(module_name=module_name, module_args=module_args, task_vars=task_vars)  # pylint: disable=protected-access
    host = (task_vars or {}).get('inventory_hostname')
    blocker = pipelining_blocker(action._connection, action._task)  # pylint: disable=protected-access
    if blocker is not None:
        return {'failed': True, 'changed': False, 'msg': refusal_message(module_name, blocker, host)}
    try:
        with _forced_pipelining(action):
            result = action._execute_module(module_name=module_name, module_args=module_args, task_vars=task_vars)  # pylint: disable=protected-access
    except KeyTransportError as exc:
        return {'failed': True, 'changed': False, 'msg': refusal_message(module_name, str(exc), host)}
    return result
