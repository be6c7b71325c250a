#!/usr/bin/env bash
# Quick run of the unit tests under plain pytest (the full suite also runs them through ansible-test units).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
py=${LOOKEROPS_PYTHON:-$here/.venv/bin/python}
cd "$here"
exec "$py" -m pytest -q -p no:cacheprovider tests/unit "$@"
