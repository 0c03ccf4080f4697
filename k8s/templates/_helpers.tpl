{{/* Labels of every object; selectors use the stable subset (name, instance, component). */}}
{{- define "s2st.labels" -}}
app.kubernetes.io/name: s2st
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: s2st
helm.sh/chart: {{ .root.Chart.Name }}-{{ .root.Chart.Version }}
{{- end }}

{{- define "s2st.selector" -}}
app.kubernetes.io/name: s2st
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* A podSelector for one component of this release (network policies). */}}
{{- define "s2st.podsOf" -}}
podSelector:
  matchLabels: {{- include "s2st.selector" . | nindent 4 }}
{{- end }}

{{/* A release is a tag, never latest: every pod of a rollout must run the same code; a digest, when given, pins it. */}}
{{- define "s2st.image" -}}
{{- $tag := required "images.tag: the release to deploy (e.g. v1.2.0)" .root.Values.images.tag -}}
{{- if eq $tag "latest" }}{{ fail "images.tag: a release, never latest" }}{{ end -}}
{{- $digest := index (.root.Values.images.digests | default dict) .image | default "" -}}
{{- if and $digest (not (regexMatch "^sha256:[0-9a-f]{64}$" $digest)) }}{{ fail (printf "images.digests.%s: sha256: and 64 hex digits" .image) }}{{ end -}}
{{ required (printf "images.%s: the image's registry path" .image) (index .root.Values.images .image) }}:{{ $tag }}{{ if $digest }}@{{ $digest }}{{ end }}
{{- end }}

{{/* Pods run as the images' unprivileged user (uid 10001 unless given). */}}
{{- define "s2st.podSecurity" -}}
runAsNonRoot: true
runAsUser: {{ .uid | default 10001 }}
runAsGroup: {{ .uid | default 10001 }}
fsGroup: {{ .uid | default 10001 }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Containers write only to the volumes they mount. */}}
{{- define "s2st.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end }}
