#!/usr/bin/env bash
# Installs the tools the integration tests need into <repo>/.tools/bin:
#   kube-apiserver, kubectl, kube-controller-manager
#                            built from the k8s.io/kubernetes Go module (one pinned release, one wrapper module)
#   etcd                     built from go.etcd.io/etcd/server/v3 (its own wrapper module)
#   helm                     go install helm.sh/helm/vN/cmd/helm@<pinned>
#   kubelet, kube-scheduler, kube-proxy
#                            the single-node cluster (`npm run cluster`, the `cluster` test project); same module
#                            graph as kube-apiserver
#   containerd, ctr, runc, CNI plugins, iptables, nftables, conntrack, podman
#                            Debian's packages (installed with apt-get if missing); podman serves the Docker API
#                            the `containers` test project's testcontainers talks to
#   promtool                 Debian's `prometheus` package (installed with apt-get if missing)
#   redis-server             Debian's `redis-server` package (installed with apt-get if missing)
#
# Versions are pinned in scripts/tool-versions.env. Built binaries are cached outside the repo in
#   ${ROUTEWISE_TOOLS_CACHE:-$HOME/.cache/routewise-tools}/<tool>-<version>-r<recipe>/
# and symlinked into .tools/bin, so a second run takes seconds. Delete a cache directory to rebuild.
#
# Environment:
#   ROUTEWISE_TOOLS_CACHE  cache directory (default $HOME/.cache/routewise-tools)
#   ROUTEWISE_TOOLS_JOBS   parallel Go compile jobs (default: nproc)
#   GOMODCACHE / GOCACHE   Go's own caches (defaults under $HOME); keep them between CI runs if you can.
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd)
BIN_DIR="$REPO_ROOT/.tools/bin"
CACHE_DIR="${ROUTEWISE_TOOLS_CACHE:-$HOME/.cache/routewise-tools}"
JOBS="${ROUTEWISE_TOOLS_JOBS:-$(nproc)}"
# Bump when the build recipe (flags, ldflags) changes, so cached binaries are rebuilt.
RECIPE=1

# shellcheck source=tool-versions.env
source "$SCRIPT_DIR/tool-versions.env"
: "${K8S_VERSION:?missing in tool-versions.env}" "${ETCD_VERSION:?missing}" "${HELM_VERSION:?missing}"

export CGO_ENABLED=0 GOTOOLCHAIN=local GOWORK=off GOFLAGS=-mod=mod

log() { printf '[setup-tools] %s\n' "$*" >&2; }
die() {
  printf '[setup-tools] ERROR: %s\n' "$*" >&2
  exit 1
}

WORK_DIRS=()
cleanup() {
  local d
  for d in "${WORK_DIRS[@]+"${WORK_DIRS[@]}"}"; do rm -rf -- "$d"; done
}
trap cleanup EXIT

# new_work_dir: sets WORK_DIR to a fresh temp dir that is removed on exit. (Not via $(...): a subshell
# could not record it for cleanup.)
new_work_dir() {
  WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/routewise-tools.XXXXXX")
  WORK_DIRS+=("$WORK_DIR")
}

# timed LABEL CMD...: runs CMD and logs wall time and the peak RSS of its largest process.
timed() {
  local label=$1 stats secs kib
  shift
  log "$label: $*"
  if [[ -x /usr/bin/time ]]; then
    stats=$(mktemp)
    if ! /usr/bin/time -f '%e %M' -o "$stats" "$@"; then
      rm -f -- "$stats"
      die "$label failed (command: $*)"
    fi
    read -r secs kib <"$stats" || true
    rm -f -- "$stats"
    log "$label: done in ${secs}s, peak RSS $((kib / 1024)) MiB"
  else
    local start=$SECONDS
    "$@" || die "$label failed (command: $*)"
    log "$label: done in $((SECONDS - start))s"
  fi
}

check_go() {
  command -v go >/dev/null || die "go is not on PATH; install Go >= 1.26 (helm $HELM_VERSION and etcd $ETCD_VERSION need it)"
  log "using $(go version), $JOBS parallel jobs, cache $CACHE_DIR"
}

# module_file PATH@VERSION FIELD: downloads a module and prints its GoMod/Info/Dir path.
module_file() {
  local json path
  json=$(go mod download -json "$1") || die "cannot download Go module $1: $json"
  path=$(sed -n "s/^[[:space:]]*\"$2\": \"\\(.*\\)\",\\{0,1\\}\$/\\1/p" <<<"$json")
  [[ -n $path ]] || die "go mod download -json $1 printed no $2: $json"
  printf '%s\n' "$path"
}

