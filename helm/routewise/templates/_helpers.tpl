{{/* Chart name. */}}
{{- define "routewise.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name prefix: the release name when it contains the chart name, else "<release>-<chart>". */}}
{{- define "routewise.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The names the operator writes: its gateway's ConfigMap and Secret (router/config/delivery.ts configMapName and
credentialsSecretName; a test keeps them equal) and the leader Lease (--lease-name).
*/}}
{{- define "routewise.routerConfigMapName" -}}{{ .Values.gateway.name }}-router{{- end }}
{{- define "routewise.routerSecretName" -}}{{ .Values.gateway.name }}-router-credentials{{- end }}
{{- define "routewise.leaseName" -}}{{ .Values.operator.leaseName }}{{- end }}

{{/* Labels on every object. */}}
{{- define "routewise.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "routewise.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: routewise
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component; call with (dict "ctx" $ "component" "router"). */}}
{{- define "routewise.selectorLabels" -}}
app.kubernetes.io/name: {{ include "routewise.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* All labels of one component's objects. */}}
{{- define "routewise.componentLabels" -}}
{{ include "routewise.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
The operator's rules in the namespaces it watches: read the policies, write their status, read Secrets (only those a
ModelProvider or ModelClientKey references are used; RBAC cannot scope list/watch to names chosen at run time), record Events.
ONE list, bound cluster-wide by a ClusterRole (operator.watchNamespaces empty) or by a Role in each watched namespace.
A new policy kind is one more entry in $policies (and in operator/rbac/rbac.yaml; a test keeps the two equal).
*/}}
{{- define "routewise.operatorWatchRules" -}}
{{- $withStatus := list "modelproviders" "modelroutes" "modelgateways" "modelclientkeys" }}
{{- $policies := append $withStatus "modelreferencegrants" }}
- apiGroups: [routewise.dev]
  resources: [{{ join ", " $policies }}]
  verbs: [get, list, watch]
- apiGroups: [routewise.dev]
  resources: [{{ range $i, $p := $withStatus }}{{ if $i }}, {{ end }}{{ $p }}/status{{ end }}]
  verbs: [get, patch, update]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
{{- end }}

{{/* Marks the metrics Services, so a ServiceMonitor selects them and never the router's API Service. */}}
{{- define "routewise.metricsServiceLabel" -}}
routewise.dev/metrics: "true"
{{- end }}

{{- define "routewise.operatorName" -}}{{ include "routewise.fullname" . }}-operator{{- end }}
{{- define "routewise.routerName" -}}{{ include "routewise.fullname" . }}-router{{- end }}

{{- define "routewise.operatorServiceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- default (include "routewise.operatorName" .) .Values.operator.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.operator.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "routewise.routerServiceAccountName" -}}
{{- if .Values.router.serviceAccount.create }}
{{- default (include "routewise.routerName" .) .Values.router.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.router.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image reference: repository@digest, else repository:tag (tag defaults to appVersion). */}}
{{- define "routewise.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
Topology spread constraints with a labelSelector for the component's pods added where none is given.
Call with (dict "ctx" $ "component" "router" "constraints" .Values.router.topologySpreadConstraints).
*/}}
{{- define "routewise.topologySpread" -}}
{{- $selector := include "routewise.selectorLabels" (dict "ctx" .ctx "component" .component) | fromYaml }}
{{- range .constraints }}
- {{ toYaml (mergeOverwrite (dict "labelSelector" (dict "matchLabels" $selector)) .) | nindent 2 | trim }}
{{- end }}
{{- end }}

{{/* Fails the render on value combinations the schema cannot express. */}}
{{- define "routewise.validate" -}}
{{- if and (gt (int .Values.operator.replicas) 1) (not .Values.operator.leaderElection.enabled) }}
{{- fail "operator.replicas > 1 needs operator.leaderElection.enabled=true (two leaders would fight over the router config)" }}
{{- end }}
{{- if and .Values.router.autoscaling.enabled (gt (int .Values.router.autoscaling.minReplicas) (int .Values.router.autoscaling.maxReplicas)) }}
{{- fail "router.autoscaling.minReplicas must not exceed router.autoscaling.maxReplicas" }}
{{- end }}
{{- if eq (int .Values.router.port) (int .Values.router.metricsPort) }}
{{- fail "router.metricsPort must differ from router.port (metrics are never served on the API port)" }}
{{- end }}
{{- with .Values.operator.watchNamespaces }}
{{- if not (has $.Release.Namespace .) }}
{{- fail (printf "operator.watchNamespaces must include the release namespace %s: the operator finds its ModelGateway there" $.Release.Namespace) }}
{{- end }}
{{- end }}
{{- $routes := .Values.gateway.allowedRoutes.namespaces }}
{{- if and (eq (toString $routes.from) "Selector") (not $routes.selector) }}
{{- fail "gateway.allowedRoutes.namespaces.selector is required when from is Selector" }}
{{- end }}
{{- range $i, $claim := .Values.gateway.modelNames }}
{{- if and $claim.namespaces (eq (toString $claim.namespaces.from) "Selector") (not $claim.namespaces.selector) }}
{{- fail (printf "gateway.modelNames[%d].namespaces.selector is required when from is Selector" $i) }}
{{- end }}
{{- end }}
{{- end }}
