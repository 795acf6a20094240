#!/usr/bin/env bash
# Installs the pinned Ethereum client libraries that the conformance scripts in node/tests/clients/ run against a
# zkr-node (both ignored by git):
#
#   node/tests/clients/node_modules   ethers and viem, `npm ci` from node/tests/clients/package-lock.json
#   .tools/clients-venv               web3.py and eth-account, a venv from node/tests/clients/requirements.txt
#
# Idempotent: when both are installed at the pinned versions it returns at once without touching the network.
# Needs node >= 20 with npm, and python3 >= 3.10 with venv (on Debian, installs python3-venv when it is missing).
# Set ZKR_CLIENTS_VENV to put the venv elsewhere.
#
# Then, with a node listening on URL (the websocket endpoint is the same host:port):
#   node node/tests/clients/ethers.mjs URL
#   node node/tests/clients/viem.mjs URL
#   .tools/clients-venv/bin/python node/tests/clients/web3_check.py URL
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
clients="$root/node/tests/clients"
venv="${ZKR_CLIENTS_VENV:-$root/.tools/clients-venv}"

for cmd in node npm python3; do
  command -v "$cmd" >/dev/null || { echo "clients: '$cmd' is required" >&2; exit 1; }
done

# --- npm: ethers, viem ---------------------------------------------------------------------------------------

# True when every package in package-lock.json is in node_modules at the locked version.
npm_installed() {
  (cd "$clients" && node -e '
    const fs = require("fs");
    const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (path === "" || entry.optional) continue;
      let installed;
      try { installed = JSON.parse(fs.readFileSync(`${path}/package.json`, "utf8")).version; } catch { process.exit(1); }
      if (installed !== entry.version) process.exit(1);
    }
  ') 2>/dev/null
}

if npm_installed; then
  npm_state="up to date"
else
  echo "clients: npm ci in node/tests/clients"
  # --ignore-scripts: neither library needs an install script.
  (cd "$clients" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
  npm_installed || { echo "clients: node_modules does not match package-lock.json after npm ci" >&2; exit 1; }
  npm_state="installed"
fi

# --- Python venv: web3.py, eth-account -----------------------------------------------------------------------

# shellcheck source=scripts/lib/pinned-venv.sh
source "$root/scripts/lib/pinned-venv.sh"
pinned_venv "$venv" "$clients/requirements.txt"
venv_state=$pinned_venv_state

echo "clients: node_modules $npm_state, ${venv#"$root"/} $venv_state"
