# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the lk_peer_alive module: whether this node reaches another node's /alive."""

from __future__ import annotations

import http.server
import socket
import threading

from ansible_collections.lookerops.encryption.plugins.modules import lk_peer_alive
from ansible_collections.lookerops.encryption.tests.unit.plugins.modules.utils import run_main


class _Alive(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # pylint: disable=invalid-name
        self.send_response(200 if self.path == '/alive' else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_node_that_answers(monkeypatch):
    server = http.server.HTTPServer(('127.0.0.1', 0), _Alive)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = 'http://127.0.0.1:%d/alive' % server.server_address[1]
        res = run_main(lk_peer_alive, {'url': url}, monkeypatch, check_mode=True)
        assert res['changed'] is False and res['alive'] == {'state': 'up', 'status': 200, 'detail': 'HTTP 200', 'url': url}
        res = run_main(lk_peer_alive, {'url': url.replace('/alive', '/other')}, monkeypatch)
        assert res['alive']['state'] == 'error' and res['alive']['detail'] == 'HTTP 404'
    finally:
        server.shutdown()
        server.server_close()


def test_a_node_where_nothing_listens(monkeypatch):
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    res = run_main(lk_peer_alive, {'url': 'http://127.0.0.1:%d/alive' % port}, monkeypatch)
    assert res['changed'] is False and res['alive']['state'] == 'refused'


def test_a_url_that_is_not_http(monkeypatch):
    res = run_main(lk_peer_alive, {'url': 'ftp://node1/alive'}, monkeypatch)
    assert res['failed'] and 'must start with http:// or https://' in res['msg']
