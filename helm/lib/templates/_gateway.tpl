{{/*
Gateway API exposure (global.exposure or the component's exposure = gateway).

Per component, a route attached to a Gateway:
  - TLSRoute (gateway.networking.k8s.io/v1) when the client's TLS session must reach the pod: the pod
    authenticates clients by certificate (PanDA server, iDDS: x509/grid proxies), ingress.sslPassthrough
    is on, or gateway.tlsMode is Passthrough. Needs a listener with protocol TLS, tls.mode Passthrough.
  - HTTPRoute otherwise (the Gateway terminates TLS on an HTTPS listener), plus a BackendTLSPolicy
    (v1) when the backend port is an https one (re-encryption to the pod).
Hostnames come from the same values as the Ingress (ingress.host, else route.host).

Global values (every component chart's parent values.yaml):
  global:
    exposure: ""                  # ingress | route | gateway | none; "" = per component, as before
    gateway:
      name: ""                    # the Gateway the routes attach to (required unless create)
      namespace: ""               # its namespace; "" = the release namespace
      passthroughListener: ""     # sectionName for TLSRoutes; "" = any listener that accepts them
      httpsListener: ""           # sectionName for HTTPRoutes; "" = any listener that accepts them
      create: false               # a Gateway of our own per release, <fullname>-gateway
      className: ""               # its gatewayClassName (required with create)
      clientCaConfigMap: ""       # our own Gateway: request client certificates on HTTPS listeners
                                  # (frontend validation, AllowInsecureFallback) against this ca.crt
      backendCaConfigMap: ""      # BackendTLSPolicy CA (ConfigMap with ca.crt); "" = system CAs
      envoyClientTrafficPolicy:   # body of the Envoy Gateway ClientTrafficPolicy (see below)
        validationMode: Request
        caConfigMap: ""
        xfccMode: SanitizeSet
        certDetailsToAdd: [Subject, Cert, Chain]
Component values:
  exposure: ""                    # overrides global.exposure
  gateway:
    parentRefs: []                # [{name, namespace, sectionName, port}] instead of global.gateway
    tlsMode: ""                   # Passthrough | Terminate; "" = decided as above
    backendPort: ""               # Service port (name or number); "" = the Ingress's port
    requestTimeout: ""            # HTTPRoute timeouts.request, e.g. 360s
    certificateSecret: ""         # our own Gateway's HTTPS certificate; "" = the Ingress's TLS Secret
    envoyClientTrafficPolicy: false  # render the Envoy Gateway ClientTrafficPolicy for this route's listener
*/}}

{{/*
panda-lib.gateway.objects: the route(s) of one component, and the Gateway / policies that go with them.
Argument: dict "ctx" "name" (Service and object name) "host" "servicePort" "tlsSecretSuffix"
"existingTlsSecret" "passthrough" (bool: default to a TLSRoute) "plainHttp" (bool) "path" "pathType".
*/}}
{{- define "panda-lib.gateway.objects" -}}
{{- $chart := .ctx.Chart.Name -}}
{{- $gw := .ctx.Values.gateway | default dict -}}
{{- $g := (.ctx.Values.global).gateway | default dict -}}
{{- $host := .host | required (printf "%s: a public host (ingress.host or route.host) is required for the Gateway API route" $chart) -}}
{{- $mode := $gw.tlsMode | default (ternary "Passthrough" "Terminate" (and .passthrough (not .plainHttp))) -}}
{{- if and .plainHttp (eq $mode "Passthrough") -}}
{{- fail (printf "%s: gateway.tlsMode Passthrough is impossible, the backend speaks plain http (TLS must end at the Gateway)" $chart) -}}
{{- end -}}
{{- $kind := ternary "TLSRoute" "HTTPRoute" (eq $mode "Passthrough") -}}
{{- $port := include "panda-lib.gateway.servicePort" (dict "ctx" .ctx "service" .name "port" ($gw.backendPort | default .servicePort)) | fromJson -}}
{{- $parents := include "panda-lib.gateway.parentRefs" (dict "ctx" .ctx "kind" $kind) | fromJsonArray -}}
{{- if eq $kind "TLSRoute" }}
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata:
  name: {{ .name }}
  labels:
    {{- include "panda-lib.labels" .ctx | nindent 4 }}
