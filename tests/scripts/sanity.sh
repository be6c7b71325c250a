#!/usr/bin/env bash
# ansible-test sanity (every test, no ignore file) on a copy of the collection.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export LC_ALL=C.UTF-8
work=$(mktemp -d /tmp/lookerops-sanity.XXXXXX)
trap 'rm -rf "$work"' EXIT
tree=$(bash "$root/tests/scripts/collection-tree.sh" "$work")
py=$("$root/.venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
cd "$tree"
"$root/.venv/bin/ansible-test" sanity --venv --python "$py" --color no "$@"
