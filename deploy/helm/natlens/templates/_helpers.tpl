{{/*
The prefix of every object's name: the release name when it already says natlens, else <release>-natlens. At most
40 characters, so that the longest name made from it (<fullname>-postgresql, whose StatefulSet's pods carry a
controller-revision-hash label <name>-<10 characters>) stays within the 63 of a label value and a DNS label.
*/}}
{{- define "natlens.fullname" -}}
{{- $name := ternary .Release.Name (printf "%s-%s" .Release.Name .Chart.Name) (contains .Chart.Name .Release.Name) -}}
{{- $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "natlens.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Labels of one component's objects: the common ones plus app.kubernetes.io/component. Takes (dict "root" . "component" NAME). */}}
{{- define "natlens.componentLabels" -}}
{{ include "natlens.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* NET_RAW for tcpdump, only when the pcap source is asked for. */}}
{{- define "natlens.agentCapabilities" -}}
{{- $caps := list "NET_ADMIN" "BPF" "PERFMON" "SYS_RESOURCE" -}}
{{- if has "pcap" (splitList "," (.Values.agent.sources | replace " " "")) -}}
{{- /* tcpdump captures on raw sockets, then drops to its own user (initgroups, setgid, setuid) */ -}}
{{- $caps = concat $caps (list "NET_RAW" "SETUID" "SETGID") -}}
{{- end -}}
[{{ join ", " $caps }}]
{{- end -}}

{{- define "natlens.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "natlens.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/*
How the image starts each component, in one place (the image's working directory holds bin/natlens; see
deploy/docker/Dockerfile). The agent gets its V8 flags on node's command line, so `natlens agent` does not start
itself again to add them (apps/cli/src/launch/node-flags.ts). Takes (dict "root" . "component" NAME).
*/}}
{{- define "natlens.command" -}}
{{- if eq .component "agent" -}}
["node", "--single-threaded-gc", "--initial-old-space-size=128", "bin/natlens", "agent"]
{{- else if eq .component "hub" -}}
["node", "bin/natlens", "hub"]
{{- else if eq .component "dashboard" -}}
["node", "dist/apps/dashboard/apps/dashboard/server/serve.mjs", "--port", "{{ int .root.Values.dashboard.service.port }}"]
{{- else -}}
{{- fail (printf "natlens.command: no command for component %q" .component) -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding ingest-token and read-token: the user's (tokens.existingSecret) or the chart's. */}}
{{- define "natlens.tokensSecretName" -}}
{{- .Values.tokens.existingSecret | default (printf "%s-tokens" (include "natlens.fullname" .)) -}}
{{- end -}}

{{/* The Secret holding store-url, bus-url (and postgres-password for the bundled PostgreSQL). */}}
{{- define "natlens.hubSecretName" -}}
{{- .Values.hub.existingSecret | default (printf "%s-hub" (include "natlens.fullname" .)) -}}
{{- end -}}

{{/*
A secret value of a Secret the chart writes: the one given in values, else the one in the live Secret (so a
generated value survives `helm upgrade`), else a new random one. `lookup` reads the cluster only during install and
upgrade; `helm template` and `--dry-run` see no cluster, so there a value not given in values is new on every
render (give it in values or an existing Secret for GitOps). Takes (dict "root" . "secret" NAME "key" KEY "value" GIVEN).
*/}}
{{- define "natlens.secretValue" -}}
{{- if .value -}}
{{- .value -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .secret -}}
{{- $data := dig "data" (dict) $existing -}}
{{- if hasKey $data .key -}}
{{- index $data .key | b64dec -}}
{{- else -}}
{{- randAlphaNum 32 -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Refuses settings that cannot work, with what to set instead. Included once, from the hub Deployment. */}}
{{- define "natlens.validate" -}}
{{- if and (not .Values.hub.existingSecret) (not .Values.postgresql.enabled) (not .Values.store.url) -}}
{{- fail "natlens: the hub needs PostgreSQL: set postgresql.enabled=true (bundled), store.url=postgres://… (yours), or hub.existingSecret (a Secret with key store-url)" -}}
{{- end -}}
{{- if and (not .Values.hub.existingSecret) (not .Values.nats.enabled) (not .Values.bus.url) -}}
{{- fail "natlens: agents and hubs need NATS JetStream: set nats.enabled=true (bundled), bus.url=nats://… (yours), or hub.existingSecret (a Secret with key bus-url)" -}}
{{- end -}}
{{- if and .Values.postgresql.enabled .Values.store.url -}}
{{- fail "natlens: store.url and postgresql.enabled=true both name the store: set postgresql.enabled=false to use store.url" -}}
{{- end -}}
{{- if and .Values.nats.enabled .Values.bus.url -}}
{{- fail "natlens: bus.url and nats.enabled=true both name the bus: set nats.enabled=false to use bus.url" -}}
{{- end -}}
{{- if and .Values.hub.existingSecret (or .Values.store.url .Values.bus.url) -}}
{{- fail "natlens: hub.existingSecret supplies store-url and bus-url: leave store.url and bus.url empty" -}}
{{- end -}}
{{- if and .Values.hub.existingSecret (or .Values.nats.auth.hubPassword .Values.nats.auth.agentPassword) -}}
{{- fail "natlens: hub.existingSecret supplies the NATS passwords (keys nats-hub-password, nats-agent-password): leave nats.auth.hubPassword and nats.auth.agentPassword empty" -}}
{{- end -}}
{{- if and .Values.tokens.existingSecret (or .Values.tokens.ingest .Values.tokens.read .Values.tokens.nodeTokenSecret .Values.tokens.dashboardSessionSecret) -}}
{{- fail "natlens: tokens.existingSecret and tokens.ingest/tokens.read/tokens.nodeTokenSecret/tokens.dashboardSessionSecret both supply the tokens: keep one" -}}
{{- end -}}
{{- range $name, $token := dict "tokens.ingest" .Values.tokens.ingest "tokens.read" .Values.tokens.read -}}
{{- if and $token (lt (len $token) 16) -}}
{{- fail (printf "natlens: %s must be at least 16 characters (the hub refuses shorter tokens)" $name) -}}
{{- end -}}
{{- end -}}
{{- range $name, $secret := dict "tokens.nodeTokenSecret" .Values.tokens.nodeTokenSecret "tokens.dashboardSessionSecret" .Values.tokens.dashboardSessionSecret -}}
{{- if and $secret (lt (len $secret) 32) -}}
{{- fail (printf "natlens: %s must be at least 32 characters" $name) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.dashboard.authProxy.userHeader (not .Values.dashboard.authProxy.trustedProxies) -}}
{{- fail "natlens: dashboard.authProxy.userHeader is believed only from dashboard.authProxy.trustedProxies: list the proxy pods' addresses (IPs or CIDRs)" -}}
{{- end -}}
{{- if and (not .Values.nats.enabled) (or .Values.nats.auth.usersSecret .Values.nats.tls.secretName) -}}
{{- fail "natlens: nats.auth.usersSecret and nats.tls.secretName configure the bundled NATS (nats.enabled=true); for yours, give the hub and the agents their NATS settings in hub.extraEnv / agent.extraEnv (SECURITY.md \"NATS\")" -}}
{{- end -}}
{{- end -}}

{{/*
The NATS client settings of the hub or an agent with the bundled NATS: the user it signs in as, and the CA it checks
the server's certificate with. (With a NATS of yours, give them in hub.extraEnv / agent.extraEnv.) Takes (dict "root"
. "role" "hub"|"agent").
*/}}
{{- define "natlens.natsClientEnv" -}}
{{- if .root.Values.nats.enabled }}
{{- if eq .role "hub" }}
- name: NATLENS_BUS_USER
  value: natlens-hub
- name: NATLENS_BUS_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ include "natlens.hubSecretName" .root }}, key: nats-hub-password }
{{- else if .root.Values.nats.auth.usersSecret }}
# one NATS user per node (natlens nats-config): natlens-agent-<node>, password = this node's token
- name: NATLENS_BUS_AUTH
  value: node-token
{{- else }}
- name: NATLENS_BUS_USER
  value: natlens-agent
- name: NATLENS_BUS_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ include "natlens.hubSecretName" .root }}, key: nats-agent-password }
{{- end }}
{{- if .root.Values.nats.tls.secretName }}
- name: NATLENS_BUS_TLS_CA_FILE
  value: /etc/natlens/nats-tls/ca.crt
{{- end }}
{{- end }}
{{- end -}}
