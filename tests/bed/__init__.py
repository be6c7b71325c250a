# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The multi-host test bed of lookerops.encryption (test code, not part of the collection).

Nodes are network namespaces with their own hostname, mounts, sshd and a monit-like watchdog;
the cluster backend is a real MariaDB; AWS is a moto server. See docs/design.md.
"""

from __future__ import annotations

from bed.core import Bed, BedError, Node

__all__ = ['Bed', 'BedError', 'Node']
