# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption (controller side): reading the facts preflight gathered. Not a public API.

Preflight's decisions (``_preflight_plan``, ``_preflight_record``) take the gathered facts as plain dicts and lists. The
facts of every node come as ``hostvars``, a mapping of host name to that host's variables (Ansible's ``hostvars``, or
a plain dict in the tests): the decisions pick from it what they read, by the names preflight's tasks give them
(``preflight_node``, the result of lk_node_info; ``preflight_probe``, ``preflight_backup``, ...). A name a host does not
have reads as its default, as ``| default(...)`` does in Jinja.
"""

from __future__ import annotations

from collections.abc import Mapping

GCM_SCHEME = 'AES-GCM-256'
NOTHING = 'Nothing was changed.'


def is_mapping(value):
    """Jinja's ``is mapping``."""
    return isinstance(value, Mapping)


def mapping(value):
    """``value`` when it is a mapping, else an empty dict."""
    return value if isinstance(value, Mapping) else {}


def get(value, key, default=None):
    """``value[key]`` when ``value`` is a mapping holding ``key``, else ``default``."""
    return value.get(key, default) if isinstance(value, Mapping) else default


def failed(result):
    """Ansible's ``is failed`` of a registered result (a result that is not a mapping never failed)."""
    return bool(get(result, 'failed', False))


def skipped(result):
    """Ansible's ``is skipped`` of a registered result."""
    return bool(get(result, 'skipped', False))


def host_var(hostvars, host, name, default=None):
    """One variable of one host (``hostvars[host][name] | default(default)``)."""
    try:
        return hostvars[host][name]
    except (KeyError, TypeError):
        return default


def node_info(hostvars, host):
    """What lk_node_info read on ``host`` (``preflight_node``), or an empty dict."""
    return mapping(host_var(hostvars, host, 'preflight_node', {}))


def carries_gcm_marker(node):
    """Whether a node's lk_node_info result shows the collection's AES-GCM-256 marker (the node was migrated)."""
    return get(get(node, 'marker'), 'scheme') == GCM_SCHEME


def as_int(value):
    """Jinja's ``int`` filter: a number, a numeric string, or 0."""
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return 0


def unique(values):
    """The values in their first order, each once."""
    out = []
    for value in values:
        if value not in out:
            out.append(value)
    return out
