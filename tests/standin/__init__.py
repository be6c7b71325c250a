# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Looker stand-in for the lookerops.encryption test bed (test code; never imported by the collection)."""

from __future__ import annotations
