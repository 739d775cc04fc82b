{{/*
Exposure outside the cluster: an Ingress or an OpenShift Route.

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
*/}}

{{/*
panda-lib.ingress: an Ingress document (starting with "---"), or nothing when disabled.
Argument: dict
  "ctx"             <root context>
  "ingress"         <ingress values>
  "servicePort"     <port name or number of the Service <fullname>>
  "tlsSecretSuffix" <suffix of the bundled tls Secret, e.g. "panda-tls-certs">
  "name"            <optional object/Service name, default the fullname>
*/}}
{{- define "panda-lib.ingress" -}}
{{- $ing := .ingress | default dict -}}
{{- if $ing.enabled }}
{{- $name := .name | default (include "panda-lib.fullname" .ctx) -}}
{{- $host := $ing.host | required (printf "ingress.host is required when the %s Ingress is enabled" .ctx.Chart.Name) -}}
{{- $annotations := dict -}}
{{- if $ing.sslPassthrough }}
{{- $_ := set $annotations "nginx.ingress.kubernetes.io/ssl-passthrough" "true" -}}
{{- end }}
{{- range $k, $v := ($ing.annotations | default dict) }}
{{- $_ := set $annotations $k (toString $v) -}}
{{- end }}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ $name }}
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
        - {{ $host | quote }}
      secretName: {{ $ing.existingTlsSecret | default (include "panda-lib.secretName" (dict "ctx" .ctx "suffix" .tlsSecretSuffix)) }}
  {{- end }}
  rules:
    - host: {{ $host | quote }}
      http:
        paths:
          - path: {{ $ing.path | default "/" }}
            pathType: {{ $ing.pathType | default "Prefix" }}
            backend:
              service:
                name: {{ $name }}
                port:
                  {{- if kindIs "string" .servicePort }}
                  name: {{ .servicePort }}
                  {{- else }}
                  number: {{ .servicePort | int }}
                  {{- end }}
{{- end }}
{{- end -}}

{{/*
OpenShift Route values:
  route:
    enabled: false
    host: ""           # required when enabled
    annotations: {}
panda-lib.route: a route.openshift.io/v1 Route. Default TLS passthrough (the pod terminates TLS and sees
client certificates; plain http is not forwarded, insecureEdgeTerminationPolicy None). With
"termination" "edge" (for a backend speaking plain http) the router terminates TLS and redirects http.
Argument: dict "ctx" <root context> "route" <route values> "targetPort" <Service port name>
"termination" <optional: passthrough (default) | edge> "name" <optional Service name, default the fullname>.
*/}}
{{- define "panda-lib.route" -}}
{{- $route := .route | default dict -}}
{{- if $route.enabled }}
{{- $name := .name | default (include "panda-lib.fullname" .ctx) }}
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
  host: {{ $route.host | required (printf "route.host is required when the %s Route is enabled" .ctx.Chart.Name) | quote }}
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
{{- end -}}
