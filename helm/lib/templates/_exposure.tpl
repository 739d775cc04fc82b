{{/*
Exposure outside the cluster: an Ingress, an OpenShift Route, Gateway API routes, or nothing.

How (the mode): the component's `exposure`, else `global.exposure`:
  ingress | route | gateway | none; "" (the default) = as before the setting existed: an Ingress when
  ingress.enabled, a Route when route.enabled (both when both are on).
Whether: a component is public when ingress.enabled or route.enabled is true; an explicit mode only
changes what is rendered for it. Its public host is ingress.host, else route.host.

Ingress values (per exposed sub-chart):
  ingress:
    enabled: false
    className: ""              # spec.ingressClassName; "" = the cluster's default class
    host: ""                   # required when enabled
    path: /
    pathType: Prefix
    sslPassthrough: false      # adds nginx.ingress.kubernetes.io/ssl-passthrough: "true" (controller flag
                               # --enable-ssl-passthrough needed); TLS then ends in the pod (x509 proxies)
    annotations: {}            # extra annotations, added last
    tls: true                  # a TLS section for the host
    existingTlsSecret: ""      # a kubernetes.io/tls Secret of your own; "" = the bundled
                               # <secretsRelease>-<tlsSecretSuffix> from the secrets release
Gateway values: see _gateway.tpl.
*/}}

{{/*
panda-lib.exposure: everything one component needs to be reachable from outside, for the mode in force
(the one include a chart's templates/exposure.yaml needs).
Argument: dict
  "ctx"             <root context>; its .Values.ingress / .Values.route / .Values.gateway are read
  "servicePort"     <port name or number of the Service, for the Ingress and the Gateway routes>
  "tlsSecretSuffix" <suffix of the bundled tls Secret, e.g. "panda-tls-certs"; "" = none>
  "routeTargetPort" <optional Service port of the OpenShift Route, default servicePort>
  "routeTermination" <optional OpenShift Route termination: passthrough (default) | edge>
  "clientTls"       <optional bool: the pod authenticates clients by their TLS certificate (x509/grid
                     proxies), so the Gateway passes TLS through by default>
  "plainHttp"       <optional bool: the backend speaks plain http only (no passthrough possible)>
  "name"            <optional object/Service name, default the fullname>
*/}}
{{- define "panda-lib.exposure" -}}
{{- $v := .ctx.Values -}}
{{- if kindIs "map" $v.ingress }}
{{- include "panda-lib.ingress" (merge (dict "ingress" $v.ingress) .) }}
{{- end }}
{{- if kindIs "map" $v.route }}
{{- include "panda-lib.route" (merge (dict "route" $v.route "targetPort" (.routeTargetPort | default .servicePort) "termination" .routeTermination) .) }}
{{- end }}
{{- end -}}

{{/*
panda-lib.exposure.plan: what one component renders, as JSON {"mode", "kinds", "host"}.
kinds lists "ingress", "route" and/or "gateway". Argument: dict "ctx" "ingress" "route" (either may be
nil for a chart without that block).
*/}}
{{- define "panda-lib.exposure.plan" -}}
{{- $v := .ctx.Values -}}
{{- $ing := .ingress | default dict -}}
{{- $route := .route | default dict -}}
{{- $mode := $v.exposure | default ($v.global).exposure | default "" -}}
{{- $kinds := list -}}
{{- if eq $mode "" -}}
{{- if $ing.enabled }}{{ $kinds = append $kinds "ingress" }}{{ end -}}
{{- if $route.enabled }}{{ $kinds = append $kinds "route" }}{{ end -}}
{{- else if not (has $mode (list "ingress" "route" "gateway" "none")) -}}
{{- fail (printf "%s: exposure %q is not one of ingress, route, gateway, none" .ctx.Chart.Name $mode) -}}
{{- else if and (ne $mode "none") (or $ing.enabled $route.enabled) -}}
{{- $kinds = list $mode -}}
{{- end -}}
{{- toJson (dict "mode" $mode "kinds" $kinds "host" ($ing.host | default $route.host | default "")) -}}
{{- end -}}

{{/*
panda-lib.ingress: an Ingress document (starting with "---") when the component's mode asks for one;
in gateway mode the Gateway API routes instead (see _gateway.tpl); else nothing.
Argument: dict
  "ctx"             <root context>
  "ingress"         <ingress values>
  "servicePort"     <port name or number of the Service <fullname>>
  "tlsSecretSuffix" <suffix of the bundled tls Secret, e.g. "panda-tls-certs">
  "name"            <optional object/Service name, default the fullname>
  "clientTls", "plainHttp" <optional, as for panda-lib.exposure>
*/}}
{{- define "panda-lib.ingress" -}}
{{- $ing := .ingress | default dict -}}
{{- $route := .ctx.Values.route -}}
{{- $plan := include "panda-lib.exposure.plan" (dict "ctx" .ctx "ingress" $ing "route" (ternary $route nil (kindIs "map" $route))) | fromJson -}}
{{- $name := .name | default (include "panda-lib.fullname" .ctx) -}}
{{- if has "ingress" $plan.kinds }}
{{- $host := ternary $ing.host $plan.host (eq $plan.mode "") -}}
{{- $host = $host | required (printf "ingress.host is required when the %s Ingress is enabled" .ctx.Chart.Name) -}}
{{- include "panda-lib.ingress.object" (merge (dict "host" $host "name" $name "ingress" $ing) .) }}
{{- end }}
{{- if has "gateway" $plan.kinds }}
{{- include "panda-lib.gateway.objects" (dict "ctx" .ctx "name" $name "host" $plan.host "servicePort" .servicePort
      "tlsSecretSuffix" .tlsSecretSuffix "existingTlsSecret" $ing.existingTlsSecret
      "passthrough" (or .clientTls $ing.sslPassthrough) "plainHttp" .plainHttp
      "path" ($ing.path | default "/") "pathType" ($ing.pathType | default "Prefix")) }}
{{- end }}
{{- end -}}

