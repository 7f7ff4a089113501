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
# Several make targets (and several checkouts) may build at once: one lock for the whole cache, taken
# before deciding what is missing, so a second caller waits and then finds the binaries in place. Each
# binary is written to a private temporary name and renamed into place (atomic on one filesystem), so
# a reader never sees a half-written file and two writers never share a temporary file.
exec 9>"$cache_root/.build.lock"
if ! flock -n 9; then
  printf '[k8s-build] another build holds %s; waiting for it\n' "$cache_root/.build.lock" >&2
  flock 9
fi
# go.mod + go.sum (committed) pin every module; -mod=readonly makes a missing or changed hash an error
# instead of a silent re-resolution. To bump a version: edit versions.env AND the wrapper go.mod, then
# run once with GOFLAGS=-mod=mod to refresh go.sum, and commit both.
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--mod=readonly}"
# Builds on 2 cores are long; keep them parallel but not oversubscribed.
export GOMAXPROCS="${GOMAXPROCS:-$(nproc)}"

log() { printf '[k8s-build] %s\n' "$*" >&2; }

have() { [ -x "$bin_dir/$1" ]; }

# go build into a unique temporary file next to the target, then rename it into place.
build_into() {
  local target="$1" dir="$2" pkg="$3" ldflags="$4" tmp
  tmp="$(mktemp "$bin_dir/.$target.XXXXXX")"
  if ! (cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg"); then
    rm -f "$tmp"
    return 1
  fi
  chmod 0755 "$tmp"
  mv -f "$tmp" "$bin_dir/$target"
}

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
    build_into "$component" "$mod" "k8s.io/kubernetes/cmd/$component" "$ver_ldflags"
  done
}

build_etcd() {
  have etcd && return 0
  log "building etcd $ETCD_VERSION"
  build_into etcd "$here/etcd" go.etcd.io/etcd/server/v3 "-s -w"
}

build_kwok() {
  have kwok && return 0
  log "building kwok $KWOK_VERSION"
  build_into kwok "$here/kwok" sigs.k8s.io/kwok/cmd/kwok "-s -w"
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
