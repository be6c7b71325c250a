# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in facts: key settings, their error texts, and which scheme a node starts in."""

from __future__ import annotations

import base64
import json
import os
import ssl
import http.client

import pytest

# pylint: disable=unused-import,redefined-outer-name
from standin_fixtures import LOG_LINE, make_node, new_cmk, poll  # noqa: F401

# The stand-in's own tests (test code, exercised by every end-to-end test of the gate): the long tier.
pytestmark = pytest.mark.full

PREFIX = 'Looker can not start because: '


def write_key(node, text, mode=0o400, name='cmk.key'):
    """Key file outside the Looker home, with ``mode``."""
    path = os.path.join(node.root, name)
    if os.path.exists(path):
        os.chmod(path, 0o600)
        os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as handle:
        handle.write(text)
    os.chmod(path, mode)
    return path


def key_error_cases(node):
    """(name, env, expected message) for each documented key error."""
    short = base64.b64encode(os.urandom(16)).decode('ascii') + '\n'
    return [
        ('missing', {'LKR_MASTER_KEY_FILE': os.path.join(node.root, 'nope.key')}, PREFIX + 'Missing backing keystore'),
        ('size-file', {'LKR_MASTER_KEY_FILE': write_key(node, short, name='short.key')},
         PREFIX + 'Size of the Master Key is invalid it must be 32 bytes however is 16'),
        ('size-env', {'LKR_MASTER_KEY_ENV': base64.b64encode(os.urandom(24)).decode('ascii')},
         PREFIX + 'Size of the Master Key is invalid it must be 32 bytes however is 24'),
        ('mode-600', {'LKR_MASTER_KEY_FILE': write_key(node, new_cmk() + '\n', 0o600, name='k600.key')},
         PREFIX + 'Permission for backing key file must be 0400, but is 600'),
        ('mode-644', {'LKR_MASTER_KEY_FILE': write_key(node, new_cmk() + '\n', 0o644, name='k644.key')},
         PREFIX + 'Permission for backing key file must be 0400, but is 644'),
    ]


def test_key_errors_foreground_and_tasks(make_node):
    """Each seed error text: on stderr with non-zero exit for start --no-daemonize and migrate_encryption."""
    node = make_node()
    assert node.java('standin_seed', '--records', '4').returncode == 0
    for name, env, message in key_error_cases(node):
        res = node.java('start', '--no-daemonize', '--port', str(node.port), env=env)
        assert res.returncode != 0, name
        assert message in res.stderr.splitlines(), (name, res.stderr)
        assert message in node.log(), name
        assert node.pid() is None, name
        res = node.java('migrate_encryption', env=env)
        assert res.returncode != 0, name
        assert message in res.stderr.splitlines(), (name, res.stderr)
    assert node.inspect()['legacy'] == 4


def test_key_error_daemon_mode_script_exits_zero(make_node):
    """Daemon start with a bad key: ./looker start exits 0 (dash quirk), the log says why, never alive."""
    node = make_node()
    key = write_key(node, new_cmk() + '\n', 0o644)
    res = node.looker('start', env={'LKR_MASTER_KEY_FILE': key})
    assert res.returncode == 0, res.stderr
    poll(lambda: PREFIX + 'Permission for backing key file must be 0400, but is 644' in node.log(), 15, 'error in log')
    node.wait_down()
    assert node.pid() is None
    assert not os.path.exists(node.path('.status_server_token'))
    assert all(LOG_LINE.match(line) for line in node.log().splitlines())


@pytest.mark.parametrize('how', ['env', 'file', 'file-newline', 'env-newline'])
def test_new_instance_starts_in_gcm_with_key(make_node, how):
    """A new instance with key settings starts directly in GCM; key via env or 0400 file, newline accepted."""
    node = make_node()
    cmk = new_cmk()
    if how.startswith('env'):
        env = {'LKR_MASTER_KEY_ENV': cmk + ('\n' if how == 'env-newline' else '')}
    else:
        env = {'LKR_MASTER_KEY_FILE': write_key(node, cmk + ('\n' if how == 'file-newline' else ''))}
    res = node.looker('start', env=env)
    assert res.returncode == 0, res.stderr
    node.wait_up()
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection('127.0.0.1', node.port, context=ctx, timeout=10)
    conn.request('GET', '/availability')
    avail = json.loads(conn.getresponse().read())
    conn.close()
    assert avail['encryption'] == 'AES-GCM-256'
    assert node.looker('stop').returncode == 0
    node.wait_down()
    state = node.inspect(env=env)
    assert state['gcm'] == state['total'] == 6 and state['legacy'] == 0
    # The same store without key settings refuses: GCM needs the CMK.
    res = node.java('start', '--no-daemonize', '--port', str(node.port))
    assert res.returncode != 0
    assert PREFIX + 'Missing backing keystore' in res.stderr


def test_wrong_key_refuses_gcm_store(make_node):
    """A GCM store started with another CMK: clear refusal, never alive."""
    node = make_node()
    good = {'LKR_MASTER_KEY_ENV': new_cmk()}
    assert node.java('standin_seed', '--records', '5').returncode == 0
    assert node.java('migrate_encryption', env=good).returncode == 0
    res = node.java('start', '--no-daemonize', '--port', str(node.port), env={'LKR_MASTER_KEY_ENV': new_cmk()})
    assert res.returncode != 0
    assert res.stderr.startswith(PREFIX) and 'not the key this database was encrypted with' in res.stderr
    assert node.pid() is None
    res = node.java('standin_inspect', env={'LKR_MASTER_KEY_ENV': new_cmk()})
    assert res.returncode != 0
    assert node.inspect(env=good)['gcm'] == 5


def test_legacy_store_with_key_stays_legacy(make_node):
    """Decision: a legacy store started with key settings runs on legacy until migrate_encryption."""
    node = make_node()
    env = {'LKR_MASTER_KEY_ENV': new_cmk()}
    assert node.java('standin_seed', '--records', '5').returncode == 0
    before = node.inspect()
    assert node.looker('start', env=env).returncode == 0
    node.wait_up()
    assert node.looker('stop').returncode == 0
    node.wait_down()
    after = node.inspect()
    assert after == before and after['legacy'] == 5
    assert 'run migrate_encryption to migrate' in node.log()


def test_legacy_store_without_key_starts(make_node):
    """No key settings, legacy store: starts on legacy."""
    node = make_node()
    assert node.java('standin_seed', '--records', '3').returncode == 0
    assert node.looker('start').returncode == 0
    node.wait_up()
    assert 'Encryption: AES-128-CBC Legacy' in node.log()


def test_invalid_base64_key(make_node):
    """Decision: text that is not base64 is refused with its own message."""
    node = make_node()
    res = node.java('start', '--no-daemonize', env={'LKR_MASTER_KEY_ENV': 'not base64 at all!'})
    assert res.returncode != 0
    assert PREFIX + 'Master Key is not valid base64' in res.stderr
