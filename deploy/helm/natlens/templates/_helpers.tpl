{{- define "natlens.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "natlens.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "natlens.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "natlens.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "natlens.tokenSecret" -}}
{{- .Values.tokens.existingSecret | default (printf "%s-tokens" (include "natlens.fullname" .)) -}}
{{- end -}}

{{- define "natlens.hubSecret" -}}
{{- .Values.hub.existingSecret | default (printf "%s-hub" (include "natlens.fullname" .)) -}}
{{- end -}}

{{/* A value kept across upgrades: the one in the live Secret, else the given one, else random. */}}
{{- define "natlens.secretValue" -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .secret -}}
{{- if and $existing (index $existing.data .key) -}}
{{- index $existing.data .key | b64dec -}}
{{- else -}}
{{- .value | default (randAlphaNum 32) -}}
{{- end -}}
{{- end -}}
