#!/usr/bin/env bash
# The support floor: the oldest ansible-core meta/runtime.yml claims (2.17, in .venv-floor on
# Python 3.11, made by tests/scripts/setup.sh) runs ansible-test sanity and units on a copy of the
# collection and, in the long tier (LOOKEROPS_TEST_FULL=1, `test.sh --full`), one end-to-end
# migrate on the bed with its ansible-playbook (the test harness, bed and stand-in stay in .venv).
# Every part runs even when an earlier one failed; the exit status is non-zero when any failed.
#
#   bash tests/scripts/floor.sh [sanity] [units]   only those parts (default: every part); sanity runs
#                                                   nothing of the collection's, so test.sh runs it beside the bed
set -uo pipefail
parts=" ${*:-sanity units e2e} "
for arg in "$@"; do
    case $arg in
        sanity|units|e2e) ;;
        *) echo "floor.sh: unknown part '$arg' (sanity, units, e2e)"; exit 2 ;;
    esac
done
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
export LC_ALL=C.UTF-8
floor="$root/.venv-floor"
if [ ! -x "$floor/bin/ansible-test" ] || [ ! -x "$root/.venv/bin/python" ]; then
    echo "floor: .venv-floor or .venv is missing; run tests/scripts/setup.sh"; exit 1
fi
py=$("$floor/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
version=$("$floor/bin/ansible-playbook" --version)
echo "floor: ${version%%$'\n'*} on Python $py"

work=$(mktemp -d /tmp/lookerops-floor.XXXXXX)
trap 'rm -rf "$work"' EXIT
tree=$(bash "$root/tests/scripts/collection-tree.sh" "$work") || exit 1

failed=0
part() {
    local name=$1; shift
    local t0=$SECONDS
    if "$@"; then
        printf 'floor: %s: ok (%ss)\n' "$name" "$((SECONDS - t0))"
    else
        failed=$((failed + 1)); printf 'floor: %s: FAILED (%ss)\n' "$name" "$((SECONDS - t0))"
    fi
}
in_tree() { (cd "$tree" && "$@"); }

# Sanity: the tests that say whether the collection works with this release (docs schema and
# rendering, imports and compilation for the Pythons it supports, meta/runtime.yml, action plugin
# docs). The style linters (pep8, pylint, yamllint, shellcheck, ...) run once, with the newest
# ansible-core, in tests/scripts/sanity.sh; the older pylint pinned by 2.17 adds only false positives.
floor_sanity=(action-plugin-docs ansible-doc compile import runtime-metadata validate-modules)
[[ $parts == *" sanity "* ]] && part "ansible-test sanity (${floor_sanity[*]})" in_tree "$floor/bin/ansible-test" sanity --venv --python "$py" --color no \
    "${floor_sanity[@]/#/--test=}"
[[ $parts == *" units "* ]] && part "ansible-test units" in_tree "$floor/bin/ansible-test" units --venv --python "$py" --color no --requirements
[[ $parts == *" e2e "* ]] && [ "${LOOKEROPS_TEST_FULL:-0}" = 1 ] && part "end-to-end migrate" env LOOKEROPS_CONTROLLER_PYTHON="$floor/bin/python" \
    "$root/.venv/bin/python" -m pytest -p no:cacheprovider -q -ra "$root/tests/pytest/test_e2e_migrate.py" \
    -k test_migrate_moves_every_record_to_gcm_and_loses_nothing
[ "$failed" -eq 0 ]
