# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The running "JVM": web server with /alive, /availability and /control/stop, node heartbeat; the API server
(port 19999) with the few calls of Looker's API 4.0 that Looker's Python SDK makes for login, versions(),
all_connections() and test_connection(name)."""

from __future__ import annotations

import datetime
import hmac
import ipaddress
import json
import os
import secrets
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.exceptions import InvalidTag

from standin import keys
from standin.logfmt import log
from standin.store import open_store
from standin.tasks import CONNECTION_KIND, connection_name, open_runtime, pid_file

CERT_NAME = os.path.join('.ssl', 'standin-selfsigned.crt')
KEY_NAME = os.path.join('.ssl', 'standin-selfsigned.key')

# Looker's API: error bodies are {"message", "documentation_url"} (the SDK deserialises them into its SDKError).
API_DOCS = 'https://cloud.google.com/looker/docs/'
API_NOT_FOUND = {'message': 'Not found', 'documentation_url': API_DOCS}
API_UNAUTHENTICATED = {'message': 'Requires authentication.', 'documentation_url': API_DOCS}
API_TOKEN_SECONDS = 3600
API_MAX_BODY = 1 << 20
API_VERSION = '4.0'


def write_private(path, data, mode=0o600):
    """Atomic write, mode right from the first byte."""
    dirname = os.path.dirname(path)
    os.makedirs(dirname, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', dir=dirname)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def ensure_certificate(home):
    """Self-signed EC certificate in $HOME/looker/.ssl, generated at first start."""
    cert_path = os.path.join(home, CERT_NAME)
    key_path = os.path.join(home, KEY_NAME)
    if os.path.exists(cert_path) and os.path.exists(key_path):
        return cert_path, key_path
    # pylint: disable=import-outside-toplevel
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, socket.gethostname() or 'looker')])
    now = datetime.datetime.now(datetime.timezone.utc)
    san = x509.SubjectAlternativeName([x509.DNSName('localhost'), x509.DNSName(socket.gethostname() or 'looker'),
                                       x509.IPAddress(ipaddress.ip_address('127.0.0.1'))])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650)).add_extension(san, critical=False)
            .sign(key, hashes.SHA256()))
    write_private(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
    write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert_path, key_path


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    ssl_context = None
    node = None
    api = False

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        pass  # clients that drop the connection (or fail TLS) are not our problem


class _Handler(BaseHTTPRequestHandler):
    server_version = 'Looker'
    sys_version = ''
    protocol_version = 'HTTP/1.0'

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
        super().setup()

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass

    def _send(self, code, body, ctype='application/json'):
        data = body.encode('utf-8')
        self.send_response(code)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json(self, code, obj):
        self._send(code, json.dumps(obj))

    def _body(self):
        """The request body (read before answering, so the client never meets a reset)."""
        try:
            length = int(self.headers.get('Content-Length') or 0)
        except ValueError:
            length = 0
        return self.rfile.read(min(max(length, 0), API_MAX_BODY)) if length > 0 else b''

    def _route(self, method):
        """Routes of both servers; the API's own calls only on the API server."""
        node = self.server.node
        url = urlsplit(self.path)
        body = self._body() if method in ('POST', 'PUT', 'PATCH', 'DELETE') else b''
        if url.path == '/alive' and method in ('GET', 'POST'):
            self._send(200, '', 'text/plain')
        elif url.path == '/availability' and method in ('GET', 'POST'):
            self._send(200, json.dumps(node.availability()))
        elif self.server.api:
            self._api(method, url, body)
        elif url.path == '/control/stop' and method in ('GET', 'POST'):
            token = parse_qs(url.query).get('token', [''])[0]
            if node.token and hmac.compare_digest(token.encode('utf-8'), node.token.encode('utf-8')):
                self._send(200, '{"status": "stopping"}')
                node.request_stop('stop requested through /control/stop')
            else:
                self._send(403, '{"error": "forbidden"}')
        else:
            self._send(404, '{"error": "not found"}')

    def _api(self, method, url, body):
        """Looker's API 4.0 (and the unversioned GET /versions, GET /api/versions)."""
        node = self.server.node
        path = url.path.rstrip('/') or '/'
        query = parse_qs(url.query)
        fields = query.get('fields', [''])[0]
        prefix = '/api/%s/' % API_VERSION
        call = path[len(prefix):] if path.startswith(prefix) else None
        try:
            if method == 'GET' and (path in ('/versions', '/api/versions') or call == 'versions'):
                # Answers without a login (the SDKs may call it first).
                self._json(200, pick_fields(node.api_versions(self.server.ssl_context is not None), fields))
            elif method == 'POST' and call == 'login':
                form = parse_qs(body.decode('utf-8', 'replace'))
                form = {k: form.get(k, query.get(k, ['']))[0] for k in ('client_id', 'client_secret')}
                token = node.api_login(form['client_id'], form['client_secret'])
                if token is None:
                    self._json(404, API_NOT_FOUND)  # Looker answers bad API credentials with 404
                else:
                    self._json(200, {'access_token': token, 'token_type': 'Bearer', 'expires_in': API_TOKEN_SECONDS})
            elif method == 'DELETE' and (path == '/api/logout' or call == 'logout'):
                if node.api_logout(self.headers.get('Authorization')):
                    self._send(204, '', 'text/plain')
                else:
                    self._json(401, API_UNAUTHENTICATED)
            elif call is None or not (call == 'connections' or call.startswith('connections/')):
                self._json(404, API_NOT_FOUND)
            elif not node.api_authorized(self.headers.get('Authorization')):
                self._json(401, API_UNAUTHENTICATED)
            elif method == 'GET' and call == 'connections':
                self._json(200, [pick_fields(conn, fields) for conn in node.api_connections()])
            elif method == 'PUT' and call.startswith('connections/') and call.endswith('/test') and call.count('/') == 2:
                results = node.api_test_connection(unquote(call.split('/')[1]))
                if results is None:
                    self._json(404, API_NOT_FOUND)
                else:
                    self._json(200, [pick_fields(res, fields) for res in results])
            else:
                self._json(404, API_NOT_FOUND)
        except Exception as exc:  # pylint: disable=broad-except
            log(node.home, 'ERROR', 'api', 'API %s %s failed: %s: %s' % (method, path, exc.__class__.__name__, exc))
            self._json(500, {'message': 'Internal server error: %s' % exc, 'documentation_url': API_DOCS})

    def do_GET(self):  # pylint: disable=invalid-name
        """GET."""
        self._route('GET')

    def do_POST(self):  # pylint: disable=invalid-name
        """POST."""
        self._route('POST')

    def do_PUT(self):  # pylint: disable=invalid-name
        """PUT."""
        self._route('PUT')

    def do_DELETE(self):  # pylint: disable=invalid-name
        """DELETE."""
        self._route('DELETE')


