{{/*
Environment variables a chart does not set itself.

panda-lib.env.extra: "env:" list items (without the key) to append after a container's own entries:
  1. the proxy variables of global.proxy (see _global.tpl), when a proxy is set;
  2. values.extraEnv, a map: NAME: value (string, number or bool), or NAME: {valueFrom: {...}}.
An extraEnv entry replaces a proxy variable of the same name. A name the container sets itself
(listed in "fixed") fails the render when it is in extraEnv, and is not repeated as a proxy
variable: duplicate names are rejected by server-side apply.
Argument: dict "ctx" <root context> "values" <the pod's values; default ctx.Values>
               "fixed" <list of the names the template sets itself>.
*/}}
{{- define "panda-lib.env.extra" -}}
{{- $v := .values | default .ctx.Values -}}
{{- $fixed := .fixed | default list -}}
{{- $extra := $v.extraEnv | default dict -}}
{{- $entries := list -}}
{{- range $name, $value := include "panda-lib.proxyEnv" .ctx | fromJson -}}
{{- if not (or (has $name $fixed) (hasKey $extra $name)) -}}
{{- $entries = append $entries (dict "name" $name "value" $value) -}}
{{- end -}}
{{- end -}}
{{- range $name, $value := $extra -}}
{{- if has $name $fixed -}}
{{- fail (printf "extraEnv.%s: the chart sets %s itself; remove it from extraEnv" $name $name) -}}
{{- end -}}
{{- if kindIs "map" $value -}}
{{- $entries = append $entries (dict "name" $name "valueFrom" ($value.valueFrom | required (printf "extraEnv.%s: a map needs valueFrom" $name))) -}}
{{- else -}}
{{- $entries = append $entries (dict "name" $name "value" (toString $value)) -}}
{{- end -}}
{{- end -}}
{{- with $entries -}}
{{ toYaml . }}
{{- end -}}
{{- end -}}

{{/*
panda-lib.proxyEnv: JSON map of the proxy variables for global.proxy {httpProxy, httpsProxy, noProxy}:
http_proxy/HTTP_PROXY, https_proxy/HTTPS_PROXY and no_proxy/NO_PROXY, or {} when neither proxy is
set. no_proxy is global.proxy.noProxy when given, else localhost, 127.0.0.1, every in-cluster host of
this instance (panda-lib.instanceHosts) and the cluster's own domains .svc and .cluster.local.
Argument: the root context.
*/}}
{{- define "panda-lib.proxyEnv" -}}
{{- $p := (.Values.global | default dict).proxy | default dict -}}
{{- $env := dict -}}
{{- if or $p.httpProxy $p.httpsProxy -}}
{{- with $p.httpProxy }}{{ $_ := set $env "http_proxy" . }}{{ $_ := set $env "HTTP_PROXY" . }}{{ end -}}
{{- with $p.httpsProxy }}{{ $_ := set $env "https_proxy" . }}{{ $_ := set $env "HTTPS_PROXY" . }}{{ end -}}
{{- $default := concat (list "localhost" "127.0.0.1") (include "panda-lib.instanceHosts" . | fromJsonArray) (list ".svc" ".cluster.local") -}}
{{- $noProxy := $p.noProxy | default (join "," $default) -}}
{{- $_ := set $env "no_proxy" $noProxy -}}
{{- $_ := set $env "NO_PROXY" $noProxy -}}
{{- end -}}
{{- toJson $env -}}
{{- end -}}
