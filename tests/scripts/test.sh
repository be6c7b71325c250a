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
#                                       downtime benchmark at 3, 30 and 100 nodes, and the service
#                                       restore at 30 (figures printed, not asserted). Run it
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

# The static checks read the tree and run nothing of the collection's on a node: they run beside the rest, and so do
# the pytest tests that need no bed (the bed's end-to-end runs leave about 40% of the two cores idle). Their output
# is printed, whole, when they have finished. Units (here and on the floor) are not among them: their fake Looker task
# processes would be seen by the bed's nodes, which share the host's process table; they run before the bed is up.
bg_dir=$(mktemp -d /tmp/lookerops-suite.XXXXXX)
trap 'rm -rf "$bg_dir"' EXIT
bg_names=(); bg_pids=()
bg_step() {
    local name=$1; shift
    local i=${#bg_names[@]}
    ( t0=$SECONDS; if "$@" > "$bg_dir/$i.log" 2>&1; then echo "ok $((SECONDS - t0))"; else echo "FAILED $((SECONDS - t0))"; fi > "$bg_dir/$i.rc" ) &
    bg_names+=("$name"); bg_pids+=($!)
}
bg_done=()
bg_report() {  # wait for the background step numbered $1 and print its output and result, once
    local i=$1 rc secs
    [ -n "${bg_done[$i]:-}" ] && return 0
    wait "${bg_pids[$i]}"
    read -r rc secs < "$bg_dir/$i.rc"
    printf '\n=== %s (beside the rest)\n' "${bg_names[$i]}"
    cat "$bg_dir/$i.log"
    if [ "$rc" = ok ]; then
        passed=$((passed + 1)); printf '=== %s: ok (%ss)\n' "${bg_names[$i]}" "$secs"
    else
        failed=$((failed + 1)); failures+=("${bg_names[$i]}"); printf '=== %s: FAILED (%ss)\n' "${bg_names[$i]}" "$secs"
    fi
    bg_done[i]=1
}
bg_finish() {
    local i
    for i in "${!bg_names[@]}"; do bg_report "$i"; done
}

t_suite=$SECONDS
bg_step "docsite lint (antsibull-docs) and ansible-lint (production profile)" bash tests/scripts/lint.sh
bg_step "ansible-test sanity" bash tests/scripts/sanity.sh
bg_step "galaxy-importer" bash tests/scripts/galaxy-importer.sh
bg_step "support floor: ansible-test sanity (ansible-core 2.17, Python 3.11)" bash tests/scripts/floor.sh sanity
# Units on the oldest ansible-core run beside those on the newest: each suite already runs its tests in two xdist
# workers at once, so the fake Looker task processes of one cannot disturb the other more than its own do. Both end
# before the bed is up.
bg_step "support floor: ansible-test units (ansible-core 2.17, Python 3.11)" bash tests/scripts/floor.sh units
floor_units=$((${#bg_names[@]} - 1))
step "ansible-test units" bash tests/scripts/units-ansible-test.sh
bg_report "$floor_units"
[ "$full" -eq 1 ] && step "support floor: the end-to-end migrate (ansible-core 2.17)" bash tests/scripts/floor.sh e2e
# pytest in two lanes (tests/pytest/conftest.py, HOST_LANE): the tests that need no bed beside the bed's end-to-end tests.
pytest_args=(-p no:cacheprovider -q -ra "${pytest_select[@]}")
bg_step "pytest, host lane (tests without the bed)" env LOOKEROPS_PYTEST_LANE=host \
    python -m pytest "${pytest_args[@]}" --durations=10 --basetemp "$bg_dir/pytest-host" tests/pytest
step "pytest, bed lane" env LOOKEROPS_PYTEST_LANE=bed python -m pytest "${pytest_args[@]}" --durations=30 tests/pytest
step "molecule" env ${molecule_scenarios:+LOOKEROPS_MOLECULE_SCENARIOS="$molecule_scenarios"} bash tests/scripts/molecule.sh
bg_finish
if [ "$full" -eq 1 ]; then
    step "fault matrix (every row)" python tests/scripts/fault_matrix.py
    step "downtime benchmark (3, 30 and 100 nodes; service restore at 30)" python tests/scripts/bench_downtime.py --nodes 3 30 100 --restore 30
fi

printf '\n'
for f in "${failures[@]}"; do printf 'failed step: %s\n' "$f"; done
printf 'suite steps: %d passed, %d failed (%ss after set-up)\n' "$passed" "$failed" "$((SECONDS - t_suite))"
[ "$failed" -eq 0 ]
