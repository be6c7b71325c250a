#!/usr/bin/env bash
# Runs the molecule scenarios, each on a bed of its own topology that this script brings up
# before and tears down after (also on failure). molecule exits 0 when a scenario's playbook is
# missing, so the output is checked for every step of the sequence.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
export LC_ALL=C.UTF-8 LOOKEROPS_ROOT="$root" LOOKEROPS_PYTHON="$root/.venv/bin/python"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export PATH="$root/.venv/bin:$PATH"
scenarios=${LOOKEROPS_MOLECULE_SCENARIOS:-"smoke:3 cluster:3 single_node:1:--single aws_kms:3:--moto"}
failed=0
current=""
cleanup() { [ -n "$current" ] && "$LOOKEROPS_PYTHON" tests/scripts/molecule_bed.py down "$current" >/dev/null 2>&1; current=""; }
trap cleanup EXIT
for spec in $scenarios; do
    IFS=: read -r scenario nodes flag <<<"$spec"
    [ -f "extensions/molecule/$scenario/molecule.yml" ] || continue
    current="mol-$scenario"
    echo "--- molecule scenario $scenario ($nodes node(s))"
    if ! assignments=$("$LOOKEROPS_PYTHON" tests/scripts/molecule_bed.py up "$current" "$nodes" ${flag:+"$flag"}); then
        echo "molecule: bed for $scenario did not come up"; failed=1; cleanup; continue
    fi
    eval "$assignments"
    log=$(mktemp)
    molecule --base-config extensions/molecule/shared/base.yml test -s "$scenario" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    sed -i 's/\x1b\[[0-9;]*m//g' "$log"
    for step in syntax converge idempotence verify; do
        if ! grep -Eq "^${scenario} ➜ ${step}: Executed: Successful" "$log"; then
            echo "molecule: step '$step' of scenario $scenario did not run successfully"; rc=1
        fi
    done
    rm -f "$log"
    [ "$rc" -eq 0 ] || { echo "molecule: scenario $scenario FAILED"; failed=1; }
    cleanup
done
exit "$failed"
