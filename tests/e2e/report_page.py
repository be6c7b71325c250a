# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run report's HTML page as a test reads it (test code, shared by the unit and the end-to-end tests)."""

from __future__ import annotations

from html.parser import HTMLParser

# Attributes through which a page could fetch something from outside itself.
FETCHING_ATTRIBUTES = ('src', 'href', 'xlink:href', 'action', 'data')


class ReportPage(HTMLParser):
    """Collects the page's tags, every reference to anything outside it, its text, and the timeline's segments."""

    def __init__(self):
        super().__init__()
        self.tags = []
        self.references = []
        self.text = []
        self.bars = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in FETCHING_ATTRIBUTES or (value or '').lower().startswith(('http:', 'https:', '//')):
                self.references.append((tag, name, value))
        classes = (dict(attrs).get('class') or '').split()
        if tag == 'rect' and 'segment' in classes and len(classes) > 1:
            self.bars.append(classes[1])

    def handle_data(self, data):
        self.text.append(data)


def parse_report(page):
    """The parsed page (a string of HTML)."""
    parser = ReportPage()
    parser.feed(page)
    parser.close()
    return parser
