# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: a reader of the flat ``key: value`` YAML of Looker's credentials file,
for nodes whose Python has no PyYAML.

This is not a public API; it may change without notice. Standard library only.
"""

from __future__ import annotations

import re


def _parse_scalar(raw):
    """Value of a flat YAML ``key: value`` line (quoted or plain); a small subset of YAML."""
    raw = raw.strip()
    if not raw:
        return None
    if raw[0] == '"':
        out = []
        i = 1
        escapes = {'n': '\n', 't': '\t', 'r': '\r', '0': '\0', '"': '"', '\\': '\\', '/': '/'}
        while i < len(raw):
            char = raw[i]
            if char == '\\' and i + 1 < len(raw):
                out.append(escapes.get(raw[i + 1], '\\' + raw[i + 1]))
                i += 2
                continue
            if char == '"':
                return ''.join(out)
            out.append(char)
            i += 1
        raise ValueError('unterminated double-quoted value')
    if raw[0] == "'":
        out = []
        i = 1
        while i < len(raw):
            char = raw[i]
            if char == "'":
                if raw[i + 1:i + 2] == "'":
                    out.append("'")
                    i += 2
                    continue
                return ''.join(out)
            out.append(char)
            i += 1
        raise ValueError('unterminated single-quoted value')
    # plain scalar: a comment starts at " #"
    match = re.search(r'\s#', raw)
    if match:
        raw = raw[:match.start()].rstrip()
    lowered = raw.lower()
    if lowered in ('true', 'yes', 'on'):
        return True
    if lowered in ('false', 'no', 'off'):
        return False
    if lowered in ('null', '~'):
        return None
    if re.match(r'^[0-9]+$', raw):
        return int(raw)
    return raw


def parse_flat_yaml(text):
    """Parse the flat ``key: value`` YAML of Looker's credentials file without PyYAML."""
    result = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith('#') or stripped in ('---', '...'):
            continue
        if line[:1] in (' ', '\t') or ':' not in stripped:
            raise ValueError('line %d is not a flat "key: value" line' % lineno)
        key, _sep, value = stripped.partition(':')
        try:
            result[key.strip()] = _parse_scalar(value)
        except ValueError as exc:
            raise ValueError('line %d: %s' % (lineno, exc)) from None
    return result
