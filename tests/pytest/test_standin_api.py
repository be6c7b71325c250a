# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in facts: Looker's API 4.0 (login, versions, connections, connection tests), driven through Looker's own
Python SDK (looker-sdk, init40) against real stand-in processes on loopback."""

from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest
from looker_sdk import init40
from looker_sdk.error import SDKError
from looker_sdk.rtl.api_settings import ApiSettings

# pylint: disable=unused-import,redefined-outer-name
from standin_fixtures import backend, make_node, new_cmk, standin_mariadb  # noqa: F401
from standin import keys  # noqa: E402  (tests/ is on sys.path once standin_fixtures is imported)
from standin.store import FileStore  # noqa: E402

# The stand-in's own tests (test code, exercised by every end-to-end test of the gate): the long tier. The SDK talks
# to the stand-in's self-signed certificate with verify_ssl false, as an operator would to Looker's own.
pytestmark = [pytest.mark.full, pytest.mark.filterwarnings('ignore::urllib3.exceptions.InsecureRequestWarning')]

CLIENT_ID = 'standin-api-client'
CLIENT_SECRET = 'standin-api-test-secret'  # the stand-in's test API key, nothing real
DOCS = 'https://cloud.google.com/looker/docs/'
NOT_FOUND = {'message': 'Not found', 'documentation_url': DOCS}
UNAUTHENTICATED = {'message': 'Requires authentication.', 'documentation_url': DOCS}
RECORDS = 15
# Records cycle through five kinds, the first being connection_credentials: rec-00001, rec-00006, rec-00011.
CONNECTIONS = ['conn-00001', 'conn-00006', 'conn-00011']
API_KEY = {'api_client_id': CLIENT_ID, 'api_client_secret': CLIENT_SECRET}


@pytest.fixture(autouse=True)
def no_ca_bundle_override(monkeypatch):
    """requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's verify=False (the SDK's verify_ssl false):
    without them, the SDK's setting is what counts."""
    monkeypatch.delenv('REQUESTS_CA_BUNDLE', raising=False)
    monkeypatch.delenv('CURL_CA_BUNDLE', raising=False)


class StandinSettings(ApiSettings):
    """The SDK's settings given in code: ApiSettings with read_config() overridden (no looker.ini, no environment)."""

    def __init__(self, node, client_id=CLIENT_ID, client_secret=CLIENT_SECRET):
        self._config = {'base_url': 'https://127.0.0.1:%d' % node.api_port, 'verify_ssl': 'false', 'timeout': '30',
                        'client_id': client_id, 'client_secret': client_secret}
        super().__init__()

    def read_config(self):
        return dict(self._config)


def sdk(node, client_id=CLIENT_ID, client_secret=CLIENT_SECRET):
    """A Looker40SDK on the node's API (a fresh auth session: it logs in at its first call)."""
    return init40(config_settings=StandinSettings(node, client_id, client_secret))


def raw(node, method, path, body=None, token=None):
    """(status, JSON body or None) of one plain HTTPS request to the node's API (certificate not verified)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx))
    req = urllib.request.Request('https://127.0.0.1:%d%s' % (node.api_port, path), data=body, method=method)
    if body is not None:
        req.add_header('Content-Type', 'application/x-www-form-urlencoded')
    if token:
        req.add_header('Authorization', 'Bearer ' + token)
    try:
        with opener.open(req, timeout=30) as resp:
            status, data = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, data = exc.code, exc.read()
    return status, (json.loads(data) if data else None)


def login_form(client_id=CLIENT_ID, client_secret=CLIENT_SECRET):
    """The form body of POST /login."""
    return urlencode({'client_id': client_id, 'client_secret': client_secret}).encode('ascii')


def start(node, env=None):
    """./looker start and wait until up."""
    res = node.looker('start', env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    node.wait_up()


def stop(node):
    """./looker stop and wait until down."""
    node.looker('stop')
    node.wait_down()


def seeded(make_node, **tunables):
    """A node with the test API key and a legacy store of RECORDS records."""
    node = make_node(**dict(API_KEY, **tunables))
    res = node.java('standin_seed', '--records', str(RECORDS))
    assert res.returncode == 0, res.stderr
    return node


def connection_tests(api):
    """{name: [(test name, status, message)]} of Looker's test of every listed connection."""
    return {conn.name: [(t.name, t.status, t.message) for t in api.test_connection(conn.name)] for conn in api.all_connections()}


def assert_all_connect(api):
    """Every connection is listed and its one test says it can connect."""
    assert connection_tests(api) == {name: [('connect', 'success', 'Can connect')] for name in CONNECTIONS}


def login_refusal(api):
    """The body of Looker's answer that made the SDK's login fail (SDKError)."""
    with pytest.raises(SDKError) as info:
        api.all_connections()
    return json.loads(info.value.message)


