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
seccompProfile RuntimeDefault, readOnlyRootFilesystem true (the pod mounts an emptyDir at every
path the image writes; an image that writes all over its root says readOnlyRootFilesystem: false
in its values, with the reason).
Argument: the overrides map (may be empty or nil), e.g. .Values.securityContext.
*/}}
{{- define "panda-lib.containerSecurityContext" -}}
{{- $result := dict "allowPrivilegeEscalation" false "capabilities" (dict "drop" (list "ALL")) "seccompProfile" (dict "type" "RuntimeDefault") "readOnlyRootFilesystem" true -}}
{{- range $key, $value := (. | default dict) }}
{{- $_ := set $result $key $value -}}
{{- end -}}
{{- toYaml $result -}}
{{- end -}}

{{/*
panda-lib.image: the image reference of a container.
  tag only        -> <repository>:<tag>
  tag + digest    -> <repository>:<tag>@<digest>   (the digest decides what runs; the tag documents it)
  digest only     -> <repository>@<digest>
A tag of the form "<tag>@<digest>" counts as tag + digest: Argo CD Image Updater's digest strategy
writes image.tag that way ("latest@sha256:...").
Fails on a missing tag and digest, on the tag "latest" without a digest (every image must be pinned),
on a digest that is not sha256:<64 hex digits> and on two different digests. With global.imageRegistryMirrors (registry host ->
mirror prefix, e.g. {ghcr.io: harbor.example.org/ghcr}) the registry part of the repository is
replaced by its mirror; a repository without a registry host is docker.io.
Argument: dict "ctx" <root context> "image" <{repository, tag, digest, pullPolicy}>, or the image map
alone (then no mirror applies).
*/}}
{{- define "panda-lib.image" -}}
{{- $image := . -}}{{- $mirrors := dict -}}
{{- if hasKey . "ctx" -}}
{{- $image = .image -}}
{{- $mirrors = (.ctx.Values.global | default dict).imageRegistryMirrors | default dict -}}
{{- end -}}
{{- $repository := $image.repository | required "image.repository is required" -}}
{{- $parts := include "panda-lib.imageParts" $image | fromJson -}}
{{- $tag := $parts.tag -}}
{{- $digest := $parts.digest -}}
{{- if and $digest (not (regexMatch "^sha256:[a-f0-9]{64}$" $digest)) -}}
{{- fail (printf "image %s: digest %q is not sha256:<64 hex digits>" $repository $digest) -}}
{{- end -}}
{{- if and (not $digest) (or (eq $tag "") (eq $tag "latest")) -}}
{{- fail (printf "image %s needs a pinned tag or a digest (got tag %q): set image.tag to a released version, or image.digest to sha256:..." $repository $tag) -}}
{{- end -}}
{{- $segments := splitList "/" $repository -}}
{{- $registry := "docker.io" -}}{{- $path := $repository -}}
{{- if and (gt (len $segments) 1) (or (contains "." (first $segments)) (contains ":" (first $segments)) (eq (first $segments) "localhost")) -}}
{{- $registry = first $segments -}}{{- $path = join "/" (rest $segments) -}}
{{- end -}}
{{- with get $mirrors $registry -}}
{{- $repository = printf "%s/%s" (trimSuffix "/" .) $path -}}
{{- end -}}
{{- $ref := $repository -}}
{{- if $tag }}{{ $ref = printf "%s:%s" $ref $tag }}{{ end -}}
{{- if $digest }}{{ $ref = printf "%s@%s" $ref $digest }}{{ end -}}
{{- $ref -}}
{{- end -}}

{{/*
panda-lib.imageParts: JSON {tag, digest} of an image map, a "<tag>@<digest>" tag split in two; fails
when that digest and image.digest differ. Argument: the image map.
*/}}
{{- define "panda-lib.imageParts" -}}
{{- $tag := .tag | default "" | toString -}}
{{- $digest := .digest | default "" | toString -}}
{{- if contains "@" $tag -}}
{{- $split := splitList "@" $tag -}}
{{- if and $digest (ne $digest (last $split)) -}}
{{- fail (printf "image %s: the tag %q and image.digest %q name two different digests" .repository $tag $digest) -}}
{{- end -}}
{{- $tag = first $split -}}
{{- $digest = last $split -}}
{{- end -}}
{{- toJson (dict "tag" $tag "digest" $digest) -}}
{{- end -}}

{{/*
panda-lib.pullPolicy: image.pullPolicy when set; otherwise the rule: IfNotPresent for an image pinned
by digest (its content cannot change, re-pulling is pointless), Always for a tag alone (a tag can be
moved; Always only compares the manifest digest and re-downloads nothing that is cached).
Argument: the image map.
*/}}
{{- define "panda-lib.pullPolicy" -}}
{{- if .pullPolicy -}}
{{- .pullPolicy -}}
{{- else if (include "panda-lib.imageParts" . | fromJson).digest -}}
IfNotPresent
{{- else -}}
Always
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
panda-lib.resources: the resources block; fails unless requests and limits are both given and both
name ephemeral-storage (the container's writable layer, logs and disk-backed emptyDirs count against
it: without a limit one pod can fill its node's disk).
Argument: the resources map, e.g. .Values.resources.
*/}}
{{- define "panda-lib.resources" -}}
{{- if not (and .requests .limits) -}}
{{- fail "resources need both requests and limits" -}}
{{- end -}}
{{- if not (and (get .requests "ephemeral-storage") (get .limits "ephemeral-storage")) -}}
{{- fail "resources need ephemeral-storage in both requests and limits" -}}
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
