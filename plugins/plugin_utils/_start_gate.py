# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption (controller side): the start gate, the others started by the nodes themselves
as soon as the first node answers.

Not a public API. Exposed to the playbooks as the filters ``lookerops.encryption.peer_alive_url``,
``lookerops.encryption.start_gate_plan`` and ``lookerops.encryption.start_gate_launched``; which node the gate started is ``start_gate_started`` in _fan_out.py.

After the first node's start, a task that starts the other nodes reaches them one after the other: on a 2-core controller
with 30 nodes the last one began its start 9 s after the first one, and those seconds were downtime. With the gate, each
other node's start is launched before the migration (lk_start with ``after_url``) and waits on the node, fenced, for the
first node's ``/alive``; the documented order (the first node up before the others) is kept by the nodes themselves.

The gate is used only when preflight proved, while Looker ran, that every other node reaches the first node's ``/alive``
(Looker's documents name the ports, not whether nodes reach each other's web port). Otherwise the others start as before.
"""

from __future__ import annotations


def _ran(result):
    return isinstance(result, dict) and bool(result) and not result.get('skipped')


def peer_alive_url(info, address):
    """The first node's ``/alive`` as the other nodes reach it (``address``, its port and scheme from preflight's
    ``lk_node_info``), or '' when it cannot be proven now: the node's Looker did not answer in preflight."""
    if not isinstance(info, dict) or not address:
        return ''
    if ((info.get('alive') or {}).get('state')) != 'up' or not info.get('port'):
        return ''
    host = '[%s]' % address if ':' in str(address) and not str(address).startswith('[') else address
    return '%s://%s:%s/alive' % ('http' if info.get('no_ssl') else 'https', host, info['port'])


def start_gate_plan(hosts, first_node, peer_results, url, enabled=True):
    """Whether the others start at the gate: ``{'gated', 'url', 'reason', 'unreached'}``.

    ``peer_results`` holds each host's registered lk_peer_alive result, in the order of ``hosts`` (the first node's is
    skipped). ``reason`` says why not, or what was proven.
    """
    hosts = list(hosts or [])
    results = list(peer_results or [])
    plan = {'gated': False, 'url': url or None, 'reason': '', 'unreached': []}
    if not enabled:
        plan['reason'] = ('turned off (lookerops_start_gate is false, or lookerops_start_rest_in_parallel is false: the others '
                          'start one at a time)')
        return plan
    others = [host for host in hosts if host != first_node]
    if not others:
        plan['reason'] = 'a single node'
        return plan
    if not url:
        plan['reason'] = ("the first node's Looker did not answer /alive in preflight, so no node could prove it reaches it")
        return plan
    by_host = dict(zip(hosts, results + [{}] * (len(hosts) - len(results))))
    for host in others:
        result = by_host.get(host)
        state = ((result or {}).get('alive') or {}) if _ran(result) else {}
        if state.get('state') != 'up':
            detail = state.get('detail') or ((result or {}).get('msg') if _ran(result) else 'not checked')
            plan['unreached'].append('%s (%s)' % (host, detail))
    if plan['unreached']:
        plan['reason'] = ("not every node reaches the first node's /alive at %s: %s; the others start after it, from the "
                          "controller" % (url, ', '.join(plan['unreached'])))
        return plan
    plan['gated'] = True
    plan['reason'] = ("every other node reached the first node's /alive at %s in preflight: each starts as soon as it "
                      "answers" % url)
    return plan


def start_gate_launched(hosts, launches):
    """The hosts whose start at the gate was launched (their registered launch, in the order of ``hosts``, holds a
    ``results_file``): the ones a failed run cancels."""
    launches = list(launches or [])
    return [host for host, launch in zip(list(hosts or []), launches)
            if isinstance(launch, dict) and not launch.get('skipped') and launch.get('results_file')]
