{{/*
The pod skeleton shared by every workload: pod metadata (labels, checksums, annotations) and the
common part of a pod spec (service account token, service links, pull secrets, security context,
node placement). Each workload template adds only what is its own: containers, volumes, grace period.

Argument of every helper here: the root context of a sub-chart (its .Values describe the pod), or
  dict "ctx" <root context>
       "values" <the map describing the pod; default ctx.Values>   e.g. .Values.nodeRecovery
       "component" <app.kubernetes.io/component; default Chart.Name>
       (+ helper-specific keys below)

Pod values read (all optional):
  podLabels, podAnnotations, imagePullSecrets (names, or {name: ...} maps), podSecurityContext,
  nodeSelector, tolerations, affinity, podAntiAffinity, topologySpread
and from .Values.global (experiment-wide, see _global.tpl) the same keys, which the workload's own
values override, and global.platformAssignsIds (OpenShift: runAsUser, runAsGroup and fsGroup are
left to the platform, whatever the workload says).
*/}}

{{/*
panda-lib.podMetadata: the "metadata:" block of a pod template.
Extra argument keys:
  "checksums"   dict <name> <template file of the same chart>: annotation checksum/<name> = sha256 of
                that rendered template, so a changed ConfigMap rolls exactly the pods that read it
  "annotations" dict of further annotations computed by the caller (e.g. site-file checksums)
Labels: the recommended labels (selector labels included, they always win), then podLabels, then
global.podLabels. Annotations: checksums and "annotations", then podAnnotations, then
global.podAnnotations (a workload's own value wins over the global one).
*/}}
{{- define "panda-lib.podMetadata" -}}
{{- $args := hasKey . "ctx" | ternary . (dict "ctx" .) -}}
{{- $ctx := $args.ctx -}}
{{- $v := $args.values | default $ctx.Values -}}
{{- $component := $args.component | default $ctx.Chart.Name -}}
{{- $checksums := $args.checksums | default dict -}}
{{- $extra := $args.annotations | default dict -}}
{{- $g := $ctx.Values.global | default dict -}}
{{- $labels := include "panda-lib.labelsFor" (dict "ctx" $ctx "component" $component) | fromYaml -}}
{{- $labels = merge $labels ($v.podLabels | default dict) ($g.podLabels | default dict) -}}
{{- $annotations := dict -}}
{{- range $name, $template := $checksums -}}
{{- $_ := set $annotations (printf "checksum/%s" $name) (include "panda-lib.checksum" (dict "ctx" $ctx "template" $template)) -}}
{{- end -}}
{{- $annotations = merge $annotations $extra ($v.podAnnotations | default dict) ($g.podAnnotations | default dict) -}}
metadata:
  labels:
    {{- toYaml $labels | nindent 4 }}
  {{- with $annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/*
panda-lib.podSpec.common: the pod-spec keys every workload shares, to be placed first under "spec:".
Extra argument key:
  "serviceAccountName" a ServiceAccount whose token the pod needs (node recovery); without it the
                       pod gets no token at all
Renders automountServiceAccountToken, enableServiceLinks (false: no Docker-link variables that
could shadow the Secrets' env), imagePullSecrets, securityContext (restricted defaults merged with
podSecurityContext), nodeSelector, tolerations, affinity and topologySpreadConstraints.
*/}}
{{- define "panda-lib.podSpec.common" -}}
{{- $args := hasKey . "ctx" | ternary . (dict "ctx" .) -}}
{{- $ctx := $args.ctx -}}
{{- $v := $args.values | default $ctx.Values -}}
{{- $sa := $args.serviceAccountName | default "" -}}
{{- $g := $ctx.Values.global | default dict -}}
{{- if $sa -}}
serviceAccountName: {{ $sa }}
automountServiceAccountToken: true
{{- else -}}
automountServiceAccountToken: false
{{- end }}
enableServiceLinks: false
{{- $pullSecrets := list -}}
{{- range concat ($v.imagePullSecrets | default list) ($g.imagePullSecrets | default list) -}}
{{- $name := . -}}
{{- if kindIs "map" . }}{{ $name = .name }}{{ end -}}
{{- $entry := dict "name" $name -}}
{{- if not (has $entry $pullSecrets) -}}
{{- $pullSecrets = append $pullSecrets $entry -}}
{{- end -}}
{{- end -}}
{{- with $pullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- $psc := include "panda-lib.podSecurityContext" $v.podSecurityContext | fromYaml }}
{{- if $g.platformAssignsIds }}
{{- $psc = omit $psc "runAsUser" "runAsGroup" "fsGroup" }}
{{- end }}
securityContext:
  {{- toYaml $psc | nindent 2 }}
{{- with merge (deepCopy ($v.nodeSelector | default dict)) ($g.nodeSelector | default dict) }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with include "panda-lib.tolerations" (dict "ctx" $ctx "values" $v) }}
{{ . }}
{{- end }}
{{- with include "panda-lib.spreadAffinity" (dict "ctx" $ctx "values" $v) }}
{{ . }}
{{- end }}
{{- with include "panda-lib.topologySpread" (dict "ctx" $ctx "values" $v) }}
{{ . }}
{{- end }}
{{- end -}}

{{/*
panda-lib.container.common: the container keys every container shares, to be placed under
"- name: <container>": image, imagePullPolicy, securityContext, resources and, when the values have
them, readinessProbe and livenessProbe.
Argument: the root context or dict "ctx" "values" as above (values.image, .securityContext,
.resources, .readinessProbe, .livenessProbe).
*/}}
{{- define "panda-lib.container.common" -}}
{{- $args := hasKey . "ctx" | ternary . (dict "ctx" .) -}}
{{- $ctx := $args.ctx -}}
{{- $v := $args.values | default $ctx.Values -}}
image: {{ include "panda-lib.image" (dict "ctx" $ctx "image" $v.image) }}
imagePullPolicy: {{ include "panda-lib.pullPolicy" $v.image }}
securityContext:
  {{- include "panda-lib.containerSecurityContext" $v.securityContext | nindent 2 }}
{{- with $v.readinessProbe }}
readinessProbe:
  {{- include "panda-lib.probe" . | nindent 2 }}
{{- end }}
{{- with $v.livenessProbe }}
livenessProbe:
  {{- include "panda-lib.probe" . | nindent 2 }}
{{- end }}
resources:
  {{- include "panda-lib.resources" $v.resources | nindent 2 }}
{{- end -}}