def test_login_refused_with_wrong_credentials(make_node):
    """A wrong client secret or client id: 404 Not found (the SDK raises SDKError); the right key logs in."""
    node = make_node(**API_KEY)
    start(node)
    assert login_refusal(sdk(node, CLIENT_ID, 'not-' + CLIENT_SECRET)) == NOT_FOUND
    assert login_refusal(sdk(node, 'not-' + CLIENT_ID, CLIENT_SECRET)) == NOT_FOUND
    assert raw(node, 'POST', '/api/4.0/login', login_form(client_secret='wrong')) == (404, NOT_FOUND)
    status, token = raw(node, 'POST', '/api/4.0/login', login_form())
    assert status == 200
    assert sorted(token) == ['access_token', 'expires_in', 'token_type']
    assert token['token_type'] == 'Bearer' and token['expires_in'] == 3600 and len(token['access_token']) >= 20
    assert raw(node, 'POST', '/api/4.0/login', login_form())[1]['access_token'] != token['access_token']
    # A new instance has FAST's 6 records: two connections.
    assert [c.name for c in sdk(node).all_connections()] == CONNECTIONS[:2]


def test_login_refused_without_configured_credentials(make_node):
    """No API key configured on the node: every login is refused with 404, whatever the client sends."""
    node = make_node()
    start(node)
    assert login_refusal(sdk(node)) == NOT_FOUND
    for form in (login_form(), login_form('', ''), login_form('None', 'None'), b''):
        assert raw(node, 'POST', '/api/4.0/login', form) == (404, NOT_FOUND)


def test_versions(make_node):
    """versions(): the node's release and API 4.0 as the current version; GET /versions needs no login."""
    release = '25.6.30'
    node = make_node(release=release, **API_KEY)
    start(node)
    ver = sdk(node).versions()
    assert ver.looker_release_version == release
    assert (ver.current_version.version, ver.current_version.full_version, ver.current_version.status) == ('4.0', release, 'current')
    assert ver.current_version.swagger_url.endswith(':%d/api/4.0/swagger.json' % node.api_port)
    assert [(v.version, v.status) for v in ver.supported_versions if v.version == '4.0'] == [('4.0', 'current')]
    for path in ('/api/4.0/versions', '/versions', '/api/versions'):
        status, body = raw(node, 'GET', path)
        assert status == 200, path
        assert body['looker_release_version'] == release and body['current_version']['version'] == '4.0', path


def test_connections_and_tests_across_migration_and_rekey(make_node):
    """The same connections before and after migrate_encryption and rekey; every test succeeds on each store."""
    node = seeded(make_node)
    start(node)
    api = sdk(node)
    conns = api.all_connections()
    assert [c.name for c in conns] == CONNECTIONS
    assert all(c.dialect_name == 'mysql' and c.host and c.database for c in conns)
    shapes = [(c.name, c.host, c.database) for c in conns]
    assert [(c.name, c.host) for c in api.all_connections(fields='name')] == [(name, None) for name in CONNECTIONS]
    assert_all_connect(api)
    with pytest.raises(SDKError) as info:
        api.test_connection('conn-00002')  # rec-00002 holds no connection credential
    assert info.value.message == 'Not found'
    assert node.inspect()['legacy'] == RECORDS
    stop(node)

    old = {'LKR_MASTER_KEY_ENV': new_cmk()}
    res = node.java('migrate_encryption', env=old)
    assert res.returncode == 0, res.stderr
    assert node.inspect(env=old)['gcm'] == RECORDS
    start(node, env=old)
    api = sdk(node)
    assert [(c.name, c.host, c.database) for c in api.all_connections()] == shapes
    assert_all_connect(api)
    stop(node)

    new = {'LKR_MASTER_KEY_ENV': new_cmk()}
    res = node.java('rekey', env={'LKR_MASTER_KEY_ENV_SOURCE': old['LKR_MASTER_KEY_ENV'],
                                  'LKR_MASTER_KEY_ENV_DESTINATION': new['LKR_MASTER_KEY_ENV']})
    assert res.returncode == 0, res.stderr
    start(node, env=new)
    api = sdk(node)
    assert [(c.name, c.host, c.database) for c in api.all_connections()] == shapes
    assert_all_connect(api)


