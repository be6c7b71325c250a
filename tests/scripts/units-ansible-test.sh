#!/usr/bin/env bash
# ansible-test units on a copy of the collection.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export LC_ALL=C.UTF-8
work=$(mktemp -d /tmp/lookerops-units.XXXXXX)
trap 'rm -rf "$work"' EXIT
tree=$(bash "$root/tests/scripts/collection-tree.sh" "$work")
py=$("$root/.venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
cd "$tree"
"$root/.venv/bin/ansible-test" units --venv --python "$py" --color no --requirements "$@"
