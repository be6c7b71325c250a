#!/usr/bin/env bash
# The README's first command: set up, then run the demo (see tests/scripts/demo.py; --keep
# leaves the bed up).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bash tests/scripts/setup.sh
export LC_ALL=C.UTF-8
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
exec .venv/bin/python tests/scripts/demo.py "$@"
