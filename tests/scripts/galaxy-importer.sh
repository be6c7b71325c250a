#!/usr/bin/env bash
# Builds the collection tarball and runs galaxy-importer on it offline (no containers, no
# ansible-test and no ansible-lint inside the importer: the suite runs both itself, lint.sh with
# the stricter production profile).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export LC_ALL=C.UTF-8
work=$(mktemp -d /tmp/lookerops-importer.XXXXXX)
trap 'rm -rf "$work"' EXIT
tree=$(bash "$root/tests/scripts/collection-tree.sh" "$work/src")
"$root/.venv/bin/ansible-galaxy" collection build "$tree" --output-path "$work" --force >/dev/null
tarball=$(ls "$work"/lookerops-encryption-*.tar.gz)
cat > "$work/galaxy-importer.cfg" <<CFG
[galaxy-importer]
LOG_LEVEL_MAIN = INFO
RUN_ANSIBLE_TEST = False
RUN_ANSIBLE_LINT = False
LOCAL_IMAGE_DOCKER = False
ANSIBLE_TEST_LOCAL_IMAGE = False
CHECK_CHANGELOG = True
CHECK_REQUIRED_TAGS = False
TMP_ROOT_DIR = $work
CFG
cd "$work"
PATH="$root/.venv/bin:$PATH" GALAXY_IMPORTER_CONFIG="$work/galaxy-importer.cfg" \
    "$root/.venv/bin/python" -m galaxy_importer.main "$tarball" > "$work/importer.log" 2>&1 || {
    cat "$work/importer.log"; echo "galaxy-importer: FAILED"; exit 1; }
cat "$work/importer.log"
if grep -Eq '^(ERROR|WARNING)' "$work/importer.log"; then
    echo "galaxy-importer: errors or warnings above"; exit 1
fi
echo "galaxy-importer: OK ($(basename "$tarball"))"
