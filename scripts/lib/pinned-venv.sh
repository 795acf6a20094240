# Sourced by the scripts that need Python packages (clients.sh, check-chart.sh, check-terraform.sh): one way to keep
# a venv at the pins of a requirements file.
#
#   pinned_venv VENV REQUIREMENTS [PIP ARGS...]
#
# Creates VENV and installs REQUIREMENTS into it (with the extra pip arguments, e.g. --no-deps for a file that pins
# every package) unless VENV already holds exactly that file's pins: a copy of the file kept in the venv when the
# install succeeded says so, so an up-to-date venv costs no Python start and no network. Sets pinned_venv_state to
# "up to date" or "installed". Debian's python3 needs python3-venv for `python3 -m venv`; as root it is installed.
pinned_venv() {
  local venv=$1 requirements=$2
  shift 2
  local stamp="$venv/.zkr-requirements"
  if [[ -x $venv/bin/python && -f $stamp ]] && cmp -s "$requirements" "$stamp"; then
    pinned_venv_state="up to date"
    return
  fi
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    fi
    rm -rf "$venv"
    python3 -m venv "$venv" >/dev/null 2>&1 || {
      echo "pinned_venv: 'python3 -m venv' failed (on Debian: apt-get install python3-venv)" >&2
      return 1
    }
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "$@" -r "$requirements"
  cp "$requirements" "$stamp"
  pinned_venv_state="installed"
}
