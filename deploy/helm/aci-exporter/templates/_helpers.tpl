{{/* The chart name, overridable. */}}
{{- define "aci-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The name of every object: the release name, plus the chart name unless the release name holds it. */}}
{{- define "aci-exporter.fullname" -}}
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

{{- define "aci-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "aci-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "aci-exporter.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "aci-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "aci-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "aci-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Where the chart mounts the configuration and the passwords. */}}
{{- define "aci-exporter.configDir" -}}/etc/aci-exporter/config{{- end }}
{{- define "aci-exporter.passwordsDir" -}}/etc/aci-exporter/passwords{{- end }}

{{/*
The configuration file, for the ConfigMap. Passwords never go into it: an
inline password fails the render, so it cannot land in a ConfigMap.
*/}}
{{- define "aci-exporter.config" -}}
{{- range $i, $f := .Values.config.fabrics }}
{{- if hasKey $f "password" }}
{{- fail (printf "config.fabrics[%d] (%v): an inline password would be rendered into a ConfigMap. Put it in the Secret named by passwords.existingSecret and set password_file: %s/KEY, or use existingConfigSecret" $i $f.name (include "aci-exporter.passwordsDir" $)) }}
{{- end }}
{{- end }}
{{- toYaml .Values.config }}
{{- end }}