# The `go` line and any `godebug` lines/blocks of a go.mod: they decide the main module's GODEBUG defaults.
go_and_godebug_lines() {
  awk '/^go [0-9]/ { print; next }
       /^godebug[[:space:]]*\(/ { inblock = 1 }
       inblock { print; if ($0 ~ /^\)/) inblock = 0; next }
       /^godebug / { print }' "$1"
}

# Every staging module of k8s.io/kubernetes: required at v0.0.0 or replaced by ./staging/src/...
staging_modules() {
  awk '{ sub(/^[[:space:]]*(require|replace)[[:space:]]+/, "") }
       $1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 }
       $1 ~ /^k8s\.io\// && $2 == "=>" && $3 ~ /^\.\/staging\// { print $1 }' "$1" | sort -u
}

write_kubernetes_wrapper() {
  local dir=$1 gomod=$2 staging_version=$3 modules
  modules=$(staging_modules "$gomod")
  [[ -n $modules ]] || die "found no staging modules in $gomod"
  log "replacing $(wc -l <<<"$modules") staging modules with $staging_version"
  {
    printf 'module local/routewise-kubernetes-tools\n\n'
    go_and_godebug_lines "$gomod"
    printf '\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$K8S_VERSION"
    while read -r m; do printf '\t%s => %s %s\n' "$m" "$m" "$staging_version"; done <<<"$modules"
    printf ')\n'
  } >"$dir/go.mod"
}

kubernetes_ldflags() {
  local minor=$1 build_date=$2 pkg flags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
  done
  printf '%s\n' "$flags"
}

# prepare_kubernetes_wrapper: sets WORK_DIR to a wrapper module that requires k8s.io/kubernetes@$K8S_VERSION
# (module graph resolved) and KUBE_LDFLAGS to the version ldflags.
prepare_kubernetes_wrapper() {
  local minor staging_version gomod info build_date
  new_work_dir
  minor=$(cut -d. -f2 <<<"$K8S_VERSION")
  staging_version="v0.${K8S_VERSION#v1.}"
  gomod=$(module_file "k8s.io/kubernetes@$K8S_VERSION" GoMod)
  info=$(module_file "k8s.io/kubernetes@$K8S_VERSION" Info)
  build_date=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info")
  write_kubernetes_wrapper "$WORK_DIR" "$gomod" "$staging_version"
  KUBE_LDFLAGS=$(kubernetes_ldflags "$minor" "${build_date:-1970-01-01T00:00:00Z}")
  (
    cd "$WORK_DIR"
    timed "resolve k8s.io/kubernetes module graph" go get "k8s.io/kubernetes@$K8S_VERSION"
  ) || exit 1
}

# compile_kubernetes WORK OUT NAME...: builds k8s.io/kubernetes/cmd/NAME into OUT/NAME, one after the other,
# in the wrapper module WORK.
compile_kubernetes() {
  local work=$1 out=$2 name
  shift 2
  mkdir -p -- "$out"
  (
    cd "$work"
    timed "download $(tr ' ' / <<<"$*") sources" go list -deps "${@/#/k8s.io/kubernetes/cmd/}" >/dev/null
    for name in "$@"; do
      timed "compile $name" go build -p "$JOBS" -trimpath -ldflags "$KUBE_LDFLAGS" \
        -o "$out/$name" "k8s.io/kubernetes/cmd/$name"
    done
  ) || exit 1
}

