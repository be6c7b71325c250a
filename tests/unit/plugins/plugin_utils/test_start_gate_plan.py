# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of _start_gate: whether the other nodes start as soon as the first node answers, and which to cancel."""

from __future__ import annotations

import pytest

from ansible_collections.lookerops.encryption.plugins.filter import fan_out as fan_out_filter
from ansible_collections.lookerops.encryption.plugins.plugin_utils import _start_gate as sg

UP = {'state': 'up', 'status': 200, 'detail': 'HTTP 200', 'url': 'u'}
INFO = {'alive': UP, 'port': 9999, 'no_ssl': False}
SKIPPED = {'changed': False, 'skipped': True}
HOSTS = ['n1', 'n2', 'n3']
URL = 'https://198.51.100.11:9999/alive'


@pytest.mark.parametrize('case, info, address, expected', [
    ('https on the port of lookerstart.cfg', INFO, '198.51.100.11', URL),
    ('--no-ssl: http', dict(INFO, no_ssl=True, port=8443), 'node1.example', 'http://node1.example:8443/alive'),
    ('an IPv6 address is bracketed', INFO, '2001:db8::5', 'https://[2001:db8::5]:9999/alive'),
    ('an IPv6 address already bracketed', INFO, '[2001:db8::5]', 'https://[2001:db8::5]:9999/alive'),
    ('Looker did not answer in preflight: nothing to prove', dict(INFO, alive={'state': 'refused'}), '198.51.100.11', ''),
    ('no alive probe (settings unreadable)', dict(INFO, alive=None), '198.51.100.11', ''),
    ('no port', dict(INFO, port=None), '198.51.100.11', ''),
    ('no address', INFO, '', ''),
    ('no info (unreachable in preflight)', {}, '198.51.100.11', ''),
    ('not a dict', None, '198.51.100.11', ''),
])
def test_peer_alive_url(case, info, address, expected):
    assert sg.peer_alive_url(info, address) == expected, case


def peer(state='up', detail='HTTP 200'):
    return {'changed': False, 'alive': {'state': state, 'detail': detail, 'url': URL}}


@pytest.mark.parametrize('case, hosts, results, url, enabled, gated, reason, unreached', [
    ('every other node reached it', HOSTS, [SKIPPED, peer(), peer()], URL, True, True, 'every other node reached', []),
    ('one node met a timeout', HOSTS, [SKIPPED, peer(), peer('error', 'timed out')], URL, True, False,
     'not every node reaches', ['n3 (timed out)']),
    ('one node was refused (a firewall that rejects)', HOSTS, [SKIPPED, peer('refused', 'connection refused'), peer()], URL, True,
     False, 'n2 (connection refused)', ['n2 (connection refused)']),
    ('a node whose check failed', HOSTS, [SKIPPED, {'failed': True, 'msg': 'boom'}, peer()], URL, True, False, 'n2 (boom)',
     ['n2 (boom)']),
    ('a node not checked (unreachable in preflight)', HOSTS, [SKIPPED, SKIPPED, peer()], URL, True, False, 'n2 (not checked)',
     ['n2 (not checked)']),
    ('fewer results than hosts', HOSTS, [SKIPPED, peer()], URL, True, False, 'n3 (not checked)', ['n3 (not checked)']),
    ('turned off', HOSTS, [SKIPPED, peer(), peer()], URL, False, False,
     'turned off (lookerops_start_gate is false, or lookerops_start_rest_in_parallel is false', []),
    ('a single node', ['n1'], [SKIPPED], URL, True, False, 'a single node', []),
    ("the first node's Looker did not answer in preflight", HOSTS, [SKIPPED, SKIPPED, SKIPPED], '', True, False,
     'did not answer /alive in preflight', []),
])
def test_start_gate_plan(case, hosts, results, url, enabled, gated, reason, unreached):
    plan = sg.start_gate_plan(hosts, 'n1', results, url, enabled)
    assert plan['gated'] is gated and reason in plan['reason'] and plan['unreached'] == unreached, (case, plan)
    assert plan['url'] == (url or None)


def test_start_gate_plan_first_node_anywhere_in_the_list():
    plan = sg.start_gate_plan(['n2', 'n1'], 'n1', [peer(), SKIPPED], URL)
    assert plan['gated'] is True


LAUNCH = {'ansible_job_id': 'j', 'results_file': '/root/.ansible_async/j', 'started': 1, 'finished': 0}


@pytest.mark.parametrize('case, launches, expected', [
    ('the others launched', [SKIPPED, LAUNCH, LAUNCH], ['n2', 'n3']),
    ('none launched (no gate)', [SKIPPED, SKIPPED, SKIPPED], []),
    ('a launch that failed has no results file', [SKIPPED, {'failed': True, 'msg': 'x'}, LAUNCH], ['n3']),
    ('fewer launches than hosts', [SKIPPED, LAUNCH], ['n2']),
    ('nothing registered', None, []),
    ('not a dict', ['x', LAUNCH, LAUNCH], ['n2', 'n3']),
])
def test_start_gate_launched(case, launches, expected):
    assert sg.start_gate_launched(HOSTS, launches) == expected, case


def test_filters_are_registered():
    filters = fan_out_filter.FilterModule().filters()
    assert filters['peer_alive_url'] is sg.peer_alive_url and filters['start_gate_plan'] is sg.start_gate_plan
    assert filters['start_gate_launched'] is sg.start_gate_launched
