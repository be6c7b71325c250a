#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The operator guide's table of every setting, written from the shared role's argument spec.

roles/lookerops/meta/argument_specs.yml is the one description of every ``lookerops_*`` setting (type,
default, what it does); the table between the markers of the guide's "Settings" section is written from
it, so that the guide names every setting and no setting the collection does not have.

    .venv/bin/python tests/scripts/settings_table.py           # rewrite the table in the guide
    .venv/bin/python tests/scripts/settings_table.py --check   # exit 1 when the guide is out of date
"""

from __future__ import annotations

import argparse
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC = os.path.join(ROOT, 'roles', 'lookerops', 'meta', 'argument_specs.yml')
GUIDE = os.path.join(ROOT, 'docs', 'operator-guide.md')
BEGIN = '<!-- settings table: written by tests/scripts/settings_table.py from roles/lookerops/meta/argument_specs.yml -->'
END = '<!-- end of the settings table -->'

# Ansible's documentation markup -> Markdown: C(code), O(option), V(value), E(environment variable), RV(return value), I(italic), B(bold),
# U(url), L(text,url), M(module).
_MARKUP = [
    (re.compile(r'[COVE]\(([^()]*(?:\([^()]*\)[^()]*)*)\)'), r'`\1`'),
    (re.compile(r'RV\(([^()]*)\)'), r'`\1`'),
    (re.compile(r'M\(([^()]*)\)'), r'`\1`'),
    (re.compile(r'I\(([^()]*)\)'), r'*\1*'),
    (re.compile(r'B\(([^()]*)\)'), r'**\1**'),
    (re.compile(r'U\(([^()]*)\)'), r'<\1>'),
    (re.compile(r'L\(([^(),]*),\s*([^()]*)\)'), r'[\1](\2)'),
]


def markdown(text):
    """One table cell from an argument-spec description (a string or a list of paragraphs)."""
    paragraphs = text if isinstance(text, list) else [text]
    out = ' '.join(' '.join(str(p).split()) for p in paragraphs)
    for pattern, repl in _MARKUP:
        out = pattern.sub(repl, out)
    return out.replace('|', '\\|')


def default_cell(spec):
    if 'default' not in spec:
        return 'required' if spec.get('required') else '(unset)'
    value = spec['default']
    if value == '' or value is None:
        return '""' if value == '' else '(unset)'
    if isinstance(value, bool):
        return '`%s`' % str(value).lower()
    if isinstance(value, (list, dict)):
        return '`%s`' % yaml.safe_dump(value, default_flow_style=True).strip()
    return '`%s`' % str(value).replace('|', '\\|')


def table(spec_path=SPEC):
    with open(spec_path, encoding='utf-8') as handle:
        options = yaml.safe_load(handle)['argument_specs']['main']['options']
    lines = [BEGIN, '', '| setting | type | default | what it does |', '| --- | --- | --- | --- |']
    for name in sorted(options):
        spec = options[name]
        kind = spec.get('type', 'str')
        if kind == 'list' and spec.get('elements'):
            kind = 'list of %s' % spec['elements']
        lines.append('| `%s` | %s | %s | %s |' % (name, kind, default_cell(spec), markdown(spec.get('description', ''))))
    lines += ['', END]
    return '\n'.join(lines)


def render(guide_text, new_table):
    if BEGIN not in guide_text or END not in guide_text:
        raise SystemExit('%s has no settings table markers (%s ... %s)' % (GUIDE, BEGIN, END))
    head, rest = guide_text.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    return head + new_table + tail


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--check', action='store_true', help='exit 1 when the guide does not hold the current table')
    args = parser.parse_args()
    with open(GUIDE, encoding='utf-8') as handle:
        text = handle.read()
    new = render(text, table())
    if args.check:
        if new != text:
            print('docs/operator-guide.md: the settings table is out of date; run tests/scripts/settings_table.py')
            return 1
        return 0
    if new != text:
        with open(GUIDE, 'w', encoding='utf-8') as handle:
            handle.write(new)
        print('docs/operator-guide.md: settings table rewritten')
    return 0


if __name__ == '__main__':
    sys.exit(main())