# kube-apiserver + kubectl, and kube-controller-manager, are cached separately (the controller-manager came later;
# a cache dir is never rebuilt just because a tool was added), but share one wrapper module and Go build cache.
build_kubernetes() {
  local core_out="$CACHE_DIR/kubernetes-$K8S_VERSION-r$RECIPE"
  local kcm_out="$CACHE_DIR/kube-controller-manager-$K8S_VERSION-r$RECIPE"
  local node_out="$CACHE_DIR/kube-node-$K8S_VERSION-r$RECIPE"
  local need_core=1 need_kcm=1 need_node=1 work name
  [[ -x $core_out/kube-apiserver && -x $core_out/kubectl ]] && need_core=0
  [[ -x $kcm_out/kube-controller-manager ]] && need_kcm=0
  [[ -x $node_out/kubelet && -x $node_out/kube-scheduler && -x $node_out/kube-proxy ]] && need_node=0
  ((need_core)) || log "kube-apiserver and kubectl $K8S_VERSION: cached in $core_out"
  ((need_kcm)) || log "kube-controller-manager $K8S_VERSION: cached in $kcm_out"
  ((need_node)) || log "kubelet, kube-scheduler and kube-proxy $K8S_VERSION: cached in $node_out"
  ((need_core || need_kcm || need_node)) || return 0
  prepare_kubernetes_wrapper
  work=$WORK_DIR
  log "building Kubernetes $K8S_VERSION binaries in wrapper module $work"
  if ((need_core)); then
    compile_kubernetes "$work" "$work/bin-core" kube-apiserver kubectl
    expect_output "Kubernetes $K8S_VERSION" "$work/bin-core/kube-apiserver" --version
    expect_output "Client Version: $K8S_VERSION" "$work/bin-core/kubectl" version --client
    install_dir "$work/bin-core" "$core_out"
  fi
  if ((need_kcm)); then
    compile_kubernetes "$work" "$work/bin-kcm" kube-controller-manager
    expect_output "Kubernetes $K8S_VERSION" "$work/bin-kcm/kube-controller-manager" --version
    install_dir "$work/bin-kcm" "$kcm_out"
  fi
  if ((need_node)); then
    # The node of the single-node cluster (~10 min cold on 2 cores, most of it kubelet's own packages).
    compile_kubernetes "$work" "$work/bin-node" kubelet kube-scheduler kube-proxy
    for name in kubelet kube-scheduler kube-proxy; do
      expect_output "Kubernetes $K8S_VERSION" "$work/bin-node/$name" --version
    done
    install_dir "$work/bin-node" "$node_out"
  fi
}

build_etcd() {
  local out="$CACHE_DIR/etcd-$ETCD_VERSION-r$RECIPE"
  if [[ -x $out/etcd ]]; then
    log "etcd $ETCD_VERSION: cached in $out"
    return
  fi
  local work gomod
  new_work_dir
  work=$WORK_DIR
  log "building etcd $ETCD_VERSION in wrapper module $work"
  gomod=$(module_file "go.etcd.io/etcd/server/v3@$ETCD_VERSION" GoMod)
  {
    printf 'module local/routewise-etcd-tool\n\n'
    go_and_godebug_lines "$gomod"
  } >"$work/go.mod"
  (
    cd "$work"
    timed "resolve etcd module graph" go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    mkdir -p bin
    timed "compile etcd" go build -p "$JOBS" -trimpath -ldflags "-s -w" -o bin/etcd go.etcd.io/etcd/server/v3
  ) || exit 1
  expect_output "etcd Version: ${ETCD_VERSION#v}" "$work/bin/etcd" --version
  install_dir "$work/bin" "$out"
}

build_helm() {
  local out="$CACHE_DIR/helm-$HELM_VERSION-r$RECIPE"
  if [[ -x $out/helm ]]; then
    log "helm $HELM_VERSION: cached in $out"
    return
  fi
  local work major module gomod client_go k8s_minor ldflags
  new_work_dir
  work=$WORK_DIR
  major=$(cut -d. -f1 <<<"${HELM_VERSION#v}")
  module="helm.sh/helm/v$major"
  gomod=$(module_file "$module@$HELM_VERSION" GoMod)
  # Like helm's Makefile: the default Capabilities.KubeVersion follows the client-go it was built with.
  client_go=$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "$gomod")
  [[ -n $client_go ]] || die "cannot find k8s.io/client-go in $gomod"
  k8s_minor=$(cut -d. -f2 <<<"$client_go")
  ldflags="-s -w -X $module/internal/version.version=$HELM_VERSION -X $module/internal/version.gitTreeState=clean"
  ldflags+=" -X $module/pkg/lint/rules.k8sVersionMajor=1 -X $module/pkg/lint/rules.k8sVersionMinor=$k8s_minor"
  ldflags+=" -X $module/pkg/chartutil.k8sVersionMajor=1 -X $module/pkg/chartutil.k8sVersionMinor=$k8s_minor"
  mkdir -p "$work/bin"
  (
    cd "$work"
    timed "compile helm" env GOBIN="$work/bin" GOFLAGS= \
      go install -p "$JOBS" -trimpath -ldflags "$ldflags" "$module/cmd/helm@$HELM_VERSION"
  ) || exit 1
  expect_output "$HELM_VERSION" "$work/bin/helm" version --short
  install_dir "$work/bin" "$out"
}

