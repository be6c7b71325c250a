#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection docsite's guides (docs/docsite/rst/), written from the Markdown documents of docs/.

The Markdown files in docs/ are the one hand-written copy of the operator, AWS and AWX guides (the README and the
modules' messages point at them). antsibull-docs renders only reStructuredText extra docs, so each guide is written
to docs/docsite/rst/guide_<name>.rst from its Markdown, for the subset of Markdown these documents use: ATX headings,
paragraphs, bullet and numbered lists (nested by indentation), pipe tables, fenced and indented code blocks, HTML
comments, inline code, bold and italics. A reference to another guide (`docs/aws.md`) becomes a link to it.

    .venv/bin/python tests/scripts/docsite.py           # rewrite docs/docsite/rst/ from docs/*.md
    .venv/bin/python tests/scripts/docsite.py --check   # exit 1 when docs/docsite/rst/ is out of date
"""

from __future__ import annotations

import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RST_DIR = os.path.join(ROOT, 'docs', 'docsite', 'rst')
LABEL_PREFIX = 'ansible_collections.lookerops.encryption.docsite.'

# Markdown source -> (RST file name without .rst, the words another guide links it with).
GUIDES = {
    'docs/operator-guide.md': ('guide_operator', 'the operator guide'),
    'docs/aws.md': ('guide_aws', 'the AWS guide'),
    'docs/awx.md': ('guide_awx', 'the AWX guide'),
}

_HEADING = re.compile(r'^(#{1,4})\s+(.*?)\s*#*\s*$')
_BULLET = re.compile(r'^( *)([-*+]|\d+\.)\s+(.*)$')
_FENCE = re.compile(r'^( *)```\s*([A-Za-z0-9_+-]*)\s*$')
_TABLE_RULE = re.compile(r'^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$')
_UNDERLINES = {1: '=', 2: '-', 3: '^', 4: '~'}
_LEXERS = {'sh': 'shell', 'bash': 'shell', 'shell': 'shell', 'console': 'console', 'yaml': 'yaml', 'yml': 'yaml', 'json': 'json',
           'ini': 'ini', 'text': 'text', '': 'text'}


def _escape_text(text):
    """Plain Markdown text (no code spans) as RST text: what RST would read as markup is escaped."""
    text = text.replace('\\|', '|').replace('\\', '\\\\')
    text = re.sub(r'([*`|])', r'\\\1', text)
    # A word ending in "_" is a reference in RST ("name_"), as is "`text`_".
    return re.sub(r'(\w)_(?=\W|$)', r'\1\\_', text)


def _literal(code):
    """A Markdown code span as an RST inline literal."""
    code = code.replace('\\|', '|')
    if code.startswith(('docs/', 'README.md')) and code in GUIDES:
        name, words = GUIDES[code]
        return ':ref:`%s <%s%s>`' % (words, LABEL_PREFIX, name)
    if '``' in code or code.endswith('\\') or code != code.strip():
        return ':literal:`%s`' % code.replace('\\', '\\\\').replace('`', '\\`')
    return '``%s``' % code


def _spans(text, marker):
    """(inside, text) pieces of ``text`` split at Markdown emphasis spans of ``marker`` (** or *)."""
    pattern = re.compile(r'(?<![\w*])%s(?=\S)(.+?)(?<=\S)%s(?![\w*])' % (re.escape(marker), re.escape(marker)))
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append((False, text[last:match.start()]))
        out.append((True, match.group(1)))
        last = match.end()
    out.append((False, text[last:]))
    return out


def inline(text):
    """One paragraph (or cell) of Markdown inline text as RST."""
    codes = []

    def keep(match):
        codes.append(match.group(2))
        return '\x00%d\x00' % (len(codes) - 1)

    masked = re.sub(r'(`+)(.+?)\1', keep, text)
    pieces = []

    def emit(segment, wrap):
        # Code spans inside bold or italics stay literals (RST does not nest inline markup); the words around them
        # keep the emphasis.
        for index, part in enumerate(re.split(r'\x00(\d+)\x00', segment)):
            if index % 2:
                pieces.append(('markup', _literal(codes[int(part)])))
            elif wrap and part.strip():
                lead = part[:len(part) - len(part.lstrip())]
                tail = part[len(part.rstrip()):]
                if lead:
                    pieces.append(('text', lead))
                pieces.append(('markup', wrap % _escape_text(part.strip())))
                if tail:
                    pieces.append(('text', tail))
            elif part:
                pieces.append(('text', _escape_text(part)))

    for strong, chunk in _spans(masked, '**'):
        if strong:
            emit(chunk, '**%s**')
            continue
        for em, sub in _spans(chunk, '*'):
            emit(sub, '*%s*' if em else None)
    # Inline markup must stand apart from the text around it (RST's inline markup recognition rules): an escaped
    # space (which RST drops) joins it to a word.
    out = ''
    last_markup = False
    for kind, value in pieces:
        if not value:
            continue
        if kind == 'markup' and out and not out[-1].isspace() and out[-1] not in '-:/\'"<([{':
            out += '\\ '
        elif kind == 'text' and last_markup and not value[0].isspace() and value[0] not in '-.,:;!?\\/\'")]}>':
            out += '\\ '
        out += value
        last_markup = kind == 'markup'
    return out


def _split_row(line):
    line = line.strip()
    if line.startswith('|'):
        line = line[1:]
    if line.endswith('|') and not line.endswith('\\|'):
        line = line[:-1]
    cells, cell, i = [], '', 0
    in_code = False
    while i < len(line):
        ch = line[i]
        if ch == '\\' and i + 1 < len(line) and line[i + 1] == '|':
            cell += '\\|'
            i += 2
            continue
        if ch == '`':
            in_code = not in_code
        if ch == '|' and not in_code:
            cells.append(cell.strip())
            cell = ''
        else:
            cell += ch
        i += 1
    cells.append(cell.strip())
    return cells


def _table(rows, indent):
    pad = ' ' * indent
    out = [pad + '.. list-table::', pad + '   :header-rows: 1', '']
    for row in rows:
        for index, cell in enumerate(row):
            lead = '* - ' if index == 0 else '  - '
            out.append((pad + '   ' + lead + inline(cell)).rstrip())
    out.append('')
    return out


def _code(lines, lang, indent):
    pad = ' ' * indent
    out = [pad + '.. code-block:: %s' % _LEXERS.get(lang.lower(), 'text'), '']
    out += [(pad + '   ' + line).rstrip() for line in lines]
    out.append('')
    return out


def _indented_lexer(body):
    """The language of an indented (unfenced) code block: YAML when it opens with a key, else shell commands."""
    first = next((line.strip() for line in body if line.strip()), '')
    if re.match(r'^(- )?[\w./{}"\'-]+:(\s|$)', first):
        return 'yaml'
    if first.startswith(('{', '#')):
        return 'text'
    return 'shell'


def _dedent(lines, width):
    return [line[width:] if line[:width].strip() == '' else line.lstrip() for line in lines]


def blocks(lines, indent=0):
    """Markdown block structure -> RST lines (recursive for list items)."""
    out = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        fence = _FENCE.match(line)
        if fence:
            body = []
            i += 1
            while i < n and not re.match(r'^\s*```\s*$', lines[i]):
                body.append(lines[i][len(fence.group(1)):] if lines[i].startswith(fence.group(1)) else lines[i])
                i += 1
            i += 1
            out += _code(body, fence.group(2), indent)
            continue
        if line.startswith('    '):
            body = []
            while i < n and (lines[i].startswith('    ') or not lines[i].strip()):
                body.append(lines[i][4:])
                i += 1
            while body and not body[-1].strip():
                body.pop()
            out += _code(body, _indented_lexer(body), indent)
            continue
        if line.lstrip().startswith('<!--'):
            body = []
            while i < n:
                body.append(lines[i].strip())
                i += 1
                if body[-1].endswith('-->'):
                    break
            text = ' '.join(body)[4:-3].strip()
            out += [' ' * indent + '.. ' + text, '']
            continue
        heading = _HEADING.match(line)
        if heading:
            # Headings are handled by the caller (document()); inside a list they are not expected.
            raise ValueError('heading inside a block: %r' % line)
        if line.lstrip().startswith('|') and i + 1 < n and _TABLE_RULE.match(lines[i + 1].strip()):
            rows = [_split_row(line)]
            i += 2
            while i < n and lines[i].lstrip().startswith('|'):
                rows.append(_split_row(lines[i]))
                i += 1
            out += _table(rows, indent)
            continue
        bullet = _BULLET.match(line)
        if bullet and len(bullet.group(1)) < 4:
            ordered = bullet.group(2)[0].isdigit()
            base = len(bullet.group(1))
            while i < n:
                bullet = _BULLET.match(lines[i])
                if not bullet or len(bullet.group(1)) != base or bullet.group(2)[0].isdigit() != ordered:
                    break
                marker = '#.' if ordered else '-'
                width = len(bullet.group(1)) + len(bullet.group(2)) + 1
                item = [' ' * width + bullet.group(3)]
                i += 1
                while i < n:
                    nxt = lines[i]
                    if not nxt.strip():
                        # A blank line ends the item unless indented content follows.
                        if i + 1 < n and lines[i + 1].startswith(' ' * (base + 2)) and lines[i + 1].strip():
                            item.append('')
                            i += 1
                            continue
                        break
                    nb = _BULLET.match(nxt)
                    if nb and len(nb.group(1)) <= base:
                        break
                    if not nxt.startswith(' ' * (base + 1)) and not nb:
                        if _HEADING.match(nxt) or nxt.lstrip().startswith('|'):
                            break
                    item.append(nxt)
                    i += 1
                body = _dedent(item, width)
                sub = blocks(body, 0)
                lead = ' ' * indent + marker + ' '
                cont = ' ' * (indent + len(marker) + 1)
                first = True
                for sline in sub:
                    if first:
                        out.append(lead + sline)
                        first = False
                    else:
                        out.append((cont + sline).rstrip() if sline else '')
                if out and out[-1] != '':
                    out.append('')
                while i < n and not lines[i].strip():
                    i += 1
            continue
        # A paragraph: lines up to a blank line or the start of another block.
        para = []
        while i < n and lines[i].strip():
            cur = lines[i]
            if para and (_BULLET.match(cur) and len(_BULLET.match(cur).group(1)) < 4 or _FENCE.match(cur) or _HEADING.match(cur)
                         or (cur.lstrip().startswith('|') and i + 1 < n and _TABLE_RULE.match(lines[i + 1].strip()))):
                break
            para.append(cur.strip())
            i += 1
        # One line a paragraph: a code span may run over a line break of the Markdown.
        out += [' ' * indent + inline(' '.join(para)), '']
    return out


def document(source, text):
    """The RST of one guide."""
    name, _words = GUIDES[source]
    out = ['..', '   Written by tests/scripts/docsite.py from %s: edit that file, then run the script.' % source, '',
           '.. _%s%s:' % (LABEL_PREFIX, name), '']
    lines = text.splitlines()
    chunk = []
    in_fence = False

    def flush():
        out.extend(blocks(chunk))
        chunk.clear()

    for line in lines:
        if re.match(r'^\s*```', line):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING.match(line)
        if heading:
            flush()
            title = inline(heading.group(2))
            level = len(heading.group(1))
            out += [title, _UNDERLINES[level] * max(len(title), 3), '']
            continue
        chunk.append(line)
    flush()
    while out and out[-1] == '':
        out.pop()
    return '\n'.join(out) + '\n'


def wanted():
    """{path of an RST file: its content} for every guide."""
    files = {}
    for source, (name, _words) in GUIDES.items():
        with open(os.path.join(ROOT, source), encoding='utf-8') as handle:
            files[os.path.join(RST_DIR, name + '.rst')] = document(source, handle.read())
    return files


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--check', action='store_true', help='exit 1 when docs/docsite/rst/ does not hold the current guides')
    args = parser.parse_args()
    stale = []
    for path, content in wanted().items():
        current = None
        if os.path.exists(path):
            with open(path, encoding='utf-8') as handle:
                current = handle.read()
        if current == content:
            continue
        stale.append(os.path.relpath(path, ROOT))
        if not args.check:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w', encoding='utf-8') as handle:
                handle.write(content)
    if args.check and stale:
        print('out of date (run tests/scripts/docsite.py): %s' % ', '.join(stale))
        return 1
    for name in stale:
        print('%s rewritten' % name)
    return 0


if __name__ == '__main__':
    sys.exit(main())
