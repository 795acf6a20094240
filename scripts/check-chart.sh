#!/usr/bin/env bash
# Checks the Helm chart deploy/helm/zkr without Helm (no registry here offers it):
#
#   1. builds the chart's renderer, deploy/helm/render (Go's text/template with sprig and Helm's own functions, the
#      semantics of `helm template`), from Debian's Go 1.19 and Go library packages, offline;
#   2. renders the chart with each file in deploy/helm/zkr/ci/ (the defaults plus the required values; a GPU pool
#      scaled to zero by KEDA; two coordinators on Postgres), and checks that values breaking values.schema.json are
#      refused and that missing required values stop the render with a message naming them;
#   3. validates every rendered object against the Kubernetes 1.31 schemas, strictly (kubernetes-validate), and the
#      ScaledObjects and ServiceMonitors against KEDA's and prometheus-operator's CRD models;
#   4. checks the chart's promises on the rendered objects (deploy/helm/check/check_chart.py says which).
#
# Installs what it needs: the Debian packages below (pinned), and the Python packages pinned in
# deploy/helm/check/requirements.txt into .tools/chart/venv (ignored by git). Both are kept between runs; the renderer
# is rebuilt each run from Go's build cache (about a second). A cold run (apt and pip downloads) takes about a minute
# and a half; a warm one about ten seconds. Set ZKR_TOOLS_DIR to install elsewhere.
#
# Usage: scripts/check-chart.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="${ZKR_TOOLS_DIR:-$root/.tools}/chart"
chart="$root/deploy/helm/zkr"
started=$SECONDS

# Go 1.19, and the sources of sprig, sigs.k8s.io/yaml, gojsonschema and Masterminds/semver under /usr/share/gocode
# (Debian bookworm's versions: the ones Helm 3 built on).
apt_packages=(
  golang-go=2:1.19~1
  golang-github-masterminds-sprig-dev=3.2.3-5
  golang-github-masterminds-semver-dev=3.2.0-1
  golang-k8s-sigs-yaml-dev=1.3.0-1
  golang-github-xeipuuv-gojsonschema-dev=1.2.0-3
)
missing=()
for pkg in "${apt_packages[@]}"; do
  name=${pkg%%=*} want=${pkg#*=}
  have=$(dpkg-query -W -f='${Version}' "$name" 2>/dev/null || true)
  [[ $have == "$want" ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "check-chart: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The renderer, built in GOPATH mode: Debian installs Go libraries as GOPATH sources, sprig's and semver's at paths
# without their /v3 suffix, so a small overlay GOPATH maps the /v3 import paths onto them.
gopath="$tools/gopath"
mkdir -p "$gopath/src/zkr.dev" "$gopath/src/github.com/Masterminds/sprig" "$gopath/src/github.com/Masterminds/semver" \
  "$tools/bin"
ln -sfn /usr/share/gocode/src/github.com/Masterminds/sprig "$gopath/src/github.com/Masterminds/sprig/v3"
ln -sfn /usr/share/gocode/src/github.com/Masterminds/semver "$gopath/src/github.com/Masterminds/semver/v3"
ln -sfn "$root/deploy/helm/render" "$gopath/src/zkr.dev/render"
renderer="$tools/bin/zkr-helm-render"
(
  cd "$gopath/src/zkr.dev/render"
  export GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" GOFLAGS= GOPROXY=off
  unformatted=$(gofmt -l .)
  [[ -z $unformatted ]] || { echo "check-chart: gofmt would change: $unformatted" >&2; exit 1; }
  go vet zkr.dev/render
  go build -o "$renderer" zkr.dev/render
)

# The Python packages, reinstalled when the pins change.
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
  { echo "check-chart: python3 >= 3.11 is required (tomllib)" >&2; exit 1; }
venv="$tools/venv"
# shellcheck source=scripts/lib/pinned-venv.sh
source "$root/scripts/lib/pinned-venv.sh"
pinned_venv "$venv" "$root/deploy/helm/check/requirements.txt"
echo "check-chart: ${venv#"$root"/} $pinned_venv_state"

# The chart's dashboard is a link into deploy/grafana/: a checkout that lost it (core.symlinks=false) fails here.
link="$chart/dashboards/zkr-cluster.json"
[[ -L $link && -f $link ]] ||
  { echo "check-chart: $link must link to deploy/grafana/dashboards/zkr-cluster.json" >&2; exit 1; }

"$venv/bin/python" "$root/deploy/helm/check/check_chart.py" "$renderer" "$chart"
echo "check-chart: done in $((SECONDS - started))s"
