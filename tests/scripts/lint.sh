#!/usr/bin/env bash
# On a copy of the collection placed at ansible_collections/lookerops/encryption (so that the collection's own
# roles and plugins resolve by FQCN):
#   - the docsite: docs/docsite/rst/ in step with the Markdown guides (tests/scripts/docsite.py --check), and
#     antsibull-docs lint-collection-docs with the plugin and role docs (from .venv-docs, tests/scripts/setup.sh),
#   - ansible-lint (production profile, offline).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export LC_ALL=C.UTF-8
work=$(mktemp -d /tmp/lookerops-lint.XXXXXX)
trap 'rm -rf "$work"' EXIT
tree=$(bash "$root/tests/scripts/collection-tree.sh" "$work")
cd "$tree"
git init -q . && git add -A >/dev/null 2>&1
"$root/.venv/bin/python" "$root/tests/scripts/docsite.py" --check
ANSIBLE_COLLECTIONS_PATH="$work" PATH="$root/.venv-docs/bin:$PATH" \
    "$root/.venv-docs/bin/antsibull-docs" lint-collection-docs --plugin-docs .
ANSIBLE_COLLECTIONS_PATH="$work" "$root/.venv/bin/ansible-lint" --profile production --offline --nocolor "$@"
