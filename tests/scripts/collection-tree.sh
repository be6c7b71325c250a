#!/usr/bin/env bash
# Copies the collection (tracked and untracked-but-not-ignored files) into
# $1/ansible_collections/lookerops/encryption and prints that path. ansible-test refuses
# symlinked paths, so this is a real copy.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dest="$1/ansible_collections/lookerops/encryption"
rm -rf "$dest"
mkdir -p "$dest"
cd "$root"
git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    printf '%s\0' "$f"
done | tar --null -T - -cf - | tar -xf - -C "$dest"
echo "$dest"
