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

# True when the venv's python runs and has every name==version pin of requirements.txt installed.
venv_installed() {
  [[ -x $venv/bin/python ]] || return 1
  "$venv/bin/python" - "$clients/requirements.txt" <<'EOF' 2>/dev/null
import re, sys
from importlib.metadata import PackageNotFoundError, version

for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
    if not m:
        sys.exit(f"unsupported requirement line: {line}")
    try:
        if version(m.group(1)) != m.group(2):
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
EOF
}

make_venv() {
  rm -rf "$venv"
  python3 -m venv "$venv" >/dev/null 2>&1
}

if venv_installed; then
  venv_state="up to date"
else
  echo "clients: pip install -r node/tests/clients/requirements.txt into ${venv#"$root"/}"
  mkdir -p "$(dirname "$venv")"
  if ! make_venv; then
    # Debian's python3 needs python3-venv (ensurepip) for `python3 -m venv`.
    if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    fi
    make_venv || { echo "clients: 'python3 -m venv' failed (on Debian: apt-get install python3-venv)" >&2; exit 1; }
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$clients/requirements.txt"
  venv_installed || { echo "clients: the venv does not match requirements.txt after pip install" >&2; exit 1; }
  venv_state="installed"
fi

echo "clients: node_modules $npm_state, ${venv#"$root"/} $venv_state"
