{{/* Names: <release>-tlora unless the release name already says tlora; each component adds its suffix. */}}
{{- define "tlora.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else if contains "tlora" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-tlora" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "tlora.gpu.name" -}}{{ include "tlora.fullname" . }}-gpu{{- end -}}
{{- define "tlora.gateway.name" -}}{{ include "tlora.fullname" . }}-gateway{{- end -}}
{{- define "tlora.webui.name" -}}{{ include "tlora.fullname" . }}-webui{{- end -}}
{{- define "tlora.redis.name" -}}{{ include "tlora.fullname" . }}-redis{{- end -}}
{{- define "tlora.secret.name" -}}{{ include "tlora.fullname" . }}-secrets{{- end -}}

{{/* Labels: common ones, and the selector of one component (call with (dict "root" $ "component" "gpu")). */}}
{{- define "tlora.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: tlora
{{ include "tlora.selectorLabels" . }}
{{- end -}}

{{- define "tlora.selectorLabels" -}}
app.kubernetes.io/name: tlora
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* An image reference: (dict "root" $ "image" .Values.gpuService.image). */}}
{{- define "tlora.image" -}}
{{- $registry := .root.Values.image.registry -}}
{{- $tag := .image.tag | default .root.Chart.AppVersion -}}
{{- if $registry -}}{{ printf "%s/%s:%s" $registry .image.repository $tag }}{{- else -}}{{ printf "%s:%s" .image.repository $tag }}{{- end -}}
{{- end -}}

{{/* Whether the hub needs a Redis backplane: more than one gateway replica. */}}
{{- define "tlora.backplane" -}}
{{- if gt (int .Values.gateway.replicas) 1 -}}true{{- end -}}
{{- end -}}

{{/* Whether a Redis is configured (in-chart or external). */}}
{{- define "tlora.redis.configured" -}}
{{- if or .Values.redis.internal.enabled .Values.redis.external.connectionString .Values.redis.external.existingSecret -}}true{{- end -}}
{{- end -}}

{{/* Whether the WebUI keeps its data-protection keys (sign-in cookies, antiforgery tokens) in that Redis, so every
     replica reads every other's cookies and a restart signs nobody out. */}}
{{- define "tlora.webui.sharedKeys" -}}
{{- if and .Values.webui.enabled (include "tlora.redis.configured" .) -}}true{{- end -}}
{{- end -}}

{{/* The Secret and key holding the Redis connection string (external, existing secret, or the in-chart Redis). */}}
{{- define "tlora.redis.secretName" -}}
{{- if .Values.redis.external.existingSecret -}}{{ .Values.redis.external.existingSecret }}{{- else -}}{{ include "tlora.secret.name" . }}{{- end -}}
{{- end -}}
{{- define "tlora.redis.secretKey" -}}
{{- if .Values.redis.external.existingSecret -}}{{ .Values.redis.external.existingSecretKey }}{{- else -}}redis-connection{{- end -}}
{{- end -}}

{{/* The connection string the chart writes into its Secret when it has one to write. */}}
{{- define "tlora.redis.connection" -}}
{{- if .Values.redis.internal.enabled -}}
{{ include "tlora.redis.name" . }}:{{ .Values.redis.internal.port }},abortConnect=false
{{- else -}}
{{ .Values.redis.external.connectionString }}
{{- end -}}
{{- end -}}

{{/* Stable DNS name of GPU-service pod i: <statefulset>-<i>.<headless service>.<namespace>.svc.<cluster domain>. */}}
{{- define "tlora.gpu.address" -}}
{{- $name := include "tlora.gpu.name" .root -}}
http://{{ $name }}-{{ .index }}.{{ $name }}.{{ .root.Release.Namespace }}.svc.{{ .root.Values.clusterDomain }}:{{ .root.Values.gpuService.port }}
{{- end -}}

{{/* Pod and container security contexts shared by every component. */}}
{{- define "tlora.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.fsGroup }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}
{{- define "tlora.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The Secret and key holding the gateway → GPU service token. */}}
{{- define "tlora.serviceToken.secretName" -}}
{{- .Values.serviceToken.existingSecret | default (include "tlora.secret.name" .) -}}
{{- end -}}
{{- define "tlora.serviceToken.secretKey" -}}
{{- if .Values.serviceToken.existingSecret }}{{ .Values.serviceToken.existingSecretKey }}{{ else }}service-token{{ end -}}
{{- end -}}
{{/* The token the chart keeps: the one already in the release's Secret, or a new random one at install. */}}
{{- define "tlora.serviceToken.value" -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "tlora.secret.name" .) -}}
{{- if and $existing $existing.data (index $existing.data "service-token") -}}
{{- index $existing.data "service-token" | b64dec -}}
{{- else -}}
{{- randAlphaNum 48 -}}
{{- end -}}
{{- end -}}

{{/* The Secret and key holding the web UI admin's password hash: the user's existingSecret, or the chart's Secret
     when passwordHash is given; empty when neither is (the web UI then refuses to start and says what to set). */}}
{{- define "tlora.webuiAdmin.secretName" -}}
{{- if .Values.webui.admin.existingSecret }}{{ .Values.webui.admin.existingSecret }}{{ else if .Values.webui.admin.passwordHash }}{{ include "tlora.secret.name" . }}{{ end -}}
{{- end -}}
{{- define "tlora.webuiAdmin.secretKey" -}}
{{- if .Values.webui.admin.existingSecret }}{{ .Values.webui.admin.existingSecretKey }}{{ else }}webui-admin-password-hash{{ end -}}
{{- end -}}
