# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the end of a thin module's main(): run one call, exit with its result or fail.

This is not a public API; it may change without notice. Standard library only: it runs on the node.
"""

from __future__ import annotations


def run_call(module, call, errors, os_error=None, **fail_extra):
    """Run ``call()`` and ``exit_json`` with the dict it returns.

    An exception of ``errors`` fails the module with its text (and, when it carries a ``result`` dict, that evidence);
    an OSError fails with ``os_error % strerror`` when ``os_error`` is given. ``fail_extra`` goes with every failure.
    """
    try:
        result = call()
    except errors as exc:
        module.fail_json(msg=str(exc), **dict(fail_extra, **getattr(exc, 'result', {})))
    except OSError as exc:
        if os_error is None:
            raise
        module.fail_json(msg=os_error % exc.strerror, **fail_extra)
    module.exit_json(**result)
