#!/usr/bin/env bash
# The suite, as CI runs it: set-up, then every check. Every step runs even when an earlier one
# failed; the exit status is non-zero when any failed.
#
#   bash tests/scripts/test.sh          the gate (CI): lint, sanity, units on the newest and the
#                                       oldest ansible-core, pytest without the long tier (every
#                                       guard of the key and the data, one end-to-end run of each
#                                       playbook), one molecule scenario, galaxy-importer
#   bash tests/scripts/test.sh --full   the gate plus the long tier: the pytest tests marked
#                                       `full`, every molecule scenario, the end-to-end migrate on
#                                       the oldest ansible-core, the whole fault matrix and the
#                                       downtime benchmark (figures printed, not asserted). Run it
#                                       before resolving an issue that touches what it covers.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1

full=0
for arg in "$@"; do
    case $arg in
        --full) full=1 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "test.sh: unknown argument '$arg' (only --full)"; exit 2 ;;
    esac
done
export LOOKEROPS_TEST_FULL=$full

export LC_ALL=C.UTF-8
# Never let botocore reach an instance-metadata address; dummy credentials only.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE

bash tests/scripts/setup.sh || { echo "setup failed"; exit 1; }
export PATH="$root/.venv/bin:$PATH"

passed=0; failed=0; failures=()
step() {
    local name=$1; shift
    local t0=$SECONDS
    printf '\n=== %s\n' "$name"
    if "$@"; then
        passed=$((passed + 1)); printf '=== %s: ok (%ss)\n' "$name" "$((SECONDS - t0))"
    else
        failed=$((failed + 1)); failures+=("$name"); printf '=== %s: FAILED (%ss)\n' "$name" "$((SECONDS - t0))"
    fi
}

if [ "$full" -eq 1 ]; then
    pytest_select=(); molecule_scenarios=""   # molecule.sh's default: every scenario
else
    pytest_select=(-m "not full"); molecule_scenarios="smoke:3"
fi

step "docsite lint (antsibull-docs) and ansible-lint (production profile)" bash tests/scripts/lint.sh
step "ansible-test sanity" bash tests/scripts/sanity.sh
step "ansible-test units" bash tests/scripts/units-ansible-test.sh
step "pytest" python -m pytest -p no:cacheprovider -q -ra --durations=30 "${pytest_select[@]}" tests/pytest
step "molecule" env ${molecule_scenarios:+LOOKEROPS_MOLECULE_SCENARIOS="$molecule_scenarios"} bash tests/scripts/molecule.sh
step "galaxy-importer" bash tests/scripts/galaxy-importer.sh
step "support floor (ansible-core 2.17, Python 3.11)" bash tests/scripts/floor.sh
if [ "$full" -eq 1 ]; then
    step "fault matrix (every row)" python tests/scripts/fault_matrix.py
    step "downtime benchmark (3 nodes)" python tests/scripts/bench_downtime.py --nodes 3
fi

printf '\n'
for f in "${failures[@]}"; do printf 'failed step: %s\n' "$f"; done
printf 'suite steps: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
