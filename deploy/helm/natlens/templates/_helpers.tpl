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

{{/* The NATS client settings of the hub or an agent (bundled NATS): who it is, and the CA it checks the server with. */}}
{{- define "natlens.natsClientEnv" -}}
{{- if .root.Values.nats.enabled }}
{{- if eq .role "hub" }}
- name: NATLENS_BUS_USER
  value: natlens-hub
- name: NATLENS_BUS_PASSWORD
  valueFrom: { secretKeyRef: { name: {{ include "natlens.hubSecret" .root }}, key: nats-hub-password } }
{{- else if .root.Values.nats.auth.usersSecret }}
# one NATS user per node (natlens nats-config): natlens-agent-<node>, password = this node's token
- name: NATLENS_BUS_AUTH
  value: node-token
{{- else }}
- name: NATLENS_BUS_USER
  value: natlens-agent
- name: NATLENS_BUS_PASSWORD
  valueFrom: { secretKeyRef: { name: {{ include "natlens.hubSecret" .root }}, key: nats-agent-password } }
{{- end }}
{{- if .root.Values.nats.tls.secretName }}
- name: NATLENS_BUS_TLS_CA_FILE
  value: /etc/natlens/nats-tls/ca.crt
{{- end }}
{{- end }}
{{- end -}}
