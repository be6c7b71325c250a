# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The running "JVM": web server with /alive, /availability and /control/stop, node heartbeat."""

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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from standin import keys
from standin.logfmt import log
from standin.tasks import open_runtime, pid_file

CERT_NAME = os.path.join('.ssl', 'standin-selfsigned.crt')
KEY_NAME = os.path.join('.ssl', 'standin-selfsigned.key')


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

    def do_GET(self):  # pylint: disable=invalid-name
        """Routes."""
        node = self.server.node
        url = urlsplit(self.path)
        if url.path == '/alive':
            self._send(200, '', 'text/plain')
        elif url.path == '/availability':
            self._send(200, json.dumps(node.availability()))
        elif url.path in ('/versions', '/api/versions') and self.server.api:
            # Looker's API root: GET /versions answers without a login (the SDKs call it first).
            self._send(200, json.dumps({'looker_release_version': node.release,
                                        'current_version': {'version': node.release, 'full_version': node.release + '.0'}}))
        elif url.path == '/control/stop' and not self.server.api:
            token = parse_qs(url.query).get('token', [''])[0]
            if node.token and hmac.compare_digest(token.encode('utf-8'), node.token.encode('utf-8')):
                self._send(200, '{"status": "stopping"}')
                node.request_stop('stop requested through /control/stop')
            else:
                self._send(403, '{"error": "forbidden"}')
        else:
            self._send(404, '{"error": "not found"}')

    do_POST = do_GET


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

    def availability(self):
        """JSON for /availability."""
        scheme = keys.SCHEME_GCM if self.settings.get('scheme') == 'gcm' else keys.SCHEME_LEGACY
        return {'status': 'ok', 'web': 'ok', 'database': 'ok', 'clustered': bool(self.opts.get('clustered')),
                'hostname': self.hostname, 'release': self.release, 'encryption': scheme}

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
            self.store, self.settings, _kek, cmk, created = open_runtime(
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