# expect_output TEXT CMD...: fails unless CMD succeeds and prints TEXT.
expect_output() {
  local want=$1 got
  shift
  got=$("$@" 2>&1) || die "$* failed: $got"
  [[ $got == *"$want"* ]] || die "$* printed '$got', expected it to contain '$want'"
  log "$(basename -- "$1") reports: $(head -n1 <<<"$got")"
}

# install_dir SRC DEST: moves a finished build into the cache atomically.
install_dir() {
  mkdir -p -- "$(dirname -- "$2")"
  rm -rf -- "$2.partial"
  cp -a -- "$1" "$2.partial"
  rm -rf -- "$2"
  mv -- "$2.partial" "$2"
  log "cached in $2"
}

# ensure_debian COMMAND PACKAGE: installs Debian's PACKAGE with apt-get when COMMAND is not on PATH.
ensure_debian() {
  local cmd=$1 pkg=$2
  if command -v "$cmd" >/dev/null; then return; fi
  log "$cmd missing: installing Debian package '$pkg'"
  [[ $(id -u) -eq 0 ]] || die "$cmd is missing and this is not root: run 'apt-get install -y --no-install-recommends $pkg' as root"
  command -v apt-get >/dev/null || die "$cmd is missing and apt-get is not available; install Debian's $pkg by hand"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "$pkg" >&2; then
    log "apt-get install failed; running apt-get update and retrying"
    apt-get update >&2 || die "apt-get update failed"
    apt-get install -y --no-install-recommends "$pkg" >&2 || die "apt-get install $pkg failed"
  fi
  command -v "$cmd" >/dev/null || die "package '$pkg' installed but $cmd is not on PATH"
}

# ensure_debian_file PATH PACKAGE: like ensure_debian, for a package whose files are not on PATH.
ensure_debian_file() {
  [[ -e $1 ]] && return
  ensure_debian "$1" "$2"
}

link_tool() {
  ln -sfn -- "$1" "$BIN_DIR/$(basename -- "$1")"
}

main() {
  check_go
  mkdir -p -- "$CACHE_DIR" "$BIN_DIR"
  # Serialise concurrent runs sharing one cache.
  exec 9>"$CACHE_DIR/.lock"
  flock 9
  build_etcd
  build_kubernetes
  build_helm
  ensure_debian promtool prometheus
  ensure_debian redis-server redis-server
  # The single-node cluster's runtime and network (Debian's containerd 1.6 passes every cluster test; see ADR 18).
  ensure_debian containerd containerd
  ensure_debian runc runc
  ensure_debian_file /usr/lib/cni/bridge containernetworking-plugins
  ensure_debian iptables iptables
  ensure_debian nft nftables
  ensure_debian conntrack conntrack
  ensure_debian podman podman
  link_tool "$CACHE_DIR/kubernetes-$K8S_VERSION-r$RECIPE/kube-apiserver"
  link_tool "$CACHE_DIR/kubernetes-$K8S_VERSION-r$RECIPE/kubectl"
  link_tool "$CACHE_DIR/kube-controller-manager-$K8S_VERSION-r$RECIPE/kube-controller-manager"
  link_tool "$CACHE_DIR/etcd-$ETCD_VERSION-r$RECIPE/etcd"
  link_tool "$CACHE_DIR/helm-$HELM_VERSION-r$RECIPE/helm"
  link_tool "$(command -v promtool)"
  link_tool "$(command -v prometheus)"
  link_tool "$(command -v redis-server)"
  for name in kubelet kube-scheduler kube-proxy; do link_tool "$CACHE_DIR/kube-node-$K8S_VERSION-r$RECIPE/$name"; done
  for name in containerd ctr containerd-shim-runc-v2 runc podman; do link_tool "$(command -v "$name")"; done
  log "tools in $BIN_DIR:"
  log "  kube-apiserver $("$BIN_DIR/kube-apiserver" --version)"
  log "  kubectl $("$BIN_DIR/kubectl" version --client | head -n1)"
  log "  kube-controller-manager $("$BIN_DIR/kube-controller-manager" --version)"
  log "  etcd $("$BIN_DIR/etcd" --version | head -n1)"
  log "  helm $("$BIN_DIR/helm" version --short)"
  log "  promtool $("$BIN_DIR/promtool" --version 2>&1 | head -n1)"
}

main "$@"
