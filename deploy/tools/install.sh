#!/usr/bin/env bash
# Install the offline deploy-validation tools into a cache outside the repository.
#
#   deploy/tools/install.sh           install what is missing (idempotent; ~1 s when cached)
#   deploy/tools/install.sh --print   print the tools directory
#
# Installs, at the versions pinned in deploy/tools/versions.env:
#   kustomize, kubeconform, promtool  Go tools, built from the Go module proxy (needs `go`)
#   compose-spec                       compose-go's validator (what `docker compose config` loads with)
#   k8s-schemas                        Kubernetes JSON schemas for kubeconform, made from the
#                                      kubernetes-validate wheel on PyPI (no GitHub download)
#   chromium                           Debian's package, for the web console's browser tests (Playwright
#                                      drives it; nothing is downloaded at test time). Needs root or sudo.
#   asyncapi-parser                    the official AsyncAPI parser (npm, `npm ci` of
#                                      deploy/tools/asyncapi/package-lock.json; needs node and npm)
# into ${XDG_CACHE_HOME:-~/.cache}/single-send-consumer/tools/<name>-<version>/. tests/deploy/ finds
# them there and fails (never skips) with a message naming this script when one is missing.
# A cold install takes about 3-4 minutes on 2 cores (promtool is most of it); later runs are instant.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
. "$HERE/versions.env"
TOOLS="${XDG_CACHE_HOME:-$HOME/.cache}/single-send-consumer/tools"

if [ "${1:-}" = "--print" ]; then
  echo "$TOOLS"
  exit 0
fi

mkdir -p "$TOOLS/bin"
log() { echo "deploy/tools/install.sh: $*" >&2; }

go_cmd() {
  if command -v go >/dev/null 2>&1; then
    command -v go
  elif [ -x /usr/local/go/bin/go ]; then
    echo /usr/local/go/bin/go
  else
    log "the Go toolchain (go) is required to build the validation tools"
    exit 1
  fi
}

# go_tool NAME VERSION PACKAGE@VERSION [BUILD FLAGS...]: build one Go command into TOOLS/NAME-VERSION/NAME.
go_tool() {
  local name="$1" version="$2" package="$3"
  shift 3
  local dir="$TOOLS/$name-$version"
  if [ ! -x "$dir/$name" ]; then
    local started tmp
    started=$(date +%s)
    tmp="$(mktemp -d "$TOOLS/.build.XXXXXX")"
    log "building $name $version ..."
    # GOTOOLCHAIN=local: use this machine's Go, never download another toolchain.
    GOBIN="$tmp" GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0 \
      "$(go_cmd)" install -trimpath -ldflags="-s -w" "$@" "$package"
    mkdir -p "$dir"
    mv "$tmp"/* "$dir/$name"
    rm -rf "$tmp"
    log "built $name $version in $(($(date +%s) - started))s"
  fi
  ln -sfn "$dir/$name" "$TOOLS/bin/$name"
}

go_tool kustomize "$KUSTOMIZE_VERSION" "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
go_tool kubeconform "$KUBECONFORM_VERSION" "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
go_tool compose-spec "$COMPOSE_GO_VERSION" "github.com/compose-spec/compose-go/v2/cmd@$COMPOSE_GO_VERSION"
# remove_all_sd leaves out the cloud service-discovery plugins promtool does not need to check rules:
# the build takes ~2.5 min instead of ~5.5 min.
go_tool promtool "$PROMETHEUS_VERSION" "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION" \
  -tags remove_all_sd

schemas="$TOOLS/k8s-schemas-$KUBERNETES_VALIDATE_VERSION"
if [ ! -f "$schemas/.complete" ] || [ "$(cat "$schemas/.complete")" != "$KUBERNETES_VERSIONS" ]; then
  py="${PYTHON:-python3}"
  if [ -n "${VENV:-}" ] && [ -x "$VENV/bin/python" ]; then py="$VENV/bin/python"; fi
  tmp="$(mktemp -d "$TOOLS/.wheel.XXXXXX")"
  log "fetching kubernetes-validate $KUBERNETES_VALIDATE_VERSION (schemas only) ..."
  "$py" -m pip download -q --no-deps --only-binary=:all: -d "$tmp" \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
  rm -rf "$schemas"
  mkdir -p "$schemas"
  # shellcheck disable=SC2086  # the list of versions is split on purpose
  "$py" "$HERE/k8s_schemas.py" "$tmp"/kubernetes_validate-*.whl "$schemas" $KUBERNETES_VERSIONS >&2
  rm -rf "$tmp"
  echo "$KUBERNETES_VERSIONS" >"$schemas/.complete"
fi

if ! command -v chromium >/dev/null 2>&1; then
  log "installing Debian's chromium (the console's browser tests) ..."
  apt=(apt-get -y -q -o Dpkg::Use-Pty=0)
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      log "install Debian's chromium package (apt-get install chromium) for the browser tests"
      exit 1
    fi
    apt=(sudo -n "${apt[@]}")
  fi
  "${apt[@]}" install chromium >/dev/null || { "${apt[@]}" update >/dev/null && "${apt[@]}" install chromium >/dev/null; }
fi
# The official AsyncAPI parser (npm @asyncapi/parser, pinned with its dependencies by
# deploy/tools/asyncapi/package-lock.json) for tests/unit/test_asyncapi.py; installed with `npm ci`
# into a directory named after the lock file's hash, so a changed lock file installs afresh.
asyncapi_lock="$HERE/asyncapi/package-lock.json"
asyncapi="$TOOLS/asyncapi-parser-$(sha256sum "$asyncapi_lock" | cut -c1-16)"
if [ ! -f "$asyncapi/.complete" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    log "npm (Node.js >= 18) is required to install the AsyncAPI parser"
    exit 1
  fi
  log "installing the AsyncAPI parser (npm ci) ..."
  tmp="$(mktemp -d "$TOOLS/.npm.XXXXXX")"
  cp "$HERE/asyncapi/package.json" "$asyncapi_lock" "$tmp/"
  (cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  touch "$tmp/.complete"
  rm -rf "$asyncapi"
  mv "$tmp" "$asyncapi"
fi
ln -sfn "$asyncapi" "$TOOLS/asyncapi-parser"

log "tools ready in $TOOLS"
