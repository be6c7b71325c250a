#!/usr/bin/env bash
# ansible-lint (production profile, offline) on a copy of the collection placed at
# ansible_collections/lookerops/encryption, so that the collection's own roles resolve by FQCN.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export LC_ALL=C.UTF-8
work=$(mktemp -d /tmp/lookerops-lint.XXXXXX)
trap 'rm -rf "$work"' EXIT
tree=$(bash "$root/tests/scripts/collection-tree.sh" "$work")
cd "$tree"
git init -q . && git add -A >/dev/null 2>&1
ANSIBLE_COLLECTIONS_PATH="$work" "$root/.venv/bin/ansible-lint" --profile production --offline --nocolor "$@"
