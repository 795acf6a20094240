#!/usr/bin/env bash
# Checks the Terraform example in deploy/terraform without Terraform, an AWS account or the Terraform registry, none
# of which CI has (see deploy/terraform/README.md, "Checks"):
#
#   1. deploy/terraform/checks/check_terraform.py: parses every .tf file and terraform.tfvars.example with python-hcl2
#      and runs the static checks (pinning, typed and described variables, module inputs of the pinned versions, no
#      credentials or account IDs, the GPU node group's taint and labels, the add-ons, the zkr chart's values against
#      the chart's own values.yaml and values.schema.json, the README's cost and version tables);
#   2. the same with --self-test: breaks copies of the directory in known ways and fails unless each break is caught;
#   3. checkov over the directory (terraform framework), skipping only what deploy/terraform/.checkov.yaml lists with
#      its reason, in a network namespace of its own where unshare(1) allows it;
#   4. where a `terraform` binary is on the PATH (CI does not need one): `terraform fmt -check`, every variable
#      validation through checks/variables.tftest.hcl on a copy of variables.tf alone, and terraform.tfvars.example
#      against those validations. None of this needs a provider or the network.
#
# It installs its pinned Python tools the first time, into two venvs that git ignores:
#   .tools/terraform-check-venv   deploy/terraform/checks/requirements.txt (python-hcl2, PyYAML, jsonschema)
#   .tools/checkov-venv           deploy/terraform/checks/checkov-requirements.txt (checkov and all it pulls in)
# Later runs find them at the pinned versions and touch no network. Needs python3 >= 3.10 with venv.
#
# Usage: scripts/check-terraform.sh [--checkov]
#
# checkov (step 3) runs only with --checkov or ZKR_CHECKOV=1: its cold install costs about a minute and a half, more
# than CI's time budget has room for, so CI runs steps 1, 2 and 4 and a person changing deploy/terraform runs
# this with --checkov (deploy/README.md, "Checks").
set -euo pipefail
run_checkov=${ZKR_CHECKOV:-0}
[[ ${1:-} == --checkov ]] && run_checkov=1

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tf="$root/deploy/terraform"
checks="$tf/checks"
started=$SECONDS

say() { echo "check-terraform: $*"; }

# shellcheck source=scripts/lib/pinned-venv.sh
source "$root/scripts/lib/pinned-venv.sh"

# A venv at a fully pinned requirements file (--no-deps: the file lists every package).
ensure_venv() {
  local t0=$SECONDS
  pinned_venv "$1" "$2" --no-deps
  say "${1#"$root"/} $pinned_venv_state ($((SECONDS - t0))s)"
}

# Runs a command without network access where this machine lets us make a network namespace (root, or user
# namespaces); otherwise runs it as it is.
offline() {
  if unshare -n true 2>/dev/null; then
    unshare -n "$@"
  else
    "$@"
  fi
}

command -v python3 >/dev/null || { say "python3 is required" >&2; exit 1; }
hcl_venv="$root/.tools/terraform-check-venv"
checkov_venv="$root/.tools/checkov-venv"
ensure_venv "$hcl_venv" "$checks/requirements.txt"
if [[ $run_checkov == 1 ]]; then
  ensure_venv "$checkov_venv" "$checks/checkov-requirements.txt"
fi
tools_ready=$SECONDS

say "static checks (checks/check_terraform.py)"
"$hcl_venv/bin/python" "$checks/check_terraform.py" "$tf"

say "self-test of the static checks"
"$hcl_venv/bin/python" "$checks/check_terraform.py" --self-test "$tf"

if [[ $run_checkov == 1 ]]; then
  say "checkov $(sed -n 's/^checkov==//p' "$checks/checkov-requirements.txt") (skips and their reasons: deploy/terraform/.checkov.yaml)"
  # From the example's directory, so that checkov reports the example's paths.
  (cd "$tf" && offline "$checkov_venv/bin/checkov" --config-file .checkov.yaml -d .)
else
  say "checkov skipped (scripts/check-terraform.sh --checkov runs it)"
fi

if command -v terraform >/dev/null; then
  export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_CLI_CONFIG_FILE=/dev/null
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  say "$(terraform version | head -1): fmt, variable validations (checks/variables.tftest.hcl), the example tfvars"
  offline terraform fmt -check -recursive -diff "$tf"
  cp "$tf/terraform.tfvars.example" "$scratch/example.tfvars"
  offline terraform fmt -check -diff "$scratch/example.tfvars"
  # variables.tf alone is a configuration with nothing to create: no provider, no module, no network.
  mkdir "$scratch/variables"
  cp "$tf/variables.tf" "$checks/variables.tftest.hcl" "$scratch/variables/"
  (cd "$scratch/variables" && offline terraform init -input=false -no-color >/dev/null &&
    offline terraform test -no-color | grep -v -e '\.\.\. pass$' -e '^$' | sed 's/^/check-terraform: terraform test: /' &&
    offline terraform plan -input=false -no-color -var-file="$scratch/example.tfvars" >/dev/null)
  say "terraform.tfvars.example passes every validation"
else
  say "no terraform binary on the PATH: fmt and the tftest validations skipped (the static checks cover the rest)"
fi

say "all passed in $((SECONDS - started))s ($((tools_ready - started))s of it installing tools)"
