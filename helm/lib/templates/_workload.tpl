{{/*
Helpers for pod and container specs.
*/}}

{{/*
panda-lib.podSecurityContext: the Pod Security "restricted" defaults for a pod, shallow-merged with
the component's overrides (a key given in the overrides replaces the default key entirely).
Defaults: runAsNonRoot true, seccompProfile RuntimeDefault.
Argument: the overrides map (may be empty or nil), e.g. .Values.podSecurityContext.
*/}}
{{- define "panda-lib.podSecurityContext" -}}
{{- $result := dict "runAsNonRoot" true "seccompProfile" (dict "type" "RuntimeDefault") -}}
{{- range $key, $value := (. | default dict) }}
{{- $_ := set $result $key $value -}}
{{- end -}}
{{- toYaml $result -}}
{{- end -}}

{{/*
panda-lib.containerSecurityContext: the "restricted" defaults for a container, shallow-merged with
the component's overrides. Defaults: allowPrivilegeEscalation false, capabilities drop ALL,
seccompProfile RuntimeDefault.
Argument: the overrides map (may be empty or nil), e.g. .Values.securityContext.
*/}}
{{- define "panda-lib.containerSecurityContext" -}}
{{- $result := dict "allowPrivilegeEscalation" false "capabilities" (dict "drop" (list "ALL")) "seccompProfile" (dict "type" "RuntimeDefault") -}}
{{- range $key, $value := (. | default dict) }}
{{- $_ := set $result $key $value -}}
{{- end -}}
{{- toYaml $result -}}
{{- end -}}

{{/*
panda-lib.image: "<repository>:<tag>" or "<repository>:<tag>@<digest>". Fails on an empty tag or
"latest": every image must be pinned.
Argument: the image map {repository, tag, digest (optional)}, e.g. .Values.image.
*/}}
{{- define "panda-lib.image" -}}
{{- $repository := .repository | required "image.repository is required" -}}
{{- $tag := .tag | toString -}}
{{- if or (eq $tag "") (eq $tag "latest") (eq $tag "<nil>") -}}
{{- fail (printf "image %s needs a pinned tag (got %q): set image.tag to a released version" $repository $tag) -}}
{{- end -}}
{{- if .digest -}}
{{- printf "%s:%s@%s" $repository $tag .digest -}}
{{- else -}}
{{- printf "%s:%s" $repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
panda-lib.probe: a probe from a compact spec.
  type: tcp | http | exec
  port: name or number (tcp, http)
  path, scheme: (http; scheme defaults to HTTP)
  command: list (exec)
  initialDelaySeconds, periodSeconds, timeoutSeconds, failureThreshold, successThreshold: copied when set
Argument: the spec map, e.g. .Values.readinessProbe. Renders the probe body (without the key).
*/}}
{{- define "panda-lib.probe" -}}
{{- $probe := dict -}}
{{- if eq .type "tcp" -}}
{{- $_ := set $probe "tcpSocket" (dict "port" .port) -}}
{{- else if eq .type "http" -}}
{{- $_ := set $probe "httpGet" (dict "port" .port "path" (.path | default "/") "scheme" (.scheme | default "HTTP")) -}}
{{- else if eq .type "exec" -}}
{{- $_ := set $probe "exec" (dict "command" .command) -}}
{{- else -}}
{{- fail (printf "probe type must be tcp, http or exec (got %q)" (toString .type)) -}}
{{- end -}}
{{- range $key := list "initialDelaySeconds" "periodSeconds" "timeoutSeconds" "failureThreshold" "successThreshold" -}}
{{- if hasKey $ $key -}}
{{- $_ := set $probe $key (get $ $key) -}}
{{- end -}}
{{- end -}}
{{- toYaml $probe -}}
{{- end -}}

{{/*
panda-lib.resources: the resources block; fails unless both requests and limits are given.
Argument: the resources map, e.g. .Values.resources.
*/}}
{{- define "panda-lib.resources" -}}
{{- if not (and .requests .limits) -}}
{{- fail "resources need both requests and limits" -}}
{{- end -}}
{{- toYaml . -}}
{{- end -}}

{{/*
panda-lib.memoryMiB: a memory quantity ("512Mi", "4Gi", "2G", "1048576") as a whole number of MiB,
e.g. to size a JVM heap from the container limit.
Argument: the quantity (string or number).
*/}}
{{- define "panda-lib.memoryMiB" -}}
{{- $q := toString . -}}
{{- $number := regexFind "^[0-9.]+" $q | float64 -}}
{{- $unit := regexReplaceAll "^[0-9.]+" $q "" -}}
{{- $factors := dict "" (divf 1 1048576) "Ki" (divf 1 1024) "Mi" 1.0 "Gi" 1024.0 "Ti" 1048576.0 "k" (divf 1000 1048576) "M" (divf 1000000 1048576) "G" (divf 1000000000 1048576) "T" (divf 1000000000000 1048576) -}}
{{- if not (hasKey $factors $unit) -}}
{{- fail (printf "unsupported memory quantity %q" $q) -}}
{{- end -}}
{{- mulf $number (get $factors $unit) | floor | int -}}
{{- end -}}

{{/*
panda-lib.tolerations: the "tolerations:" key with .Values.tolerations plus, when
global.nodeFailureTolerations.enabled, NoExecute tolerations for not-ready/unreachable nodes after
global.nodeFailureTolerations.tolerationSeconds (default 30; Kubernetes' default is 300) so the pod is
rescheduled quickly when its node dies. Renders nothing when the list is empty.
Argument: the root context. Use inside a pod spec: {{- include "panda-lib.tolerations" . | nindent 6 }}
*/}}
{{- define "panda-lib.tolerations" -}}
{{- $tolerations := list -}}
{{- range (.Values.tolerations | default list) -}}
{{- $tolerations = append $tolerations . -}}
{{- end -}}
{{- $nft := (.Values.global).nodeFailureTolerations | default dict -}}
{{- if $nft.enabled -}}
{{- $seconds := $nft.tolerationSeconds | default 30 | int -}}
{{- range $key := list "node.kubernetes.io/not-ready" "node.kubernetes.io/unreachable" -}}
{{- $tolerations = append $tolerations (dict "key" $key "operator" "Exists" "effect" "NoExecute" "tolerationSeconds" $seconds) -}}
{{- end -}}
{{- end -}}
{{- if $tolerations -}}
tolerations:
{{ toYaml $tolerations }}
{{- end -}}
{{- end -}}