def pick_fields(obj, fields):
    """Looker's ``fields`` parameter: only the named top-level fields (nested selections keep the whole field)."""
    if not fields:
        return obj
    names, depth, word = set(), 0, ''
    for char in fields + ',':
        if char == '(':
            depth += 1
        elif char == ')':
            depth -= 1
        elif char == ',' and depth == 0:
            names.add(word.strip())
            word = ''
        elif depth == 0:
            word += char
    return {k: v for k, v in obj.items() if k in names}


def decrypt_failure(exc):
    """Why a stored credential did not decrypt, as a JVM would say it."""
    if isinstance(exc, InvalidTag):
        return 'javax.crypto.AEADBadTagException: Tag mismatch! (the key encryption key does not open this record)'
    if isinstance(exc, keys.StartError):
        return exc.reason
    return '%s: %s' % (exc.__class__.__name__, exc)


class Node:
    """One running Looker node."""

    def __init__(self, home, opts, conf, release):
        self.home = home
        self.opts = opts
        self.conf = conf
        self.release = release
        self.stop_event = threading.Event()
        self.token = None
        self.store = None
        self.settings = {}
        self.hostname = opts.get('hostname') or socket.gethostname()
        self.httpd = None
        self.stop_reason = ''
        self.kek = None  # the KEK this node runs with (None on a legacy store); the API decrypts with it
        self.api_port = None
        self._tokens = {}
        self._tokens_lock = threading.Lock()

    def availability(self):
        """JSON for /availability."""
        scheme = keys.SCHEME_GCM if self.settings.get('scheme') == 'gcm' else keys.SCHEME_LEGACY
        return {'status': 'ok', 'web': 'ok', 'database': 'ok', 'clustered': bool(self.opts.get('clustered')),
                'hostname': self.hostname, 'release': self.release, 'encryption': scheme}

    # -- Looker's API

    def api_versions(self, https):
        """ApiVersion of GET /versions."""
        scheme = 'https' if https else 'http'
        api_url = '%s://%s:%d' % (scheme, self.hostname, self.api_port or 19999)

        def element(version, full, status):
            return {'version': version, 'full_version': full, 'status': status,
                    'swagger_url': '%s/api/%s/swagger.json' % (api_url, version)}
        current = element(API_VERSION, self.release, 'current')
        return {'looker_release_version': self.release, 'current_version': current,
                'supported_versions': [element('3.1', '3.1.0', 'legacy'), current],
                'api_server_url': api_url,
                'web_server_url': '%s://%s:%d' % (scheme, self.hostname, int(self.opts.get('port') or 9999))}

    def api_login(self, client_id, client_secret):
        """A new access token when the credentials are the configured API key's, else None (also when none is set)."""
        want_id, want_secret = self.conf.get('api_client_id'), self.conf.get('api_client_secret')
        if not (want_id and want_secret and client_id and client_secret):
            return None
        ok_id = hmac.compare_digest(str(client_id).encode('utf-8'), str(want_id).encode('utf-8'))
        ok_secret = hmac.compare_digest(str(client_secret).encode('utf-8'), str(want_secret).encode('utf-8'))
        if not (ok_id and ok_secret):
            return None
        token = secrets.token_urlsafe(30)
        with self._tokens_lock:
            now = time.monotonic()
            self._tokens = {t: exp for t, exp in self._tokens.items() if exp > now}
            self._tokens[token] = now + API_TOKEN_SECONDS
        return token

    @staticmethod
    def _bearer(header):
        parts = (header or '').split(None, 1)
        if len(parts) == 2 and parts[0].lower() in ('bearer', 'token'):
            return parts[1].strip()
        return None

    def api_authorized(self, header):
        """True when the Authorization header holds a live token of this node."""
        token = self._bearer(header)
        with self._tokens_lock:
            expiry = self._tokens.get(token) if token else None
        return expiry is not None and expiry > time.monotonic()

    def api_logout(self, header):
        """Revoke the token; False when it was not a live one."""
        ok = self.api_authorized(header)
        if ok:
            with self._tokens_lock:
                self._tokens.pop(self._bearer(header), None)
        return ok

    def _connection_records(self):
        """The connection_credentials records as stored now (MySQL: on a connection of this call's own)."""
        store = self.store
        if store.kind == 'mysql':
            store = open_store(self.home, self.store.creds)
        try:
            _settings, records = store.read()
        finally:
            if store is not self.store:
                store.close()
        return sorted((r for r in records if r['kind'] == CONNECTION_KIND), key=lambda r: r['id'])

    @staticmethod
    def _connection(record):
        name = connection_name(record['id'])
        return {'name': name, 'dialect_name': 'mysql', 'host': '%s.db.standin.invalid' % name, 'port': '3306',
                'database': 'analytics_%s' % name.split('-', 1)[-1]}

    def api_connections(self):
        """DBConnection list of GET /connections."""
        return [self._connection(r) for r in self._connection_records()]

    def api_test_connection(self, name):
        """DBConnectionTestResult list of PUT /connections/{name}/test, or None for an unknown connection.

        The record is read from the store now and decrypted with the KEK this node runs with."""
        record = next((r for r in self._connection_records() if connection_name(r['id']) == name), None)
        if record is None:
            return None
        conn = self._connection(record)
        result = {'name': 'connect', 'connection_string': 'jdbc:mysql://%s:%s/%s' % (conn['host'], conn['port'], conn['database'])}
        try:
            plaintext = keys.decrypt_any(self.kek, record['id'], record['value'])
            body = json.loads(plaintext.decode('utf-8'))
            if not isinstance(body, dict) or body.get('kind') != CONNECTION_KIND:
                raise ValueError('the decrypted value is not a connection credential')
        except Exception as exc:  # pylint: disable=broad-except
            why = decrypt_failure(exc)
            log(self.home, 'WARN', 'api', 'Connection test of %s failed: cannot decrypt its stored credentials: %s' % (name, why))
            return [dict(result, status='error', message='Cannot decrypt the stored credentials of connection %s: %s' % (name, why))]
        return [dict(result, status='success', message='Can connect')]

    def request_stop(self, reason):
        """Begin the graceful shutdown."""
        self.stop_reason = self.stop_reason or reason
        self.stop_event.set()

    def _heartbeat(self):
        conn = None
        interval = float(self.conf['heartbeat_seconds'])
        while not self.stop_event.wait(interval):
            try:
                if conn is None:
                    conn = self.store.connect()
                self.store.heartbeat(self.hostname, conn)
            except Exception as exc:  # pylint: disable=broad-except
                log(self.home, 'WARN', 'cluster', 'heartbeat to the internal database failed: %s' % exc)
                conn = None
        if conn is not None:
            conn.close()

    def run(self, foreground):
        """Start, serve until asked to stop, stop. Returns the exit code."""
        pidf = pid_file(self.home)
        try:
            return self._run(foreground)
        finally:
            try:
                os.unlink(pidf)
            except OSError:
                pass

    def _fail(self, message, foreground):
        log(self.home, 'ERROR', 'looker', message)
        if foreground:
            sys.stderr.write(message + '\n')
            sys.stderr.flush()
        return 1

    def _run(self, foreground):
        home = self.home
        log(home, 'INFO', 'looker', 'Starting Looker %s (stand-in) pid %d' % (self.release, os.getpid()))
        try:
            shared = self.opts.get('shared_storage_dir')
            if shared and not os.path.isdir(shared):
                raise keys.StartError('shared storage directory %s does not exist' % shared)
            self.store, self.settings, self.kek, cmk, created = open_runtime(
                home, self.opts.get('creds'), self.conf, create=True, for_start=True)
        except keys.StartError as exc:
            return self._fail(str(exc), foreground)
        scheme = keys.SCHEME_GCM if self.settings.get('scheme') == 'gcm' else keys.SCHEME_LEGACY
        if created:
            log(home, 'INFO', 'crypt', 'New internal database created; encryption %s' % scheme)
        elif cmk is not None and self.settings.get('scheme') == 'legacy':
            log(home, 'WARN', 'crypt', 'Key settings (%s) present but the database uses %s; run migrate_encryption to migrate'
                % (cmk.source, keys.SCHEME_LEGACY))
        log(home, 'INFO', 'crypt', 'Encryption: %s' % scheme)
        heartbeat = None
        if self.store.kind == 'mysql':
            self.store.register_node(self.hostname, os.getpid())
            log(home, 'INFO', 'cluster', 'Registered node %s with the internal database' % self.hostname)
            heartbeat = threading.Thread(target=self._heartbeat, name='heartbeat', daemon=True)
            heartbeat.start()
        try:
            return self._serve(foreground)
        finally:
            self.stop_event.set()
            if heartbeat is not None:
                heartbeat.join(10)
                try:
                    self.store.node_stopped(self.hostname)
                except Exception:  # pylint: disable=broad-except
                    pass
            self.store.close()

    def _serve(self, foreground):
        home = self.home
        if self.stop_event.wait(float(self.conf['start_seconds'])):
            log(home, 'INFO', 'looker', 'Stopped during startup (%s)' % self.stop_reason)
            return 0
        port = int(self.opts.get('port') or os.environ.get('LOOKERPORT') or 9999)
        try:
            httpd = _Server(('0.0.0.0', port), _Handler)
        except OSError as exc:
            return self._fail('Looker can not start because: port %d is not available: %s' % (port, exc.strerror), foreground)
        api_port = int(self.opts.get('api_port') or 19999)
        try:
            apid = _Server(('0.0.0.0', api_port), _Handler)
        except OSError as exc:
            httpd.server_close()
            return self._fail('Looker can not start because: port %d is not available: %s' % (api_port, exc.strerror), foreground)
        httpd.node = apid.node = self
        self.api_port = api_port
        httpd.api, apid.api = False, True
        if not self.opts.get('no_ssl'):
            cert, key = ensure_certificate(home)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            httpd.ssl_context = apid.ssl_context = ctx
        self.httpd = httpd
        self.token = secrets.token_hex(32)
        token_path = os.path.join(home, '.status_server_token')
        write_private(token_path, self.token.encode('ascii'))
        thread = threading.Thread(target=httpd.serve_forever, kwargs={'poll_interval': 0.1}, name='web', daemon=True)
        thread.start()
        threading.Thread(target=apid.serve_forever, kwargs={'poll_interval': 0.1}, name='api', daemon=True).start()
        log(home, 'INFO', 'looker', 'Looker started: listening on port %d (%s)' % (port, 'http' if self.opts.get('no_ssl') else 'https'))
        try:
            self.stop_event.wait()
            log(home, 'INFO', 'looker', 'Shutting down Looker (%s)' % self.stop_reason)
            threading.Event().wait(float(self.conf['stop_seconds']))  # graceful shutdown work; /alive still answers
        finally:
            apid.shutdown()
            apid.server_close()
            httpd.shutdown()
            httpd.server_close()
            try:
                os.unlink(token_path)
            except OSError:
                pass
        log(home, 'INFO', 'looker', 'Looker stopped')
        return 0


def run_node(home, opts, conf, release, foreground, ready_fd=None):
    """Write the pid file, tell the starter, run the node. Returns the exit code."""
    os.makedirs(os.path.join(home, '.tmp'), exist_ok=True)
    node = Node(home, opts, conf, release)
    signal.signal(signal.SIGTERM, lambda *_: node.request_stop('SIGTERM'))
    if foreground:
        signal.signal(signal.SIGINT, lambda *_: node.request_stop('SIGINT'))
    write_private(pid_file(home), ('%d\n' % os.getpid()).encode('ascii'), 0o644)
    if ready_fd is not None:
        os.write(ready_fd, b'1')
        os.close(ready_fd)
    return node.run(foreground)
