# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of _looker.start_gate (a node waiting for the first node's /alive) and http.probe_url_alive."""

from __future__ import annotations

import http.server
import json
import os
import socket
import stat
import threading

import pytest

from ansible_collections.lookerops.encryption.plugins.module_utils._looker import start_gate as sg
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.home import OperationFailed
from ansible_collections.lookerops.encryption.plugins.module_utils._looker.http import probe_url_alive


class _Fence:
    def __init__(self, ours=True):
        self.ours = ours

    def state(self, run_id):
        return {'present': True, 'content': 'run r1' if self.ours else 'someone else', 'ours': self.ours and run_id == 'r1'}


class _Node:
    def __init__(self, home, ours=True):
        self.home = str(home)
        self.fence_file = os.path.join(self.home, '.deploying')
        self.fence = _Fence(ours)


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def _probe(states, clock=None, at=None):
    """A probe answering each state in turn (the last one repeats); ``at`` calls at[1]() when the at[0]-th probe comes."""
    calls = []

    def probe(url):
        calls.append(url)
        if at and len(calls) == at[0]:
            at[1]()
        state = states[min(len(calls), len(states)) - 1]
        return {'state': state, 'status': 200 if state == 'up' else None, 'detail': 'detail of %s' % state, 'url': url}
    probe.calls = calls
    return probe


URL = 'https://198.51.100.11:9999/alive'


def _wait(node, states=('up',), timeout=600, at=None, grace=30):
    clock = _Clock()
    probe = _probe(list(states), at=at)
    result = sg.wait_for_first_node(node, 'r1', URL, timeout, poll_interval=0.2, unreachable_grace=grace, clock=clock,
                                    sleep=clock.sleep, probe=probe)
    return result, probe


def _gate(node):
    return os.path.join(node.home, '.lookerops-start-gate-r1')


def test_opens_as_soon_as_the_first_node_answers_holding_the_gate_file_meanwhile(tmp_path):
    node, seen = _Node(tmp_path), []

    def look():
        path = _gate(node)
        with open(path, encoding='utf-8') as handle:
            seen.append((stat.S_IMODE(os.stat(path).st_mode), json.load(handle)))
    result, probe = _wait(node, states=['refused'] * 10 + ['up'], at=(5, look))
    assert result == {'open': True, 'waited_seconds': 2.0} and len(probe.calls) == 11 and probe.calls[0] == URL
    assert seen == [(0o600, {'pid': os.getpid(), 'run_id': 'r1', 'url': URL})]
    assert os.listdir(node.home) == [], 'the gate file is removed once the wait ends'


def test_a_brief_loss_of_the_address_is_tolerated(tmp_path):
    result = _wait(_Node(tmp_path), states=['refused', 'error', 'error', 'refused', 'up'], grace=0.3)[0]
    assert result['open'] is True


def test_an_address_that_stops_answering_fails_without_starting(tmp_path):
    node = _Node(tmp_path)
    with pytest.raises(OperationFailed) as exc:
        _wait(node, states=['refused', 'error'], grace=1.0)
    assert 'has not reached the first node\'s /alive at %s for 1.0s (detail of error)' % URL in str(exc.value)
    assert 'was not started' in str(exc.value) and exc.value.result['gate_failed'] is True
    assert os.listdir(node.home) == []


def test_a_first_node_that_never_answers_times_out(tmp_path):
    with pytest.raises(OperationFailed) as exc:
        _wait(_Node(tmp_path), states=['refused'], timeout=5)
    assert 'did not answer /alive at %s within 5s' % URL in str(exc.value) and 'not started' in str(exc.value)


def test_removing_the_gate_file_cancels_the_wait(tmp_path):
    node = _Node(tmp_path)
    result, probe = _wait(node, states=['refused'], at=(3, lambda: os.unlink(_gate(node))))
    assert result['open'] is False and 'cancelled this start' in result['cancelled'] and len(probe.calls) == 3


def test_a_later_wait_of_the_same_run_takes_the_file_over(tmp_path):
    # A resumed run's start replaced the gate file: this (older) wait ends, and leaves the newer one's file alone.
    node = _Node(tmp_path)

    def replace():
        with open(_gate(node), 'w', encoding='utf-8') as handle:
            json.dump({'pid': os.getpid() + 1, 'run_id': 'r1', 'url': URL}, handle)
    result = _wait(node, states=['refused'], at=(2, replace))[0]
    assert result['open'] is False and os.path.exists(_gate(node))


def test_a_fence_no_longer_ours_ends_the_wait(tmp_path):
    node = _Node(tmp_path)
    result, probe = _wait(node, states=['refused'], at=(2, lambda: setattr(node.fence, 'ours', False)))
    assert result['open'] is False and 'fence of this run is gone' in result['cancelled'] and len(probe.calls) == 2


def test_no_fence_of_this_run_at_all(tmp_path):
    result, probe = _wait(_Node(tmp_path, ours=False), states=['up'])
    assert result['open'] is False and probe.calls == []


def test_read_gates_lists_the_gate_files_with_their_pid(tmp_path):
    for name, data in (('.lookerops-start-gate-r1', {'pid': 4242, 'run_id': 'r1', 'url': URL}),
                       ('.lookerops-start-gate-r2', 'not json'), ('.lookerops-start-gate-r3.99.tmp', {}), ('other', {})):
        with open(tmp_path / name, 'w', encoding='utf-8') as handle:
            handle.write(json.dumps(data) if isinstance(data, dict) else data)
    gates = sg.read_gates(str(tmp_path), lambda pid: pid == 4242)
    assert gates == [{'name': '.lookerops-start-gate-r1', 'run_id': 'r1', 'pid': 4242, 'pid_alive': True},
                     {'name': '.lookerops-start-gate-r2', 'run_id': None, 'pid': None, 'pid_alive': False}]
    assert sg.read_gates(str(tmp_path / 'missing'), lambda pid: True) == []


class _Alive(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # pylint: disable=invalid-name
        self.send_response(self.status if self.path == '/alive' else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize('status, state, detail', [(200, 'up', 'HTTP 200'), (503, 'error', 'HTTP 503')])
def test_probe_url_alive_reads_the_status(status, state, detail):
    handler = type('Handler', (_Alive,), {'status': status})
    server = http.server.HTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = 'http://127.0.0.1:%d/alive' % server.server_address[1]
        assert probe_url_alive(url) == {'state': state, 'status': status, 'detail': detail, 'url': url}
    finally:
        server.shutdown()
        server.server_close()


def test_probe_url_alive_refused_and_error():
    url = 'http://127.0.0.1:%d/alive' % _free_port()
    assert probe_url_alive(url)['state'] == 'refused'
    # Something that accepts and hangs up without an answer: an error, never "refused" (what a stopped node answers).
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(1)

    def hang_up():
        conn = listener.accept()[0]
        conn.close()
    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    try:
        res = probe_url_alive('http://127.0.0.1:%d/alive' % listener.getsockname()[1], timeout=2)
    finally:
        thread.join(5)
        listener.close()
    assert res['state'] == 'error' and res['status'] is None and res['detail']
