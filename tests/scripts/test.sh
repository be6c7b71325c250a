#!/usr/bin/env bash
# The whole suite, as CI runs it: set-up, then every check. Every step runs even when an earlier
# one failed; the exit status is non-zero when any failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
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

step "ansible-lint (production profile)" bash tests/scripts/lint.sh
step "ansible-test sanity" bash tests/scripts/sanity.sh
step "ansible-test units" bash tests/scripts/units-ansible-test.sh
step "pytest" python -m pytest -p no:cacheprovider -q -ra --durations=30 tests/pytest
step "molecule" bash tests/scripts/molecule.sh
step "galaxy-importer" bash tests/scripts/galaxy-importer.sh
step "support floor (ansible-core 2.17, Python 3.11)" bash tests/scripts/floor.sh

printf '\n'
for f in "${failures[@]}"; do printf 'failed step: %s\n' "$f"; done
printf 'suite steps: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
