#!/usr/bin/env bash
# Renders the Helm chart with its default values into manifests/routewise.yaml, for users without Helm
# (`kubectl apply --server-side -f manifests/routewise.yaml`). Run by `npm run manifests`; the output is committed
# and never edited by hand (test/helm/manifests.test.ts fails when it is stale).
#
# First copies crds/ into the chart's crds/ directory (helm/routewise/crds/, which Helm installs before the
# templates) and examples/ into helm/routewise/files/examples/, since a chart cannot read files outside its
# directory; the same test fails when those copies drift. The output includes the CRDs (--include-crds), first.
#
# Environment:
#   ROUTEWISE_TOOLS_BIN  directory holding helm (default: <repo>/.tools/bin, filled by `npm run setup:tools`)
#   MANIFESTS_OUT        output file (default: <repo>/manifests/routewise.yaml); tests render to a temp file
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd)
CHART="$REPO_ROOT/helm/routewise"
HELM="${ROUTEWISE_TOOLS_BIN:-$REPO_ROOT/.tools/bin}/helm"
OUT="${MANIFESTS_OUT:-$REPO_ROOT/manifests/routewise.yaml}"
NAMESPACE=routewise-system
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion), so the output does not depend on helm's default.
KUBE_VERSION=1.28.0

if [[ ! -x "$HELM" ]]; then
  echo "helm not found at $HELM: run \`npm run setup:tools\` first" >&2
  exit 1
fi

sync_dir() {
  local from="$1" to="$2"
  rm -rf "$to"
  mkdir -p "$to"
  cp "$from"/*.yaml "$to"/
}
if [[ -z "${MANIFESTS_OUT:-}" ]]; then
  sync_dir "$REPO_ROOT/crds" "$CHART/crds"
  sync_dir "$REPO_ROOT/examples" "$CHART/files/examples"
fi

# Helm writes nothing outside these temporary directories.
HELM_TMP=$(mktemp -d)
trap 'rm -rf "$HELM_TMP"' EXIT
export HELM_CACHE_HOME="$HELM_TMP/cache" HELM_CONFIG_HOME="$HELM_TMP/config" HELM_DATA_HOME="$HELM_TMP/data"

mkdir -p "$(dirname -- "$OUT")"
{
  echo "# Routewise, rendered from helm/routewise with its default values by \`npm run manifests\`. Do not edit."
  echo "# Install: kubectl apply --server-side -f routewise.yaml"
  echo "---"
  echo "apiVersion: v1"
  echo "kind: Namespace"
  echo "metadata:"
  echo "  name: $NAMESPACE"
  echo "  labels:"
  echo "    app.kubernetes.io/part-of: routewise"
  "$HELM" template routewise "$CHART" --namespace "$NAMESPACE" --kube-version "$KUBE_VERSION" --include-crds
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "Rendered $OUT"
