#!/usr/bin/env bash
# Installs the project's pinned local Ethereum toolchain into .tools/ (ignored by git):
#
#   .tools/bin/anvil, forge, cast       foundry 1.7.1 from npm (@foundry-rs/*-linux-amd64)
#   .tools/bin/solc                     solc-js 0.8.30 behind a native-compatible `solc` command
#   .tools/solc-0.8.19/solc             solc-js 0.8.19, for the generated halo2 verifiers (their pragma pins it);
#                                       put this folder first on PATH for tools that call `solc`
#
# Versions are pinned by scripts/tools/package-lock.json. The script is idempotent: when the installed set matches
# the manifest it returns at once without touching the network. Set ZKR_TOOLS_DIR to install elsewhere.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
manifest="$root/scripts/tools"
tools="${ZKR_TOOLS_DIR:-$root/.tools}"
stamp="$tools/.installed"

fingerprint=$(cat "$manifest/package.json" "$manifest/package-lock.json" "$manifest/solc-shim.js" \
  "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)

# The patched crates cargo needs (vendor/), before anything else: every cargo command depends on them.
"$root/scripts/vendor.sh"

installed_ok() {
  [[ -f $stamp && $(cat "$stamp") == "$fingerprint" ]] || return 1
  local bin
  for bin in anvil forge cast solc; do
    [[ -x $tools/bin/$bin ]] || return 1
  done
  [[ -x $tools/solc-0.8.19/solc ]]
}

if installed_ok; then
  echo "setup: tools in $tools are up to date"
  exit 0
fi

for cmd in node npm; do
  command -v "$cmd" >/dev/null || { echo "setup: '$cmd' is required (Node.js >= 20)" >&2; exit 1; }
done

echo "setup: installing pinned tools into $tools"
rm -rf "$tools/npm" "$tools/bin" "$tools/solc-0.8.19" "$stamp"
mkdir -p "$tools/npm" "$tools/bin" "$tools/solc-0.8.19"
cp "$manifest/package.json" "$manifest/package-lock.json" "$tools/npm/"
cp "$manifest/solc-shim.js" "$tools/solc-shim.js"
# --ignore-scripts: none of these packages needs an install script, and solc-js's would try to download a compiler.
(cd "$tools/npm" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)

modules="$tools/npm/node_modules"
for bin in anvil forge cast; do
  ln -sf "$modules/@foundry-rs/$bin-linux-amd64/bin/$bin" "$tools/bin/$bin"
done

write_solc() { # <path> <solc-js module dir>
  cat >"$1" <<EOF
#!/usr/bin/env bash
exec node "$tools/solc-shim.js" "$2" "\$@"
EOF
  chmod +x "$1"
}
write_solc "$tools/bin/solc" "$modules/solc"
write_solc "$tools/solc-0.8.19/solc" "$modules/solc-0.8.19"

# Fail here, not in a test later, if anything does not run on this machine.
"$tools/bin/anvil" --version | head -n1
"$tools/bin/forge" --version | head -n1
"$tools/bin/cast" --version | head -n1
"$tools/bin/solc" --version | tail -n1
"$tools/solc-0.8.19/solc" --version | tail -n1

echo "$fingerprint" >"$stamp"
echo "setup: done"