{{/*
panda-lib.ingress.object: the Ingress itself. Argument: the panda-lib.ingress dict plus "host", "name".
The auth-tls-* annotations of ingress-nginx take effect only together with auth-tls-secret (a Secret
with ca.crt): without it the controller drops them silently, so that is refused here.
*/}}
{{- define "panda-lib.ingress.object" -}}
{{- $ing := .ingress -}}
{{- $annotations := dict -}}
{{- if $ing.sslPassthrough }}
{{- $_ := set $annotations "nginx.ingress.kubernetes.io/ssl-passthrough" "true" -}}
{{- end }}
{{- range $k, $v := ($ing.annotations | default dict) }}
{{- $_ := set $annotations $k (toString $v) -}}
{{- end }}
{{- $authTls := list "auth-tls-verify-client" "auth-tls-verify-depth" "auth-tls-pass-certificate-to-upstream" "auth-tls-match-cn" "auth-tls-error-page" -}}
{{- range $authTls }}
{{- if and (hasKey $annotations (printf "nginx.ingress.kubernetes.io/%s" .)) (not (hasKey $annotations "nginx.ingress.kubernetes.io/auth-tls-secret")) }}
{{- fail (printf "%s: ingress annotation nginx.ingress.kubernetes.io/%s has no effect without nginx.ingress.kubernetes.io/auth-tls-secret (<namespace>/<Secret with ca.crt>); see docs/exposure.md" $.ctx.Chart.Name .) }}
{{- end }}
{{- end }}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ .name }}
  labels:
    {{- include "panda-lib.labels" .ctx | nindent 4 }}
  {{- with $annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with $ing.className }}
  ingressClassName: {{ . }}
  {{- end }}
  {{- if $ing.tls }}
  tls:
    - hosts:
        - {{ .host | quote }}
      secretName: {{ $ing.existingTlsSecret | default (include "panda-lib.secretName" (dict "ctx" .ctx "suffix" .tlsSecretSuffix)) }}
  {{- end }}
  rules:
    - host: {{ .host | quote }}
      http:
        paths:
          - path: {{ $ing.path | default "/" }}
            pathType: {{ $ing.pathType | default "Prefix" }}
            backend:
              service:
                name: {{ .name }}
                port:
                  {{- if kindIs "string" .servicePort }}
                  name: {{ .servicePort }}
                  {{- else }}
                  number: {{ .servicePort | int }}
                  {{- end }}
{{- end -}}

{{/*
OpenShift Route values:
  route:
    enabled: false
    host: ""           # required when enabled
    annotations: {}
panda-lib.route: a route.openshift.io/v1 Route when the component's mode asks for one. Default TLS
passthrough (the pod terminates TLS and sees client certificates; plain http is not forwarded,
insecureEdgeTerminationPolicy None). With "termination" "edge" (for a backend speaking plain http) the
router terminates TLS and redirects http. In gateway mode, a chart without ingress values (Harvester)
gets its Gateway API route from here; charts with ingress values get it from panda-lib.ingress.
Argument: dict "ctx" <root context> "route" <route values> "targetPort" <Service port name>
"termination" <optional: passthrough (default) | edge> "name" <optional Service name, default the fullname>
"tlsSecretSuffix" <optional, for a Gateway of our own>.
*/}}
{{- define "panda-lib.route" -}}
{{- $route := .route | default dict -}}
{{- $ing := .ctx.Values.ingress -}}
{{- $plan := include "panda-lib.exposure.plan" (dict "ctx" .ctx "ingress" (ternary $ing nil (kindIs "map" $ing)) "route" $route) | fromJson -}}
{{- $name := .name | default (include "panda-lib.fullname" .ctx) }}
{{- if has "route" $plan.kinds }}
{{- $host := ternary $route.host $plan.host (eq $plan.mode "") }}
---
apiVersion: route.openshift.io/v1
kind: Route
metadata:
  name: {{ $name }}
  labels:
    {{- include "panda-lib.labels" .ctx | nindent 4 }}
  {{- with $route.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  host: {{ $host | required (printf "route.host is required when the %s Route is enabled" .ctx.Chart.Name) | quote }}
  to:
    kind: Service
    name: {{ $name }}
    weight: 100
  port:
    targetPort: {{ .targetPort }}
  tls:
    {{- if eq (.termination | default "passthrough") "edge" }}
    termination: edge
    insecureEdgeTerminationPolicy: Redirect
    {{- else }}
    termination: passthrough
    insecureEdgeTerminationPolicy: None
    {{- end }}
{{- end }}
{{- if and (has "gateway" $plan.kinds) (not (kindIs "map" $ing)) }}
{{- include "panda-lib.gateway.objects" (dict "ctx" .ctx "name" $name "host" $plan.host "servicePort" .targetPort
      "tlsSecretSuffix" (.tlsSecretSuffix | default "") "existingTlsSecret" ""
      "passthrough" (ne (.termination | default "passthrough") "edge") "plainHttp" (eq (.termination | default "passthrough") "edge")
      "path" "/" "pathType" "Prefix") }}
{{- end }}
{{- end -}}
