{{/*
Names, labels and the pieces every pod shares. Object names are cut to 63 characters (the DNS label limit that
Service names and label values share).
*/}}

{{- define "zkr.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every object's name: the release name, with the chart's name unless it already holds it. */}}
{{- define "zkr.fullname" -}}
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

{{- define "zkr.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "zkr.coordinator.fullname" -}}
{{- printf "%s-coordinator" (include "zkr.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "zkr.node.fullname" -}}
{{- printf "%s-node" (include "zkr.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* A worker pool's name; called with (dict "ctx" $ "pool" "gpu"). */}}
{{- define "zkr.prover.fullname" -}}
{{- printf "%s-prover-%s" (include "zkr.fullname" .ctx) .pool | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "zkr.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "zkr.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Labels every object carries: the selector labels and the ones that describe the release. */}}
{{- define "zkr.labels" -}}
{{ include "zkr.selectorLabels" . }}
{{ include "zkr.releaseLabels" . }}
{{- end }}

{{- define "zkr.releaseLabels" -}}
helm.sh/chart: {{ include "zkr.chart" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: zkr
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "zkr.selectorLabels" -}}
app.kubernetes.io/name: {{ include "zkr.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
A component's labels and selector labels; called with (dict "ctx" $ "component" "coordinator") and, for a worker
pool, "pool" "gpu".
*/}}
{{- define "zkr.componentLabels" -}}
{{ include "zkr.componentSelectorLabels" . }}
{{ include "zkr.releaseLabels" .ctx }}
{{- end }}

{{- define "zkr.componentSelectorLabels" -}}
{{ include "zkr.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- with get . "pool" }}
zkr/pool: {{ . }}
{{- end }}
{{- end }}

{{- define "zkr.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The pod spec's fields every component shares. */}}
{{- define "zkr.podCommon" -}}
serviceAccountName: {{ include "zkr.serviceAccountName" . }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
{{- /* Service links would put variables such as ZKR_COORDINATOR_PORT into every container; the binaries read
their settings from ZKR_* variables and refuse unknown ones. */}}
enableServiceLinks: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* A probe's timing fields; called with the values' probe map. */}}
{{- define "zkr.probeTiming" -}}
{{- $timing := dict }}
{{- range $k := list "initialDelaySeconds" "periodSeconds" "timeoutSeconds" "failureThreshold" "successThreshold" }}
{{- if hasKey $ $k }}
{{- $_ := set $timing $k (index $ $k | int64) }}
{{- end }}
{{- end }}
{{- toYaml $timing }}
{{- end }}

{{/* A TOML basic string: JSON's string escapes are all valid TOML escapes. */}}
{{- define "zkr.tomlString" -}}
{{- toJson (toString .) }}
{{- end }}

{{/* Secret references: a Secret's name and key for each secret value. */}}
{{- define "zkr.secretName" -}}
{{- include "zkr.fullname" . }}
{{- end }}

{{- define "zkr.token.secret" -}}
{{- if .Values.auth.existingSecret }}{{ .Values.auth.existingSecret }}{{ else }}{{ include "zkr.secretName" . }}{{ end }}
{{- end }}
{{- define "zkr.token.key" -}}
{{- if .Values.auth.existingSecret }}{{ .Values.auth.existingSecretKey }}{{ else }}token{{ end }}
{{- end }}

{{- define "zkr.signer.secret" -}}
{{- $s := .Values.coordinator.l1 }}
{{- if $s.existingSecret }}{{ $s.existingSecret }}{{ else }}{{ include "zkr.secretName" . }}{{ end }}
{{- end }}
{{- define "zkr.signer.key" -}}
{{- $s := .Values.coordinator.l1 }}
{{- if $s.existingSecret }}{{ $s.existingSecretKey }}{{ else }}coordinator-signer-key{{ end }}
{{- end }}

{{- define "zkr.batcher.secret" -}}
{{- $b := .Values.node.batcher }}
{{- if $b.existingSecret }}{{ $b.existingSecret }}{{ else }}{{ include "zkr.secretName" . }}{{ end }}
{{- end }}
{{- define "zkr.batcher.key" -}}
{{- $b := .Values.node.batcher }}
{{- if $b.existingSecret }}{{ $b.existingSecretKey }}{{ else }}node-batcher-key{{ end }}
{{- end }}

{{- define "zkr.proposer.secret" -}}
{{- $p := .Values.node.proposer }}
{{- if $p.existingSecret }}{{ $p.existingSecret }}{{ else }}{{ include "zkr.secretName" . }}{{ end }}
{{- end }}
{{- define "zkr.proposer.key" -}}
{{- $p := .Values.node.proposer }}
{{- if $p.existingSecret }}{{ $p.existingSecretKey }}{{ else }}node-proposer-key{{ end }}
{{- end }}

{{- define "zkr.postgres.secret" -}}
{{- $p := .Values.coordinator.database.postgres }}
{{- if $p.existingSecret }}{{ $p.existingSecret }}{{ else }}{{ include "zkr.secretName" . }}{{ end }}
{{- end }}
{{- define "zkr.postgres.key" -}}
{{- $p := .Values.coordinator.database.postgres }}
{{- if $p.existingSecret }}{{ $p.existingSecretKey }}{{ else }}coordinator-db-url{{ end }}
{{- end }}

{{/* Whether any worker pool runs ("true" or ""). */}}
{{- define "zkr.anyPool" -}}
{{- range $name, $pool := .Values.prover.pools }}{{ if $pool.enabled }}true{{ end }}{{ end }}
{{- end }}

{{/* The URL workers dial. */}}
{{- define "zkr.coordinatorUrl" -}}
{{- if .Values.prover.coordinatorUrl }}
{{- .Values.prover.coordinatorUrl }}
{{- else }}
{{- printf "%s://%s:%d" (ternary "https" "http" .Values.tls.enabled) (include "zkr.coordinator.fullname" .) (.Values.coordinator.service.grpcPort | int) }}
{{- end }}
{{- end }}

{{/* The name workers expect in the coordinator's certificate. */}}
{{- define "zkr.tlsServerName" -}}
{{- default (include "zkr.coordinator.fullname" .) .Values.tls.serverName }}
{{- end }}

{{/*
The projected volume mounted at /etc/zkr: configuration files from ConfigMaps and secret files from Secrets, one
volume so that nothing is mounted inside another read-only mount. Called with (dict "ctx" $ "config" NAME "files"
LIST "l1" BOOL "genesis" BOOL "token" BOOL "tlsServer" BOOL "tlsClient" BOOL).
*/}}
{{- define "zkr.configVolume" -}}
{{- $ := .ctx }}
{{- $l1 := get . "l1" }}
{{- $genesis := get . "genesis" }}
{{- $token := get . "token" }}
{{- $tlsServer := get . "tlsServer" }}
{{- $tlsClient := get . "tlsClient" -}}
- name: config
  projected:
    defaultMode: 0444
    sources:
      - configMap:
          name: {{ .config }}
          items:
            {{- range .files }}
            - key: {{ . }}
              path: {{ . }}
            {{- end }}
      {{- if or $l1 $genesis }}
      - configMap:
          name: {{ include "zkr.fullname" $ }}-l1
          items:
            {{- if $l1 }}
            - key: l1.json
              path: l1.json
            {{- end }}
            {{- if $genesis }}
            - key: genesis.json
              path: genesis.json
            {{- end }}
      {{- end }}
      {{- if $token }}
      - secret:
          name: {{ include "zkr.token.secret" $ }}
          items:
            - key: {{ include "zkr.token.key" $ }}
              path: secrets/token
              mode: 0440
      {{- end }}
      {{- if and $.Values.tls.enabled $tlsServer }}
      - secret:
          name: {{ $.Values.tls.existingSecret }}
          items:
            - key: tls.crt
              path: tls/tls.crt
            - key: tls.key
              path: tls/tls.key
              mode: 0440
            - key: ca.crt
              path: tls/ca.crt
      {{- end }}
      {{- if and $.Values.tls.enabled $tlsClient }}
      - secret:
          name: {{ $.Values.tls.existingSecret }}
          items:
            - key: ca.crt
              path: tls/ca.crt
      {{- if $.Values.tls.mtls.enabled }}
      - secret:
          name: {{ $.Values.tls.mtls.clientSecret }}
          items:
            - key: tls.crt
              path: tls/tls.crt
            - key: tls.key
              path: tls/tls.key
              mode: 0440
      {{- end }}
      {{- end }}
{{- end }}

{{/* The SRS files, mounted read-only one by one into a keys folder. */}}
{{- define "zkr.srsMounts" -}}
{{- range .Values.srs.files }}
- name: srs
  mountPath: /var/lib/zkr/keys/{{ . }}
  subPath: {{ . }}
  readOnly: true
{{- end }}
{{- end }}

{{- define "zkr.srsVolume" -}}
{{- with .Values.srs.volume -}}
- name: srs
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Checks across values that the schema cannot express, each failing with the value to set. Rendered first (by
validate.yaml) so that a missing value is named before anything else fails on it.
*/}}
{{- define "zkr.validate" -}}
{{- $v := .Values }}
{{- $pools := include "zkr.anyPool" . }}
{{- if or $v.coordinator.enabled $v.node.enabled }}
{{- $_ := required "l1.rpcUrl is required: the L1 JSON-RPC endpoint the node and the coordinator follow" $v.l1.rpcUrl }}
{{- $_ := required "l1.deployment is required: the JSON file zkr-deploy wrote (--set-file l1.deployment=deployments/l1.json)" $v.l1.deployment }}
{{- $d := fromJson $v.l1.deployment }}
{{- if hasKey $d "Error" }}
{{- fail (printf "l1.deployment is not JSON: %s" $d.Error) }}
{{- end }}
{{- if not (hasKey $d "shape") }}
{{- fail "l1.deployment has no \"shape\": give the file zkr-deploy wrote" }}
{{- end }}
{{- end }}
{{- if $v.coordinator.enabled }}
{{- $_ := required "genesis is required with the coordinator: the chain's genesis JSON (--set-file genesis=genesis.json)" $v.genesis }}
{{- $g := fromJson $v.genesis }}
{{- if hasKey $g "Error" }}
{{- fail (printf "genesis is not JSON: %s" $g.Error) }}
{{- end }}
{{- $_ := required "genesis has no feeRecipient" $g.feeRecipient }}
{{- if and $v.node.enabled (ne (lower $g.feeRecipient) (lower $v.node.chain.feeRecipient)) }}
{{- fail (printf "genesis' feeRecipient %s differs from node.chain.feeRecipient %s: both must describe one chain" $g.feeRecipient $v.node.chain.feeRecipient) }}
{{- end }}
{{- if not (or $v.coordinator.l1.signerKey $v.coordinator.l1.existingSecret) }}
{{- fail "coordinator.l1.existingSecret (or coordinator.l1.signerKey) is required: the key that sends finalizeBatch" }}
{{- end }}
{{- if eq $v.coordinator.database.type "sqlite" }}
{{- if gt (int $v.coordinator.replicas) 1 }}
{{- fail "coordinator.replicas above 1 needs coordinator.database.type=postgres: an SQLite store serves one coordinator" }}
{{- end }}
{{- if not $v.coordinator.persistence.enabled }}
{{- fail "coordinator.persistence.enabled=false needs coordinator.database.type=postgres: the SQLite store must outlive the pod" }}
{{- end }}
{{- else }}
{{- if not (or $v.coordinator.database.postgres.url $v.coordinator.database.postgres.existingSecret) }}
{{- fail "coordinator.database.postgres.existingSecret (or .url) is required with database.type=postgres" }}
{{- end }}
{{- end }}
{{- end }}
{{- if or $v.coordinator.enabled $pools }}
{{- if not (or $v.auth.token $v.auth.existingSecret) }}
{{- fail "auth.existingSecret (or auth.token) is required: the cluster's bearer token" }}
{{- end }}
{{- end }}
{{- if and $v.node.enabled $v.node.batcher.enabled }}
{{- if not (or $v.node.batcher.privateKey $v.node.batcher.existingSecret) }}
{{- fail "node.batcher.existingSecret (or node.batcher.privateKey) is required with the batcher: an account with the sequencer role" }}
{{- end }}
{{- end }}
{{- if and $v.node.enabled $v.node.proposer.enabled }}
{{- if not $v.node.batcher.enabled }}
{{- fail "node.proposer needs node.batcher: the proposer posts the outputs of the node's own batches" }}
{{- end }}
{{- if not (or $v.node.proposer.privateKey $v.node.proposer.existingSecret) }}
{{- fail "node.proposer.existingSecret (or node.proposer.privateKey) is required with the proposer: an account with the proposer role" }}
{{- end }}
{{- end }}
{{- if and $pools (not $v.coordinator.enabled) }}
{{- $_ := required "prover.coordinatorUrl is required when the release runs workers without a coordinator" $v.prover.coordinatorUrl }}
{{- end }}
{{- if $v.tls.enabled }}
{{- $_ := required "tls.existingSecret is required with tls.enabled: a kubernetes.io/tls Secret with tls.crt, tls.key and ca.crt" $v.tls.existingSecret }}
{{- if $v.tls.mtls.enabled }}
{{- $_ := required "tls.mtls.clientSecret is required with mTLS: the workers' kubernetes.io/tls Secret" $v.tls.mtls.clientSecret }}
{{- end }}
{{- else if $v.tls.mtls.enabled }}
{{- fail "tls.mtls.enabled needs tls.enabled" }}
{{- end }}
{{- if not (or $v.devSrs $v.srs.files) }}
{{- $unseeded := list }}
{{- if and $v.coordinator.enabled (not $v.coordinator.keys.existingClaim) }}
{{- $unseeded = append $unseeded "the coordinator" }}
{{- end }}
{{- range $name, $pool := $v.prover.pools }}
{{- if and $pool.enabled (not $pool.keys.existingClaim) }}
{{- $unseeded = append $unseeded (printf "pool %s" $name) }}
{{- end }}
{{- end }}
{{- if $unseeded }}
{{- fail (printf "srs.volume and srs.files are required: key generation in %s reads the SRS (kzg_bn254_<k>.srs) from its keys folder, which starts empty (or set devSrs=true, INSECURE, for development)" (join ", " $unseeded)) }}
{{- end }}
{{- end }}
{{- if and $v.srs.volume (not $v.srs.files) }}
{{- fail "srs.files is empty: name the SRS files in srs.volume to mount (kzg_bn254_<k>.srs)" }}
{{- end }}
{{- if and $v.srs.files (not $v.srs.volume) }}
{{- fail "srs.files is set without srs.volume: the volume that holds them" }}
{{- end }}
{{- if $v.devSrs }}
{{- $claim := "" }}
{{- if $v.coordinator.enabled }}
{{- $claim = required "devSrs needs coordinator.keys.existingClaim: a keys claim the coordinators and the workers share, so that they all use the one development SRS" $v.coordinator.keys.existingClaim }}
{{- end }}
{{- range $name, $pool := $v.prover.pools }}
{{- if $pool.enabled }}
{{- if not $claim }}
{{- $claim = $pool.keys.existingClaim }}
{{- end }}
{{- if or (not $pool.keys.existingClaim) (ne $pool.keys.existingClaim $claim) }}
{{- fail (printf "devSrs needs prover.pools.%s.keys.existingClaim to name the keys claim every pod shares (%s)" $name (default "a ReadWriteMany claim" $claim)) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- range $name, $pool := $v.prover.pools }}
{{- if and $pool.enabled $pool.autoscaling.enabled }}
{{- if lt (int $pool.autoscaling.maxReplicas) (int $pool.autoscaling.minReplicas) }}
{{- fail (printf "prover.pools.%s.autoscaling.maxReplicas is below minReplicas" $name) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* The coordinator's mounts, shared by its key-generation init container. */}}
{{- define "zkr.coordinatorMounts" -}}
- name: config
  mountPath: /etc/zkr
  readOnly: true
- name: data
  mountPath: /var/lib/zkr
{{- if .Values.coordinator.keys.existingClaim }}
- name: keys
  mountPath: /var/lib/zkr/keys
{{- end }}
{{- with .Values.srs.files }}
{{ include "zkr.srsMounts" $ | trim }}
{{- end }}
- name: tmp
  mountPath: /tmp
{{- end }}

{{/* A claim's storageClassName: "" leaves the field out (the cluster's default class), "-" sets it empty. */}}
{{- define "zkr.storageClass" -}}
{{- if eq .storageClass "-" -}}
storageClassName: ""
{{- else if .storageClass -}}
storageClassName: {{ .storageClass | quote }}
{{- end }}
{{- end }}

{{/* A pool's prover.toml; called with (dict "ctx" $ "pool" $pool). */}}
{{- define "zkr.proverToml" -}}
{{- $ := .ctx }}
{{- $pool := .pool -}}
backend = {{ include "zkr.tomlString" $pool.backend }}
kinds = [{{ range $i, $kind := $pool.kinds }}{{ if $i }}, {{ end }}{{ include "zkr.tomlString" $kind }}{{ end }}]

[coordinator]
url = {{ include "zkr.tomlString" (include "zkr.coordinatorUrl" $) }}

[auth]
token_file = "/etc/zkr/secrets/token"
{{- if $.Values.tls.enabled }}

[tls]
ca = "/etc/zkr/tls/ca.crt"
{{- if $.Values.tls.mtls.enabled }}
cert = "/etc/zkr/tls/tls.crt"
key = "/etc/zkr/tls/tls.key"
{{- end }}
domain = {{ include "zkr.tomlString" (include "zkr.tlsServerName" $) }}
{{- end }}

[keys]
dir = "/var/lib/zkr/keys"
{{- /* With the coordinator in the release its key generation makes the development SRS on the shared keys
claim, and workers wait for it (restarting until it is there) rather than race it with SRSes of their own. */}}
dev_srs = {{ and $.Values.devSrs (not $.Values.coordinator.enabled) }}

[metrics]
addr = "0.0.0.0:9103"
{{- end }}
