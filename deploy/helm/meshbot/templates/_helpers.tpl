{{/* Names, labels and the rules a release must satisfy. */}}

{{- define "meshbot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Kubernetes names are at most 63 characters. */}}
{{- define "meshbot.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "meshbot.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "meshbot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "meshbot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "meshbot.labels" -}}
helm.sh/chart: {{ include "meshbot.chart" . }}
{{ include "meshbot.selectorLabels" . }}
app.kubernetes.io/version: {{ (.Values.image.tag | default .Chart.AppVersion) | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/component: github-app
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "meshbot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "meshbot.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "meshbot.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}
{{- end }}

{{/*
The App id as digits. Values files hand numbers to templates as floats, which
print as 1.234567e+06; int64 gives them back their digits.
*/}}
{{- define "meshbot.appId" -}}
{{- if .Values.github.appId }}{{ int64 .Values.github.appId }}{{ end }}
{{- end }}

{{/* Where each secret value comes from: an existing Secret or the chart's. */}}
{{- define "meshbot.githubSecretName" -}}
{{- .Values.github.existingSecret | default (include "meshbot.fullname" .) }}
{{- end }}
{{- define "meshbot.redisSecretName" -}}
{{- .Values.redis.existingSecret | default (include "meshbot.fullname" .) }}
{{- end }}
{{- define "meshbot.backstageSecretName" -}}
{{- .Values.backstage.existingSecret | default (include "meshbot.fullname" .) }}
{{- end }}
{{- define "meshbot.hasWebhookSecret" -}}
{{- if or .Values.github.existingSecret .Values.github.webhookSecret }}true{{ end }}
{{- end }}
{{- define "meshbot.hasRedis" -}}
{{- if or .Values.redis.existingSecret .Values.redis.url }}true{{ end }}
{{- end }}
{{- define "meshbot.hasBackstage" -}}
{{- if or .Values.backstage.existingSecret .Values.backstage.token }}true{{ end }}
{{- end }}

{{/* Whether the chart creates its own Secret: some value was given inline. */}}
{{- define "meshbot.createSecret" -}}
{{- if or (and (not .Values.github.existingSecret) (or .Values.github.privateKey .Values.github.webhookSecret)) (and (not .Values.redis.existingSecret) .Values.redis.url) (and (not .Values.backstage.existingSecret) .Values.backstage.token) }}true{{ end }}
{{- end }}

{{/*
meshbot.validate fails the release on what would otherwise only show once
pods run: serve refusing its configuration, or replicas that cannot share work.
*/}}
{{- define "meshbot.validate" -}}
{{- $replicas := int .Values.replicaCount }}
{{- if and (gt $replicas 1) (not (include "meshbot.hasRedis" .)) }}
{{- fail (printf "replicaCount is %d, and more than one replica needs Redis: set redis.url (REDIS_URL) or redis.existingSecret. The in-memory store keeps each replica's queue, delivery de-duplication and registry to itself." $replicas) }}
{{- end }}
{{- if and (gt $replicas 1) (not (include "meshbot.hasWebhookSecret" .)) }}
{{- fail (printf "replicaCount is %d, and more than one replica needs the webhook secret (github.webhookSecret or github.existingSecret): without it each replica generates its own development secret." $replicas) }}
{{- end }}
{{- if .Values.github.appId }}
{{- if le (int64 .Values.github.appId) 0 }}
{{- fail (printf "github.appId %q: want the App's numeric id, shown on the App's settings page" (toString .Values.github.appId)) }}
{{- end }}
{{- if not (or .Values.github.existingSecret .Values.github.privateKey) }}
{{- fail "github.appId is set, so the App needs its private key: set github.privateKey or github.existingSecret" }}
{{- end }}
{{- if not (include "meshbot.hasWebhookSecret" .) }}
{{- fail "github.appId is set, so deliveries must be verified: set github.webhookSecret or github.existingSecret (the secret entered in the App's settings)" }}
{{- end }}
{{- else if .Values.github.privateKey }}
{{- fail "github.privateKey is set but github.appId is not: set the App's id too" }}
{{- end }}
{{- if and .Values.github.existingSecret (or .Values.github.privateKey .Values.github.webhookSecret) }}
{{- fail "github.existingSecret and github.privateKey/webhookSecret are both set: use one" }}
{{- end }}
{{- if and .Values.redis.existingSecret .Values.redis.url }}
{{- fail "redis.existingSecret and redis.url are both set: use one" }}
{{- end }}
{{- if and .Values.backstage.existingSecret .Values.backstage.token }}
{{- fail "backstage.existingSecret and backstage.token are both set: use one" }}
{{- end }}
{{- end }}
