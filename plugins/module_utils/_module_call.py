# -*- coding: utf-8 -*-
# Copyright (c) 2026, lookerops.encryption contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal helper of lookerops.encryption: the end of a thin module's main(): run one call, exit with its result or fail.

This is not a public API; it may change without notice. Standard library only: it runs on the node.
"""

from __future__ import annotations

from ansible_collections.lookerops.encryption.plugins.module_utils._files import report_stale_temps


def run_call(module, call, errors, os_error=None, **fail_extra):
    """Run ``call()`` and ``exit_json`` with the dict it returns.

    An exception of ``errors`` fails the module with its text (and, when it carries a ``result`` dict, that evidence);
    an OSError fails with ``'<os_error>: <strerror>.'`` when ``os_error`` (what could not be done) is given, or with
    ``os_error(exc)`` when it is a function.
    ``fail_extra`` goes with every failure.
    """
    try:
        result = call()
    except errors as exc:
        module.fail_json(msg=str(exc), **dict(fail_extra, **getattr(exc, 'result', {})))
    except OSError as exc:
        if os_error is None:
            raise
        module.fail_json(msg=os_error(exc) if callable(os_error) else '%s: %s.' % (os_error, exc.strerror), **fail_extra)
    module.exit_json(**result)


def run_file_backend(module, backend):
    """Run a backend that writes key material (``remove_stale_temps()``, then ``run()``): its result, with the stale
    temporary files it removed reported, and its diff only in diff mode."""
    stale = backend.remove_stale_temps()
    result = backend.run()
    report_stale_temps(module, result, stale)
    if not module._diff:
        result.pop('diff', None)
    return result