spec:
  parentRefs:
    {{- toYaml $parents | nindent 4 }}
  hostnames:
    - {{ $host | quote }}
  rules:
    - backendRefs:
        - name: {{ .name }}
          port: {{ $port.port }}
{{- else }}
{{- $rule := dict "path" .path "pathType" .pathType "service" .name "port" $port.port -}}
{{- include "panda-lib.gateway.httpRoute" (dict "ctx" .ctx "name" .name "host" $host "parents" $parents "rules" (list $rule)) }}
{{- if $port.tls }}
{{- include "panda-lib.gateway.backendTlsPolicy" (dict "ctx" .ctx "name" .name "host" $host "portName" $port.name) }}
{{- end }}
{{- end }}
{{- if $g.create }}
{{- $secret := "" -}}
{{- if eq $kind "HTTPRoute" -}}
{{- $secret = $gw.certificateSecret | default .existingTlsSecret -}}
{{- if and (not $secret) .tlsSecretSuffix -}}
{{- $secret = include "panda-lib.secretName" (dict "ctx" .ctx "suffix" .tlsSecretSuffix) -}}
{{- end -}}
{{- $secret = $secret | required (printf "%s: a Gateway of our own terminates TLS for %s and needs a certificate: set gateway.certificateSecret (a kubernetes.io/tls Secret)" $chart $host) -}}
{{- end }}
{{- include "panda-lib.gateway.own" (dict "ctx" .ctx "host" $host "kind" $kind "secret" $secret) }}
{{- end }}
{{- if $gw.envoyClientTrafficPolicy }}
{{- if eq $kind "TLSRoute" -}}
{{- fail (printf "%s: gateway.envoyClientTrafficPolicy needs a terminating route (gateway.tlsMode Terminate): with a TLSRoute the client's TLS session reaches the pod, which sees the certificate itself" $chart) -}}
{{- end }}
{{- include "panda-lib.gateway.envoyClientTrafficPolicy" (dict "ctx" .ctx "parent" (first $parents)) }}
{{- end }}
{{- end -}}

{{/*
panda-lib.gateway.httpRoute: an HTTPRoute document. Argument: dict "ctx" "name" "host" "parents"
(list of parentRef maps) "rules" (list of dict "path" "pathType" (Ingress pathType) "service" "port").
The component's gateway.requestTimeout goes on every rule.
*/}}
{{- define "panda-lib.gateway.httpRoute" -}}
{{- $timeout := (.ctx.Values.gateway | default dict).requestTimeout }}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: {{ .name }}
  labels:
    {{- include "panda-lib.labels" .ctx | nindent 4 }}
spec:
  parentRefs:
    {{- toYaml .parents | nindent 4 }}
  hostnames:
    - {{ .host | quote }}
  rules:
    {{- range .rules }}
    - matches:
        - path:
            type: {{ ternary "Exact" "PathPrefix" (eq .pathType "Exact") }}
            value: {{ .path | quote }}
      {{- with $timeout }}
      timeouts:
        request: {{ . }}
      {{- end }}
      backendRefs:
        - name: {{ .service }}
          port: {{ .port }}
    {{- end }}
{{- end -}}

{{/*
panda-lib.gateway.backendTlsPolicy: re-encryption from the Gateway to an https Service port. The pod's
certificate is checked against global.gateway.backendCaConfigMap (a ConfigMap with ca.crt, e.g. the
CA that issued the host certificates) or, when unset, the system CAs, for the public host name.
Argument: dict "ctx" "name" (Service) "host" "portName".
*/}}
{{- define "panda-lib.gateway.backendTlsPolicy" -}}
{{- $g := (.ctx.Values.global).gateway | default dict }}
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata:
  name: {{ .name }}
  labels:
    {{- include "panda-lib.labels" .ctx | nindent 4 }}
spec:
  targetRefs:
    - group: ""
      kind: Service
      name: {{ .name }}
      sectionName: {{ .portName }}
  validation:
    hostname: {{ .host | quote }}
    {{- with $g.backendCaConfigMap }}
    caCertificateRefs:
      - group: ""
        kind: ConfigMap
        name: {{ . }}
    {{- else }}
    wellKnownCACertificates: System
    {{- end }}
{{- end -}}

