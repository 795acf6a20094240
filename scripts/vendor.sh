#!/usr/bin/env bash
# Fetches the crates the workspace needs in a patched form into vendor/ (ignored by git). Run by scripts/setup.sh;
# every cargo command in this workspace needs it to have run once.
#
#   vendor/zkevm-hashes   zkevm-hashes 0.3.0 (axiom's keccak circuit) from crates.io, checked against its published
#                         sha256. The release pins halo2-base =0.5.0 and snark-verifier-sdk =0.2.0, which cannot sit
#                         next to halo2-base 0.5.5 (soundness fixes) and snark-verifier 0.2.7 (the ruint that alloy
#                         shares). The changes: those two pins become =0.5.5 and =0.2.7, the `halo2-axiom` feature,
#                         whose targets no longer exist, becomes empty, and lib.rs gets `#![allow(warnings)]` and
#                         `#![allow(clippy::all)]` (a path dependency is linted like our own code; this one is not
#                         ours to lint). The code itself is untouched.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
vendor="$root/vendor"

name=zkevm-hashes
version=0.3.0
sha256=feef997d48228a4d87d2d157a71ea5f605b3d4b7add5aa9a9ee2659fefd43649
dest="$vendor/$name"
stamp="$dest/.vendored"
fingerprint=$(cat "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)

if [[ -f $stamp && $(cat "$stamp") == "$fingerprint" ]]; then
  exit 0
fi

echo "vendor: fetching $name $version"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
crate="$tmp/$name.crate"
cached=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"$name-$version.crate" 2>/dev/null | head -n1 || true)
if [[ -n $cached ]]; then
  cp "$cached" "$crate"
else
  curl -sSfL --retry 3 -o "$crate" "https://static.crates.io/crates/$name/$name-$version.crate"
fi
echo "$sha256  $crate" | sha256sum -c --quiet -

tar xzf "$crate" -C "$tmp"
src="$tmp/$name-$version"
manifest="$src/Cargo.toml"
# Each edit must match exactly once: fail loudly if the manifest is not the one this script was written for.
edit() { # <from> <to>
  python3 - "$manifest" "$1" "$2" <<'PY'
import sys
path, old, new = sys.argv[1:]
text = open(path).read()
if text.count(old) != 1:
    sys.exit(f"vendor: {old!r} not found exactly once in {path}")
open(path, "w").write(text.replace(old, new))
PY
}
edit 'version = "=0.5.0"' 'version = "=0.5.5"'
edit 'version = "=0.2.0"' 'version = "=0.2.7"'
edit $'halo2-axiom = [\n    "halo2-base/halo2-axiom",\n    "snark-verifier-sdk/halo2-axiom",\n]' 'halo2-axiom = []'
# Not ours to format or lint.
printf 'disable_all_formatting = true\n' >"$src/rustfmt.toml"
{ printf '#![allow(warnings)]\n#![allow(clippy::all)]\n'; cat "$src/src/lib.rs"; } >"$tmp/lib.rs"
mv "$tmp/lib.rs" "$src/src/lib.rs"
rm -f "$src/Cargo.lock"

rm -rf "$dest"
mkdir -p "$vendor"
mv "$src" "$dest"
echo "$fingerprint" >"$stamp"
echo "vendor: $name $version ready in $dest"
