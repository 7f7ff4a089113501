#!/usr/bin/env bash
# Builds the local Kubernetes control plane from the Go module proxy at pinned versions:
# kube-apiserver, kube-controller-manager, kube-scheduler (k8s.io/kubernetes), etcd and kwok.
# Binaries land in a cache outside the repository and are reused; re-running is a no-op.
#
#   tools/k8s/build.sh            build what is missing, print the binary directory
#   NETGUARD_K8S_CACHE=dir ...    cache root (default: ~/.cache/netguard)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
cache_root="${NETGUARD_K8S_CACHE:-$HOME/.cache/netguard}"
bin_dir="$cache_root/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
mkdir -p "$bin_dir"
# go.mod + go.sum (committed) pin every module; -mod=readonly makes a missing or changed hash an error
# instead of a silent re-resolution. To bump a version: edit versions.env AND the wrapper go.mod, then
# run once with GOFLAGS=-mod=mod to refresh go.sum, and commit both.
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--mod=readonly}"
# Builds on 2 cores are long; keep them parallel but not oversubscribed.
export GOMAXPROCS="${GOMAXPROCS:-$(nproc)}"

log() { printf '[k8s-build] %s\n' "$*" >&2; }

have() { [ -x "$bin_dir/$1" ]; }

# The binary directory is named after versions.env; the wrapper go.mod files must pin the same versions.
check_pin() {
  local mod="$here/$1/go.mod" module="$2" version="$3"
  if ! grep -Eq "^(require )?[[:space:]]*$module $version\b" "$mod"; then
    log "$mod does not require $module $version (versions.env); update one of them"
    exit 1
  fi
}
check_pin kubernetes k8s.io/kubernetes "$K8S_VERSION"
check_pin etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
check_pin kwok sigs.k8s.io/kwok "$KWOK_VERSION"

build_kubernetes() {
  local mod="$here/kubernetes" minor="${K8S_VERSION#v1.}"
  local ver_ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ver_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=${minor%%.*}"
    ver_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  for component in kube-apiserver kube-controller-manager kube-scheduler; do
    if have "$component"; then continue; fi
    log "building $component $K8S_VERSION (first build takes a while)"
    (cd "$mod" && go build -trimpath -ldflags "$ver_ldflags" -o "$bin_dir/$component.tmp" "k8s.io/kubernetes/cmd/$component")
    mv "$bin_dir/$component.tmp" "$bin_dir/$component"
  done
}

build_etcd() {
  have etcd && return 0
  log "building etcd $ETCD_VERSION"
  (cd "$here/etcd" && go build -trimpath -ldflags "-s -w" -o "$bin_dir/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$bin_dir/etcd.tmp" "$bin_dir/etcd"
}

build_kwok() {
  have kwok && return 0
  log "building kwok $KWOK_VERSION"
  (cd "$here/kwok" && go build -trimpath -ldflags "-s -w" -o "$bin_dir/kwok.tmp" sigs.k8s.io/kwok/cmd/kwok)
  mv "$bin_dir/kwok.tmp" "$bin_dir/kwok"
}

only="${1:-all}"
case "$only" in
  all) build_etcd; build_kubernetes; build_kwok ;;
  etcd) build_etcd ;;
  kubernetes) build_kubernetes ;;
  kwok) build_kwok ;;
  *) echo "usage: $0 [all|etcd|kubernetes|kwok]" >&2; exit 2 ;;
esac
echo "$bin_dir"