{{/*
panda-lib.gateway.parentRefs: the parentRefs of one route as a JSON list, checked.
Order: the component's gateway.parentRefs; else our own Gateway (global.gateway.create); else
global.gateway.name/namespace with the listener for the route kind. Argument: dict "ctx" "kind".
*/}}
{{- define "panda-lib.gateway.parentRefs" -}}
{{- $chart := .ctx.Chart.Name -}}
{{- $gw := .ctx.Values.gateway | default dict -}}
{{- $g := (.ctx.Values.global).gateway | default dict -}}
{{- $section := ternary ($g.passthroughListener | default "") ($g.httpsListener | default "") (eq .kind "TLSRoute") -}}
{{- $refs := list -}}
{{- if $gw.parentRefs -}}
{{- $refs = $gw.parentRefs -}}
{{- else if $g.create -}}
{{- if $g.name -}}
{{- fail (printf "%s: global.gateway.create and global.gateway.name exclude each other: routes attach either to a Gateway of our own or to the one you name" $chart) -}}
{{- end -}}
{{- $refs = list (dict "name" (printf "%s-gateway" (include "panda-lib.fullname" .ctx)) "sectionName" (ternary "tls-passthrough" "https" (eq .kind "TLSRoute"))) -}}
{{- else -}}
{{- $ref := dict "name" ($g.name | default "") -}}
{{- with $g.namespace }}{{ $_ := set $ref "namespace" . }}{{ end -}}
{{- with $section }}{{ $_ := set $ref "sectionName" . }}{{ end -}}
{{- if not $ref.name -}}
{{- fail (printf "%s: exposure is gateway but no Gateway is named: set global.gateway.name (and .namespace), or global.gateway.create, or %s.gateway.parentRefs" $chart $chart) -}}
{{- end -}}
{{- $refs = list $ref -}}
{{- end -}}
{{- $out := list -}}
{{- range $i, $ref := $refs -}}
{{- if not (kindIs "map" $ref) -}}
{{- fail (printf "%s: gateway parentRef %d is not a map with name/namespace/sectionName" $chart $i) -}}
{{- end -}}
{{- $where := printf "%s: gateway parentRef %d (%s)" $chart $i (toJson $ref) -}}
{{- if not $ref.name -}}
{{- fail (printf "%s has no name: name the Gateway the %s attaches to" $where $.kind) -}}
{{- end -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$" $ref.name) -}}
{{- fail (printf "%s: name %q is not a valid Gateway name (lower-case DNS subdomain)" $where $ref.name) -}}
{{- end -}}
{{- if and $ref.namespace (not (regexMatch "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$" $ref.namespace)) -}}
{{- fail (printf "%s: namespace %q is not a valid namespace name (DNS label)" $where $ref.namespace) -}}
{{- end -}}
{{- if and $ref.sectionName (not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$" $ref.sectionName)) -}}
{{- fail (printf "%s: sectionName %q is not a valid listener name" $where $ref.sectionName) -}}
{{- end -}}
{{- $unknown := without (keys $ref) "name" "namespace" "sectionName" "port" -}}
{{- if $unknown -}}
{{- fail (printf "%s: unknown keys %v (allowed: name, namespace, sectionName, port)" $where (sortAlpha $unknown)) -}}
{{- end -}}
{{- $clean := dict "name" $ref.name -}}
{{- with $ref.namespace }}{{ $_ := set $clean "namespace" . }}{{ end -}}
{{- with $ref.sectionName }}{{ $_ := set $clean "sectionName" . }}{{ end -}}
{{- with $ref.port }}{{ $_ := set $clean "port" (. | int) }}{{ end -}}
{{- $out = append $out $clean -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
panda-lib.gateway.servicePort: the Service port a route sends to, looked up in what the chart's own
templates/service.yaml renders (so a port the Service does not expose fails the render), as JSON
{"name", "port", "tls"}; tls is true for a port named https (the pod speaks TLS there).
Argument: dict "ctx" "service" (Service name) "port" (name or number).
*/}}
{{- define "panda-lib.gateway.servicePort" -}}
{{- $chart := .ctx.Chart.Name -}}
{{- $want := toString .port -}}
{{- $rendered := include (print .ctx.Template.BasePath "/service.yaml") .ctx -}}
{{- $ports := list -}}
{{- range regexSplit "(?m)^---\\s*$" $rendered -1 -}}
{{- $doc := fromYaml . -}}
{{- if and (eq ($doc.kind | default "") "Service") (eq (($doc.metadata | default dict).name | default "") $.service) -}}
{{- $ports = $doc.spec.ports | default list -}}
{{- end -}}
{{- end -}}
{{- $found := dict -}}
{{- $have := list -}}
{{- range $ports -}}
{{- $have = append $have (printf "%s %v" (.name | default "-") .port) -}}
{{- if or (eq (toString .name) $want) (eq (toString (.port | int)) $want) -}}
{{- $found = dict "name" (.name | default "") "port" (.port | int) "tls" (eq (.name | default "") "https") -}}
{{- end -}}
{{- end -}}
{{- if not $found -}}
{{- fail (printf "%s: the Gateway route's backend port %q is not a port of Service %s (it exposes: %s); fix gateway.backendPort" $chart $want .service (join ", " $have | default "no ports")) -}}
{{- end -}}
{{- toJson $found -}}
{{- end -}}

{{/*
panda-lib.gateway.own: a Gateway <fullname>-gateway with the one listener this release's route needs:
tls-passthrough (protocol TLS, mode Passthrough) for a TLSRoute, https (protocol HTTPS, mode
Terminate, certificate from the secrets release) for an HTTPRoute. With global.gateway.clientCaConfigMap
an HTTPS listener asks clients for a certificate (Standard frontend validation, AllowInsecureFallback:
a missing or unknown certificate does not fail the handshake, like nginx's optional_no_ca).
Argument: dict "ctx" "host" "kind" "secret".
*/}}
{{- define "panda-lib.gateway.own" -}}
{{- $g := (.ctx.Values.global).gateway | default dict }}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: {{ include "panda-lib.fullname" .ctx }}-gateway
  labels:
    {{- include "panda-lib.labels" .ctx | nindent 4 }}
spec:
  gatewayClassName: {{ $g.className | required (printf "%s: global.gateway.className is required with global.gateway.create" .ctx.Chart.Name) }}
  listeners:
    {{- if eq .kind "TLSRoute" }}
    - name: tls-passthrough
      protocol: TLS
      port: 443
      hostname: {{ .host | quote }}
      tls:
        mode: Passthrough
      allowedRoutes:
        namespaces:
          from: Same
        kinds:
          - kind: TLSRoute
    {{- else }}
    - name: https
      protocol: HTTPS
      port: 443
      hostname: {{ .host | quote }}
      tls:
        mode: Terminate
        certificateRefs:
          - kind: Secret
            name: {{ .secret }}
      allowedRoutes:
        namespaces:
          from: Same
        kinds:
          - kind: HTTPRoute
    {{- end }}
  {{- if and $g.clientCaConfigMap (eq .kind "HTTPRoute") }}
  tls:
    frontend:
      default:
        validation:
          mode: AllowInsecureFallback
          caCertificateRefs:
            - group: ""
              kind: ConfigMap
              name: {{ $g.clientCaConfigMap }}
  {{- end }}
{{- end -}}

{{/*
panda-lib.gateway.envoyClientTrafficPolicy: Envoy Gateway only. Asks clients on the route's listener for
a certificate and forwards it to the backend in x-forwarded-client-cert (XFCC). A ClientTrafficPolicy
must live in its Gateway's namespace and applies to the whole listener (every route on it); Envoy
Gateway honours one policy per listener, so enable it on one component per listener.
Argument: dict "ctx" "parent" (the route's first parentRef).
*/}}
{{- define "panda-lib.gateway.envoyClientTrafficPolicy" -}}
{{- $chart := .ctx.Chart.Name -}}
{{- $p := (((.ctx.Values.global).gateway | default dict).envoyClientTrafficPolicy) | default dict -}}
{{- $ns := .parent.namespace | default .ctx.Release.Namespace -}}
{{- if ne $ns .ctx.Release.Namespace -}}
{{- fail (printf "%s: gateway.envoyClientTrafficPolicy: the Gateway %s is in namespace %s, the release in %s; a ClientTrafficPolicy must be in its Gateway's namespace, so create it there (docs/exposure.md)" $chart .parent.name $ns .ctx.Release.Namespace) -}}
{{- end -}}
{{- $mode := $p.validationMode | default "Request" -}}
{{- if and (has $mode (list "VerifyIfGiven" "RequireAndVerify")) (not $p.caConfigMap) -}}
{{- fail (printf "%s: global.gateway.envoyClientTrafficPolicy.validationMode %s needs caConfigMap (a ConfigMap with ca.crt)" $chart $mode) -}}
{{- end }}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: ClientTrafficPolicy
metadata:
  name: {{ include "panda-lib.fullname" .ctx }}-client-cert
  labels:
    {{- include "panda-lib.labels" .ctx | nindent 4 }}
spec:
  targetRefs:
    - group: gateway.networking.k8s.io
      kind: Gateway
      name: {{ .parent.name }}
      {{- with .parent.sectionName }}
      sectionName: {{ . }}
      {{- end }}
  tls:
    clientValidation:
      mode: {{ $mode }}
      {{- with $p.caConfigMap }}
      caCertificateRefs:
        - group: ""
          kind: ConfigMap
          name: {{ . }}
      {{- end }}
  headers:
    xForwardedClientCert:
      mode: {{ $p.xfccMode | default "SanitizeSet" }}
      certDetailsToAdd:
        {{- toYaml ($p.certDetailsToAdd | default (list "Subject" "Cert" "Chain")) | nindent 8 }}
{{- end -}}