def test_undecryptable_connection_fails_its_test_after_migration(make_node):
    """undecryptable_connection: after the migration exactly that connection's test is an error naming it."""
    broken = 'conn-00006'
    node = seeded(make_node, undecryptable_connection=broken)
    start(node)
    assert_all_connect(sdk(node))  # the legacy store is fine: the migration is what breaks it
    stop(node)
    env = {'LKR_MASTER_KEY_ENV': new_cmk()}
    res = node.java('migrate_encryption', env=env)
    assert res.returncode == 0, res.stderr
    start(node, env=env)
    results = connection_tests(sdk(node))
    assert sorted(results) == CONNECTIONS
    for name in CONNECTIONS:
        if name == broken:
            [(test, status, message)] = results[name]
            assert (test, status) == ('connect', 'error')
            assert message.startswith('Cannot decrypt the stored credentials of connection %s: ' % broken), message
            assert 'Tag mismatch' in message
        else:
            assert results[name] == [('connect', 'success', 'Can connect')], name
    assert 'Connection test of %s failed' % broken in node.log()
    # standin_inspect decrypts every record and skips nothing: it fails on that one.
    assert node.java('standin_inspect', env=env).returncode != 0


def test_connection_test_reads_the_store_at_the_time_of_the_call(make_node):
    """A credential re-encrypted under a foreign KEK while Looker runs fails its next test; put back, it passes."""
    node = seeded(make_node)
    env = {'LKR_MASTER_KEY_ENV': new_cmk()}
    assert node.java('migrate_encryption', env=env).returncode == 0
    start(node, env=env)
    api = sdk(node)
    assert_all_connect(api)
    store = FileStore(node.home)
    record = next(r for r in store.read()[1] if r['id'] == 'rec-00011')
    foreign = keys.gcm_encrypt(os.urandom(32), record['id'], b'{"kind": "connection_credentials"}')
    store.put_record(dict(record, value=foreign))
    [(test, status, message)] = [(t.name, t.status, t.message) for t in api.test_connection('conn-00011')]
    assert (test, status) == ('connect', 'error') and 'conn-00011' in message
    assert [t.status for t in api.test_connection('conn-00001')] == ['success']
    store.put_record(record)
    assert_all_connect(api)


def test_cluster_on_mysql_backend(make_node, backend, tmp_path):
    """Two clustered nodes on one MySQL backend list the same connections; each test reads the backend at call time."""
    mariadb, creds = backend
    shared = tmp_path / 'shared'
    shared.mkdir()
    nodes = []
    for idx in (1, 2):
        node = make_node('looker%d' % idx, **API_KEY)
        node.write_cfg('--clustered -H looker%d -d %s --shared-storage-dir %s' % (idx, creds, shared))
        nodes.append(node)
    assert nodes[0].java('standin_seed', '--records', str(RECORDS), '-d', creds).returncode == 0
    for node in nodes:
        start(node)
    apis = [sdk(node) for node in nodes]
    for api in apis:
        assert_all_connect(api)
    conn = mariadb.connect(database=mariadb.database)
    try:
        with conn.cursor() as cur:
            cur.execute('SELECT value FROM standin_secret WHERE id = %s', ('rec-00011',))
            original = cur.fetchone()[0]
            foreign = keys.gcm_encrypt(os.urandom(32), 'rec-00011', b'{"kind": "connection_credentials"}')
            cur.execute('UPDATE standin_secret SET value = %s WHERE id = %s', (foreign, 'rec-00011'))
        conn.commit()
        for api in apis:
            [(status, message)] = [(t.status, t.message) for t in api.test_connection('conn-00011')]
            assert status == 'error' and message.startswith('Cannot decrypt the stored credentials of connection conn-00011: ')
        with conn.cursor() as cur:
            cur.execute('UPDATE standin_secret SET value = %s WHERE id = %s', (original, 'rec-00011'))
        conn.commit()
    finally:
        conn.close()
    for api in apis:
        assert_all_connect(api)


def test_calls_need_a_token(make_node):
    """Without a live Bearer token from login: 401 Requires authentication.; with one: the calls answer."""
    node = make_node(**API_KEY)
    start(node)
    assert raw(node, 'GET', '/api/4.0/connections') == (401, UNAUTHENTICATED)
    assert raw(node, 'GET', '/api/4.0/connections', token='not-a-token') == (401, UNAUTHENTICATED)
    assert raw(node, 'PUT', '/api/4.0/connections/conn-00001/test', b'') == (401, UNAUTHENTICATED)
    token = raw(node, 'POST', '/api/4.0/login', login_form())[1]['access_token']
    status, conns = raw(node, 'GET', '/api/4.0/connections', token=token)
    assert status == 200 and [c['name'] for c in conns] == CONNECTIONS[:2]
    assert all(c['dialect_name'] == 'mysql' for c in conns)
    status, tests = raw(node, 'PUT', '/api/4.0/connections/conn-00001/test', b'', token=token)
    assert status == 200 and [(t['name'], t['status']) for t in tests] == [('connect', 'success')]
    assert raw(node, 'PUT', '/api/4.0/connections/conn-00099/test', b'', token=token) == (404, NOT_FOUND)
    assert raw(node, 'DELETE', '/api/logout', token=token) == (204, None)
    assert raw(node, 'GET', '/api/4.0/connections', token=token) == (401, UNAUTHENTICATED)
