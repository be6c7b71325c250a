# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make the collection importable when the unit tests run under plain pytest.

Under ``ansible-test units`` the checkout already sits in ``ansible_collections/lookerops/encryption``
and nothing happens here.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile

try:
    import ansible_collections.lookerops.encryption  # noqa: F401  pylint: disable=unused-import
except ImportError:
    _ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    # One tree per checkout: two checkouts on one machine must never import each other's code.
    _TAG = hashlib.sha256(_ROOT.encode('utf-8')).hexdigest()[:12]
    _TREE = os.path.join(tempfile.gettempdir(), 'lookerops-unit-%d-%s' % (os.getuid(), _TAG))
    _LINK = os.path.join(_TREE, 'ansible_collections', 'lookerops', 'encryption')
    os.makedirs(os.path.dirname(_LINK), exist_ok=True)
    if not os.path.islink(_LINK) or os.path.realpath(_LINK) != _ROOT:
        if os.path.islink(_LINK):
            os.unlink(_LINK)
        os.symlink(_ROOT, _LINK)
    sys.path.insert(0, _TREE)
    for _name in [m for m in sys.modules if m == 'ansible_collections' or m.startswith('ansible_collections.')]:
        del sys.modules[_name]
