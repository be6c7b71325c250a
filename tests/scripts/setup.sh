#!/usr/bin/env bash
# One set-up path for a fresh Debian 12 machine (idempotent):
#   - Debian packages the tests and the bed need (when root; otherwise says what to run),
#   - .venv with Python 3.12+ when present (ansible-core 2.21.x), else 3.11 (ansible-core 2.19.x),
#   - the pinned test requirements,
#   - .venv-floor: the oldest ansible-core meta/runtime.yml claims (2.17) on Python 3.11, for the
#     support-floor step of tests/scripts/test.sh (tests/scripts/floor.sh),
#   - .venv-docs: antsibull-docs (tests/requirements-docs.txt) for the docsite lint of tests/scripts/lint.sh,
#   - the stand-in for ansible-test's pip bootstrap script (its download site is unreachable here).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export LC_ALL=C.UTF-8

say() { printf 'setup: %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------------------------
debs="shellcheck mariadb-server mariadb-client openssh-server openssh-client iproute2 sudo curl git tar gzip procps util-linux python3 python3-pymysql python3-yaml"
missing=""
for p in $debs; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" -eq 0 ]; then
        say "installing Debian packages:$missing"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $missing >/dev/null
    else
        say "missing Debian packages:$missing"
        say "run as root: apt-get update && apt-get install -y$missing"
        exit 1
    fi
fi

# --- Python -----------------------------------------------------------------------------------
pick_python() {
    local v p
    if [ -n "${LOOKEROPS_SETUP_PYTHON:-}" ]; then echo "$LOOKEROPS_SETUP_PYTHON"; return; fi
    if command -v pyenv >/dev/null 2>&1; then
        for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.(12|13)\.[0-9]+$' | sort -V); do
            p="$(pyenv prefix "$v")/bin/python${v%.*}"
            [ -x "$p" ] && { echo "$p"; return; }
        done
    fi
    for p in python3.12 python3.13; do
        if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import sys' >/dev/null 2>&1; then
            command -v "$p"; return
        fi
    done
    command -v python3.11 || command -v python3
}
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
    py=$(pick_python)
    say "creating .venv with $py ($("$py" --version 2>&1))"
    rm -rf .venv
    "$py" -m venv .venv
fi
pyver=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
stamp=.venv/.lookerops-requirements
want=$(cat tests/requirements-test.txt tests/constraints-py3.12.txt | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing test requirements into .venv (Python $pyver)"
    .venv/bin/python -m pip install -q --upgrade pip
    cons=()
    [ "$pyver" = "3.12" ] && cons=(-c tests/constraints-py3.12.txt)
    .venv/bin/python -m pip install -q -r tests/requirements-test.txt "${cons[@]}"
    echo "$want" > "$stamp"
fi

# --- the support floor: .venv-floor ---------------------------------------------------------------
# meta/runtime.yml claims ansible-core >= 2.17; that release runs on Python 3.10-3.12 (3.11 here).
pick_floor_python() {
    local v p
    if [ -n "${LOOKEROPS_FLOOR_PYTHON:-}" ]; then echo "$LOOKEROPS_FLOOR_PYTHON"; return; fi
    if command -v pyenv >/dev/null 2>&1; then
        for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.11\.[0-9]+$' | sort -V | tail -n1); do
            p="$(pyenv prefix "$v")/bin/python3.11"
            [ -x "$p" ] && { echo "$p"; return; }
        done
    fi
    command -v python3.11
}
if [ ! -x .venv-floor/bin/python ] || ! .venv-floor/bin/python -c 'import sys' >/dev/null 2>&1; then
    py=$(pick_floor_python) || { say "no Python 3.11 for .venv-floor (set LOOKEROPS_FLOOR_PYTHON)"; exit 1; }
    say "creating .venv-floor with $py ($("$py" --version 2>&1))"
    rm -rf .venv-floor
    "$py" -m venv .venv-floor
fi
stamp=.venv-floor/.lookerops-requirements
want=$(sha256sum < tests/requirements-floor.txt | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing the support-floor requirements into .venv-floor"
    .venv-floor/bin/python -m pip install -q --upgrade pip
    .venv-floor/bin/python -m pip install -q -r tests/requirements-floor.txt
    echo "$want" > "$stamp"
fi

# --- the docsite linter: .venv-docs ----------------------------------------------------------------
# antsibull-docs imports Sphinx, whose releases for Python 3.12 want an older docutils than the test lock holds:
# a venv of its own, with the Python of .venv.
if [ ! -x .venv-docs/bin/python ] || ! .venv-docs/bin/python -c 'import sys' >/dev/null 2>&1; then
    py=$(.venv/bin/python -c 'import sys; print(sys._base_executable)')
    say "creating .venv-docs with $py"
    rm -rf .venv-docs
    "$py" -m venv .venv-docs
fi
stamp=.venv-docs/.lookerops-requirements
want=$(cat tests/requirements-docs.txt tests/constraints-docs-py3.12.txt | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing antsibull-docs into .venv-docs"
    .venv-docs/bin/python -m pip install -q --upgrade pip
    cons=()
    [ "$(.venv-docs/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" = "3.12" ] && cons=(-c tests/constraints-docs-py3.12.txt)
    .venv-docs/bin/python -m pip install -q -r tests/requirements-docs.txt "${cons[@]}"
    echo "$want" > "$stamp"
fi

# --- ansible-test pip bootstrap stand-in ---------------------------------------------------------
# ansible-test downloads get-pip-<version>.py unless ~/.ansible/test/cache/get_pip_<version>.py
# exists (each ansible-core release pins its own pip version). Ours bootstraps pip with ensurepip
# (in a subprocess, which keeps pip's CA config) and then installs what ansible-test asked for from
# the package index.
get_pip_standin() {
    local venv=$1 pipver cache
    pipver=$(grep -ho "pip='[0-9.]*'" "$venv"/lib/python*/site-packages/ansible_test/_internal/python_requirements.py | head -n1 | cut -d"'" -f2)
    [ -n "$pipver" ] || return 0
    cache="$HOME/.ansible/test/cache/get_pip_${pipver//./_}.py"
    mkdir -p "$(dirname "$cache")"
    cat > "$cache" <<'PY'
"""Offline stand-in for get-pip.py, written by lookerops.encryption's tests/scripts/setup.sh."""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
subprocess.run([sys.executable, '-m', 'ensurepip', '--upgrade'], check=True, stdout=subprocess.DEVNULL)
subprocess.run([sys.executable, '-m', 'pip', 'install', '--upgrade'] + args, check=True)
PY
}
get_pip_standin .venv
get_pip_standin .venv-floor

# One line per venv. `ansible --version | head -n1` would close the pipe while ansible still
# writes, and ansible then prints a BrokenPipeError traceback: read the whole output instead.
version_report() {
    local venv=$1 version
    version=$("$venv/bin/ansible" --version)
    printf '%s (%s, %s)' "$venv" "$("$venv/bin/python" --version 2>&1)" "${version%%$'\n'*}"
}
say "ready: $(version_report .venv); $(version_report .venv-floor); .venv-docs ($(.venv-docs/bin/antsibull-docs --version))"
