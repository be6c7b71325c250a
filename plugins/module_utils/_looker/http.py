# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: HTTP calls to the Looker on this node over loopback (/alive, /versions, stop),
and to the first node's /alive from another node (the start gate).

This is not a public API; it may change without notice. Standard library only: it runs on the node.
"""

from __future__ import annotations

import errno
import http.client
import json
import re
import ssl
import urllib.parse

DEFAULT_API_PORT = 19999
LOOPBACK = '127.0.0.1'
HTTP_ERRORS = (OSError, http.client.HTTPException, ssl.SSLError)


def _unverified():
    """A TLS client context that does not verify: Looker's certificate is self-signed, and these calls only read whether
    a node answers (or, over loopback, call the node's own control endpoint)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def loopback_get(port, path, scheme='https', timeout=3.0, limit=4096):
    """``GET path`` on 127.0.0.1:``port``; (status, first ``limit`` bytes of the body). Raises HTTP_ERRORS."""
    if scheme == 'https':
        conn = http.client.HTTPSConnection(LOOPBACK, port, timeout=timeout, context=_unverified())
    else:
        conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        conn.request('GET', path)
        resp = conn.getresponse()
        return resp.status, resp.read(limit)
    finally:
        conn.close()


def probe_alive(port, scheme, timeout=3.0):
    """GET /alive on 127.0.0.1: {'state': up|refused|error, 'status', 'detail', 'url'}."""
    return probe_url_alive('%s://%s:%s/alive' % (scheme, LOOPBACK, port), timeout)


def probe_url_alive(url, timeout=2.0):
    """GET ``url`` (another node's /alive, http or https; Looker's certificate is self-signed, and only the status is
    read): {'state': up|refused|error, 'status', 'detail', 'url'}."""
    parts = urllib.parse.urlsplit(url)
    try:
        if parts.scheme == 'https':
            conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=timeout, context=_unverified())
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
        try:
            conn.request('GET', parts.path or '/')
            status = conn.getresponse().status
        finally:
            conn.close()
    except HTTP_ERRORS as exc:
        if isinstance(exc, ConnectionRefusedError) or getattr(exc, 'errno', None) == errno.ECONNREFUSED:
            return {'state': 'refused', 'status': None, 'detail': 'connection refused', 'url': url}
        return {'state': 'error', 'status': None, 'detail': '%s: %s' % (type(exc).__name__, exc), 'url': url}
    if status == 200:
        return {'state': 'up', 'status': status, 'detail': 'HTTP 200', 'url': url}
    return {'state': 'error', 'status': status, 'detail': 'HTTP %s' % status, 'url': url}


def api_release(api_port=DEFAULT_API_PORT, timeout=5.0):
    """``looker_release_version`` from Looker's API ``GET /versions`` on 127.0.0.1 (https, then http), or None."""
    for scheme in ('https', 'http'):
        try:
            status, body = loopback_get(api_port, '/versions', scheme, timeout, limit=65536)
            if status != 200:
                continue
            release = json.loads(body.decode('utf-8')).get('looker_release_version')
        except HTTP_ERRORS + (ValueError, AttributeError):
            continue
        if isinstance(release, str) and re.match(r'^\d+(\.\d+)*$', release.strip()):
            return release.strip()
    return None


def control_stop(port, scheme, token, timeout=10.0):
    """The documented local stop call; returns a description (never the token)."""
    try:
        status = loopback_get(port, '/control/stop?token=%s' % token, scheme, timeout)[0]
        return {'ok': True, 'detail': 'HTTP %s' % status}
    except HTTP_ERRORS as exc:
        # The node may close the connection while stopping: the wait that follows decides.
        return {'ok': False, 'detail': '%s: %s' % (type(exc).__name__, exc)}
