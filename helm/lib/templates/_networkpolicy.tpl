{{/*
NetworkPolicies from the wiring graph: who talks to whom inside one PanDA instance (the hosts and
ports the secrets chart writes into each component's Secrets, docs/contract.md), who is published
through an ingress controller / router / Gateway, and what each pod needs outside the instance.

Per release (one component chart), with global.networkPolicy.enabled:
  <release>-default-deny   every pod of the release: no ingress, no egress
  <release>-<workload>     per workload of the release: exactly the allow rules the graph gives it
                           (ingress from its consumers and, when exposed, from the controller of the
                           exposure mode; egress to DNS, to what it consumes, to its external database
                           and to the site services of global.networkPolicy.egress)
  <release>-condor-logs    (bigmon) the controller to Harvester's httpd, for BigMon's /condor_logs
Peers inside the instance are selected by app.kubernetes.io/instance (the affixed release name) and
app.kubernetes.io/component, without a namespaceSelector: only pods of the same namespace and of the
same instance match, so two instances (two affixes) in one namespace cannot reach each other.

Experiment-wide values (global.networkPolicy, values/<experiment>/experiment.yaml); a key left out
takes the default of panda-lib.networkPolicy.defaults (a key of dns or apiServer left out too:
dns.to alone keeps the 53 UDP/TCP ports):
  enabled: true
  dns: {to: [peers], ports: [ports]}                       kube-dns in kube-system, 53 UDP/TCP
  controllers: {ingress: [peers], route: [peers], gateway: [peers]}
  apiServer: {to: [peers], ports: [ports]}                 for pods with a service-account token
  databases: {panda|idds|harvester|iam|ui: {to: [peers], ports: [ports]}}   external databases
  egress: {<name>: {pods: [selectors], to: [peers], ports: [ports]}}         site services
  ingress: {<name>: {pods: [selectors], from: [peers], ports: [ports]}}      e.g. monitoring
A peer is a NetworkPolicyPeer (ipBlock {cidr, except}, namespaceSelector, podSelector); a port is
{port, endPort, protocol}; ports [] = every port. A pod selector of egress/ingress is "*", a
component ("harvester") or a workload ("panda/server", "iam/mariadb-backup").
*/}}

{{/*
panda-lib.networkPolicy.graph: the wiring, as YAML.
  workloads: <component>/<workload>: the pods of one workload, labelled component=<workload>
    when:    dotted value paths of the component chart that must all be true for it to exist
    ports:   its Service ports, <name>: [service port, pod port] (docs/contract.md)
    exposed: the Service port its Ingress/Route/Gateway route targets (exposure.yaml)
    values:  the key of its values in the component chart (exposure mode, ingress, route, gateway)
    apiServer: true for pods that talk to the Kubernetes API, or the value paths (as in "when")
             that must all be true for them to (the Harvester health monitor's Events)
  edges: from -> to on named ports of "to": what the Secrets of "from" point at (secrets/templates/_helpers.tpl)
  databases: the consumers of each database, for an external one (global.networkPolicy.databases)
*/}}
{{- define "panda-lib.networkPolicy.graph" -}}
workloads:
  msgsvc/activemq: {when: [activemq.enabled], ports: {stomp: [61613, 61613]}}
  iam/main: {when: [main.enabled], ports: {http: [8443, 8443]}, exposed: http, values: main}
  iam/mariadb: {when: [mariadb.enabled], ports: {mariadb: [3306, 3306]}}
  iam/mariadb-backup: {when: [mariadb.enabled, mariadb.backup.enabled]}
  iam/migrate-data: {when: [mariadb.enabled]}
  panda/server: {when: [server.enabled], ports: {http: [80, 25080], https: [443, 25443]}, exposed: https, values: server}
  panda/jedi: {when: [jedi.enabled], ports: {http: [80, 25080], https: [443, 25443]}}
  panda/postgres: {when: [postgres.enabled], ports: {postgres: [5432, 5432]}}
  panda/postgres-backup: {when: [postgres.enabled, postgres.backup.enabled]}
  panda/schema-upgrade: {when: [postgres.enabled]}
  panda/node-recovery: {when: [nodeRecovery.enabled], apiServer: true}
  harvester/harvester: {when: [harvester.enabled], ports: {http: [80, 8080], https: [443, 8443]}, exposed: http, values: harvester, apiServer: [harvester.healthMonitor.enabled]}
  harvester/mariadb: {when: [mariadb.enabled], ports: {mariadb: [3306, 3306]}}
  harvester/mariadb-backup: {when: [mariadb.enabled, mariadb.backup.enabled]}
  harvester/migrate-data: {when: [mariadb.enabled]}
  idds/rest: {when: [rest.enabled], ports: {https: [8443, 8443], http: [8080, 8080]}, exposed: https, values: rest}
  idds/daemon: {when: [daemon.enabled], ports: {nats: [4222, 4222]}}
  idds/postgres: {when: [postgres.enabled], ports: {postgres: [5432, 5432]}}
  idds/postgres-backup: {when: [postgres.enabled, postgres.backup.enabled]}
  idds/migrate-data: {when: [postgres.enabled]}
  bigmon/main: {when: [main.enabled], ports: {https: [443, 8443]}, exposed: https, values: main}
  ui/backend: {when: [backend.enabled], ports: {https: [443, 443]}, exposed: https, values: backend}
  ui/frontend: {when: [frontend.enabled], ports: {https: [443, 443]}, exposed: https, values: frontend}
edges:
  # PanDA server and JEDI (panda-envs): PANDA_DB_HOST, PANDA_ACTIVEMQ_LIST, PANDA_IDDS_HOST/PORT, PANDA_URL(_SSL)
  - {from: panda/server, to: panda/postgres, ports: [postgres]}
  - {from: panda/server, to: msgsvc/activemq, ports: [stomp]}
  - {from: panda/server, to: idds/rest, ports: [https]}
  - {from: panda/server, to: panda/server, ports: [http, https]}
  - {from: panda/jedi, to: panda/postgres, ports: [postgres]}
  - {from: panda/jedi, to: msgsvc/activemq, ports: [stomp]}
  - {from: panda/jedi, to: idds/rest, ports: [https]}
  - {from: panda/jedi, to: panda/server, ports: [http, https]}
  # Harvester (harvester-envs): HARVESTER_DB_HOST, PANDA_URL(_SSL), PANDA_API_URL(_SSL), BIGMON_BASE_URL
  - {from: harvester/harvester, to: harvester/mariadb, ports: [mariadb]}
  - {from: harvester/harvester, to: panda/server, ports: [http, https]}
  - {from: harvester/harvester, to: bigmon/main, ports: [https]}
  # iDDS rest and agents (idds-envs): IDDS_DATABASE_*, PANDA_URL(_SSL), PANDACACHE_URL, IDDS_*_BROKERS,
  # IDDS_SERVER, PANDA_MONITOR_URL; the agents' NATS servers find each other (headless Service)
  - {from: idds/rest, to: idds/postgres, ports: [postgres]}
  - {from: idds/rest, to: panda/server, ports: [http, https]}
  - {from: idds/rest, to: msgsvc/activemq, ports: [stomp]}
  - {from: idds/rest, to: idds/rest, ports: [https]}
  - {from: idds/rest, to: bigmon/main, ports: [https]}
  - {from: idds/daemon, to: idds/postgres, ports: [postgres]}
  - {from: idds/daemon, to: panda/server, ports: [http, https]}
  - {from: idds/daemon, to: msgsvc/activemq, ports: [stomp]}
  - {from: idds/daemon, to: idds/rest, ports: [https]}
  - {from: idds/daemon, to: bigmon/main, ports: [https]}
  - {from: idds/daemon, to: idds/daemon, ports: [nats]}
  # BigMon (bigmon-envs): PANDA_DB_HOST, IDDS_DB_HOST, IDDS_HOST/PORT
  - {from: bigmon/main, to: panda/postgres, ports: [postgres]}
  - {from: bigmon/main, to: idds/postgres, ports: [postgres]}
  - {from: bigmon/main, to: idds/rest, ports: [https]}
  # IAM (iam-envs): IAM_DB_HOST
  - {from: iam/main, to: iam/mariadb, ports: [mariadb]}
  # UI backend (ui-envs): PANDA_SERVER_API_URL; IAM when AUTH_IAM_ENDPOINT is the in-cluster Service
  - {from: ui/backend, to: panda/server, ports: [https]}
  - {from: ui/backend, to: iam/main, ports: [http]}
  # Backups: the CronJob's DB_HOST is the database's Service
  - {from: iam/mariadb-backup, to: iam/mariadb, ports: [mariadb]}
  - {from: harvester/mariadb-backup, to: harvester/mariadb, ports: [mariadb]}
  - {from: panda/postgres-backup, to: panda/postgres, ports: [postgres]}
  - {from: idds/postgres-backup, to: idds/postgres, ports: [postgres]}
  # panda-install's schema Jobs of an upgrade (backup, patch, restore; src/plan/upgrade): DB_HOST is PanDA's database
  - {from: panda/schema-upgrade, to: panda/postgres, ports: [postgres]}
  # panda-install migrate-data restore: its Job's DB_HOST is the new database's Service
  - {from: harvester/migrate-data, to: harvester/mariadb, ports: [mariadb]}
  - {from: iam/migrate-data, to: iam/mariadb, ports: [mariadb]}
  - {from: idds/migrate-data, to: idds/postgres, ports: [postgres]}
databases:
  panda: [panda/server, panda/jedi, bigmon/main]
  idds: [idds/rest, idds/daemon, bigmon/main]
  harvester: [harvester/harvester]
  iam: [iam/main]
  ui: [ui/backend]
{{- end -}}

{{/*
panda-lib.networkPolicy.defaults: what a key of global.networkPolicy left out means, as YAML.
*/}}
{{- define "panda-lib.networkPolicy.defaults" -}}
enabled: true
dns:
  to:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
      podSelector: {matchLabels: {k8s-app: kube-dns}}
  ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
controllers:
  ingress:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}
      podSelector: {matchLabels: {app.kubernetes.io/name: ingress-nginx}}
  route:
    - namespaceSelector: {matchLabels: {policy-group.network.openshift.io/ingress: ""}}
    - namespaceSelector: {matchLabels: {network.openshift.io/policy-group: ingress}}
  gateway:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: envoy-gateway-system}}
      podSelector: {matchLabels: {app.kubernetes.io/managed-by: envoy-gateway, app.kubernetes.io/component: proxy}}
apiServer:
  to: [{ipBlock: {cidr: 0.0.0.0/0}}, {ipBlock: {cidr: "::/0"}}]
  ports: [{port: 6443, protocol: TCP}]
databases:
  panda: {to: [], ports: []}
  idds: {to: [], ports: []}
  harvester: {to: [], ports: []}
  iam: {to: [], ports: []}
  ui: {to: [], ports: []}
egress: {}
ingress: {}
{{- end -}}

{{/*
panda-lib.networkPolicy.settings: global.networkPolicy over the defaults, as JSON. Top-level keys
replace the default; dns, apiServer, controllers, databases, egress and ingress are merged one level
deeper (set dns.to alone and the default ports stay; set databases.panda alone and the others keep
their defaults). Argument: the root context.
*/}}
{{- define "panda-lib.networkPolicy.settings" -}}
{{- $out := include "panda-lib.networkPolicy.defaults" . | fromYaml -}}
{{- $user := ((.Values.global | default dict).networkPolicy | default dict) -}}
{{- range $key, $value := $user -}}
{{- if and (has $key (list "dns" "apiServer" "controllers" "databases" "egress" "ingress")) (kindIs "map" $value) -}}
{{- $merged := deepCopy (get $out $key | default dict) -}}
{{- range $k, $v := $value }}{{ $_ := set $merged $k $v }}{{ end -}}
{{- $_ := set $out $key $merged -}}
{{- else -}}
{{- $_ := set $out $key $value -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
panda-lib.networkPolicy.peer: the podSelector peer of one workload of this instance, as JSON.
Argument: dict "ctx" <root context> "key" "<component>/<workload>".
*/}}
{{- define "panda-lib.networkPolicy.peer" -}}
{{- $parts := splitList "/" .key -}}
{{- $labels := dict "app.kubernetes.io/instance" (include "panda-lib.affixed" (dict "ctx" .ctx "name" (first $parts))) "app.kubernetes.io/component" (last $parts) -}}
{{- toJson (dict "podSelector" (dict "matchLabels" $labels)) -}}
{{- end -}}

{{/*
panda-lib.networkPolicy.ports: pod ports of a workload for Service port names or numbers, as a JSON
list of {port, protocol: TCP}; an unknown port fails the render.
Argument: dict "graph" <graph> "key" <workload> "ports" <list of names or numbers>.
*/}}
{{- define "panda-lib.networkPolicy.ports" -}}
{{- $table := (get .graph.workloads .key).ports | default dict -}}
{{- $out := list -}}
{{- range $p := .ports -}}
{{- $found := 0 -}}
{{- range $name, $pair := $table -}}
{{- if or (eq (toString $p) $name) (eq (toString $p) (toString (index $pair 0 | int))) -}}
{{- $found = index $pair 1 | int -}}
{{- end -}}
{{- end -}}
{{- if not $found -}}
{{- fail (printf "networkPolicy: %s has no Service port %v (its ports: %s)" $.key $p (keys $table | sortAlpha | join ", ")) -}}
{{- end -}}
{{- $entry := dict "port" $found "protocol" "TCP" -}}
{{- if not (has $entry $out) }}{{ $out = append $out $entry }}{{ end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
panda-lib.networkPolicy.selects: "true" when a list of pod selectors ("*", "<component>",
"<component>/<workload>") names a workload; an unknown selector fails the render.
Argument: dict "graph" <graph> "selectors" <list> "key" <workload> "what" <value path for messages>.
*/}}
{{- define "panda-lib.networkPolicy.selects" -}}
{{- $components := list -}}
{{- range $k, $_ := .graph.workloads }}{{ $components = append $components (first (splitList "/" $k)) }}{{ end -}}
{{- $hit := false -}}
{{- range $s := .selectors -}}
{{- if not (or (eq $s "*") (has $s $components) (hasKey $.graph.workloads $s)) -}}
{{- fail (printf "%s: %q is not \"*\", a component (%s) or a workload (%s)" $.what $s (uniq $components | sortAlpha | join ", ") (keys $.graph.workloads | sortAlpha | join ", ")) -}}
{{- end -}}
{{- if or (eq $s "*") (eq $s $.key) (eq $s (first (splitList "/" $.key))) }}{{ $hit = true }}{{ end -}}
{{- end -}}
{{- if $hit }}true{{ end -}}
{{- end -}}

{{/*
panda-lib.networkPolicy.when: "true" when every dotted value path of .paths (a "when" list of the
graph) is true in the component chart's values, else "". Argument: dict "ctx" <root> "paths" <list>.
*/}}
{{- define "panda-lib.networkPolicy.when" -}}
{{- $on := true -}}
{{- range $path := .paths -}}
{{- $cur := $.ctx.Values -}}
{{- range $seg := splitList "." $path }}{{ if kindIs "map" $cur }}{{ $cur = index $cur $seg }}{{ else }}{{ $cur = false }}{{ end }}{{ end -}}
{{- if not $cur }}{{ $on = false }}{{ end -}}
{{- end -}}
{{- if $on }}true{{ end -}}
{{- end -}}

{{/*
panda-lib.networkPolicy.rule: one ingress or egress rule, as JSON (or "" for nothing to allow:
an empty peer list would mean "everyone" and is never rendered).
Argument: dict "direction" "from"|"to" "peers" <list> "ports" <list>.
*/}}
{{- define "panda-lib.networkPolicy.rule" -}}
{{- if .peers -}}
{{- $rule := dict .direction .peers -}}
{{- with .ports }}{{ $_ := set $rule "ports" . }}{{ end -}}
{{- toJson $rule -}}
{{- end -}}
{{- end -}}

{{/*
panda-lib.networkPolicies: every NetworkPolicy of one component chart (templates/networkpolicy.yaml:
{{ include "panda-lib.networkPolicies" . }}). Nothing when global.networkPolicy.enabled is false.
Argument: the root context of the component (parent) chart.
*/}}
{{- define "panda-lib.networkPolicies" -}}
{{- $ctx := . -}}
{{- $np := include "panda-lib.networkPolicy.settings" . | fromJson -}}
{{- if $np.enabled -}}
{{- $graph := include "panda-lib.networkPolicy.graph" . | fromYaml -}}
{{- $component := include "panda-lib.name" . -}}
{{- $g := .Values.global | default dict -}}
{{- range $kind, $rules := dict "egress" $np.egress "ingress" $np.ingress -}}
{{- range $name, $rule := $rules -}}
{{- if not $rule.pods }}{{ fail (printf "global.networkPolicy.%s.%s.pods: name the pods (\"*\", a component or <component>/<workload>)" $kind $name) }}{{ end -}}
{{- if not (get $rule (ternary "to" "from" (eq $kind "egress"))) }}{{ fail (printf "global.networkPolicy.%s.%s.%s: give at least one peer (an empty list would mean everyone)" $kind $name (ternary "to" "from" (eq $kind "egress"))) }}{{ end -}}
{{- end -}}
{{- end }}
---
# Default deny: no traffic to or from any pod of this release except what the policies below allow.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "panda-lib.fullnameFor" (dict "ctx" $ctx "component" "default-deny") }}
  labels:
    {{- include "panda-lib.labelsFor" (dict "ctx" $ctx "component" "default-deny") | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/instance: {{ $ctx.Release.Name }}
  policyTypes: [Ingress, Egress]
{{- range $key := keys $graph.workloads | sortAlpha }}
{{- $w := get $graph.workloads $key }}
{{- $parts := splitList "/" $key }}
{{- if eq (first $parts) $component }}
{{- $on := include "panda-lib.networkPolicy.when" (dict "ctx" $ctx "paths" $w.when) }}
{{- if $on }}
{{- $ingress := list }}
{{- $egress := list }}
{{- /* Consumers inside the instance, and what this workload consumes. */}}
{{- range $e := $graph.edges }}
{{- if eq $e.to $key }}
{{- $ports := include "panda-lib.networkPolicy.ports" (dict "graph" $graph "key" $e.to "ports" $e.ports) | fromJsonArray }}
{{- $ingress = append $ingress (dict "from" (list (include "panda-lib.networkPolicy.peer" (dict "ctx" $ctx "key" $e.from) | fromJson)) "ports" $ports) }}
{{- end }}
{{- if eq $e.from $key }}
{{- $ports := include "panda-lib.networkPolicy.ports" (dict "graph" $graph "key" $e.to "ports" $e.ports) | fromJsonArray }}
{{- $egress = append $egress (dict "to" (list (include "panda-lib.networkPolicy.peer" (dict "ctx" $ctx "key" $e.to) | fromJson)) "ports" $ports) }}
{{- end }}
{{- end }}
{{- /* Published: the controller of each exposure kind, on the port the route targets. */}}
{{- if $w.exposed }}
{{- $sv := index $ctx.Values $w.values | default dict }}
{{- $planCtx := dict "Values" (dict "exposure" ($sv.exposure | default "") "global" $g) "Chart" (dict "Name" $w.values) }}
{{- $plan := include "panda-lib.exposure.plan" (dict "ctx" $planCtx "ingress" (ternary $sv.ingress nil (kindIs "map" $sv.ingress)) "route" (ternary $sv.route nil (kindIs "map" $sv.route))) | fromJson }}
{{- range $kind := $plan.kinds }}
{{- $port := $w.exposed }}
{{- if and (eq $kind "gateway") ($sv.gateway | default dict).backendPort }}{{ $port = $sv.gateway.backendPort }}{{ end }}
{{- $peers := get $np.controllers $kind | default list }}
{{- if not $peers }}
{{- fail (printf "%s is published (%s) but global.networkPolicy.controllers.%s is empty: name the controller's pods (namespaceSelector/podSelector, or ipBlock for a host-network controller)" $key $kind $kind) }}
{{- end }}
{{- $ports := include "panda-lib.networkPolicy.ports" (dict "graph" $graph "key" $key "ports" (list $port)) | fromJsonArray }}
{{- $ingress = append $ingress (dict "from" $peers "ports" $ports) }}
{{- end }}
{{- end }}
{{- /* Outside the instance: DNS, the API server, an external database, site services. */}}
{{- with include "panda-lib.networkPolicy.rule" (dict "direction" "to" "peers" $np.dns.to "ports" $np.dns.ports) }}
{{- $egress = append $egress (fromJson .) }}
{{- end }}
{{- if or (eq (toString $w.apiServer) "true") (and (kindIs "slice" $w.apiServer) (include "panda-lib.networkPolicy.when" (dict "ctx" $ctx "paths" $w.apiServer))) }}
{{- with include "panda-lib.networkPolicy.rule" (dict "direction" "to" "peers" $np.apiServer.to "ports" $np.apiServer.ports) }}
{{- $egress = append $egress (fromJson .) }}
{{- end }}
{{- end }}
{{- range $db := keys $graph.databases | sortAlpha }}
{{- if has $key (get $graph.databases $db) }}
{{- $d := get $np.databases $db | default dict }}
{{- with include "panda-lib.networkPolicy.rule" (dict "direction" "to" "peers" $d.to "ports" $d.ports) }}
{{- $egress = append $egress (fromJson .) }}
{{- end }}
{{- end }}
{{- end }}
{{- range $name := keys $np.egress | sortAlpha }}
{{- $r := get $np.egress $name }}
{{- if include "panda-lib.networkPolicy.selects" (dict "graph" $graph "selectors" $r.pods "key" $key "what" (printf "global.networkPolicy.egress.%s.pods" $name)) }}
{{- $egress = append $egress (include "panda-lib.networkPolicy.rule" (dict "direction" "to" "peers" $r.to "ports" $r.ports) | fromJson) }}
{{- end }}
{{- end }}
{{- range $name := keys $np.ingress | sortAlpha }}
{{- $r := get $np.ingress $name }}
{{- if include "panda-lib.networkPolicy.selects" (dict "graph" $graph "selectors" $r.pods "key" $key "what" (printf "global.networkPolicy.ingress.%s.pods" $name)) }}
{{- $ingress = append $ingress (include "panda-lib.networkPolicy.rule" (dict "direction" "from" "peers" $r.from "ports" $r.ports) | fromJson) }}
{{- end }}
{{- end }}
---
# {{ $key }}: what the wiring graph allows (helm/lib/templates/_networkpolicy.tpl).
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "panda-lib.fullnameFor" (dict "ctx" $ctx "component" (last $parts)) }}
  labels:
    {{- include "panda-lib.labelsFor" (dict "ctx" $ctx "component" (last $parts)) | nindent 4 }}
spec:
  podSelector:
    {{- toYaml (include "panda-lib.networkPolicy.peer" (dict "ctx" $ctx "key" $key) | fromJson).podSelector | nindent 4 }}
  policyTypes: [Ingress, Egress]
  {{- with $ingress }}
  ingress:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $egress }}
  egress:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- if eq $component "bigmon" }}
{{- include "panda-lib.networkPolicy.condorLogs" (dict "ctx" $ctx "graph" $graph "np" $np) }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
panda-lib.networkPolicy.condorLogs: BigMon publishes Harvester's httpd under its own host
(main.condorLogs, an Ingress or HTTPRoute of the bigmon release): the controller must reach the
Harvester pods on that port, so the bigmon release carries that one allow rule.
Argument: dict "ctx" <bigmon root context> "graph" "np".
*/}}
{{- define "panda-lib.networkPolicy.condorLogs" -}}
{{- $v := .ctx.Values.main | default dict -}}
{{- $logs := $v.condorLogs | default dict -}}
{{- if and $v.enabled $logs.enabled -}}
{{- $planCtx := dict "Values" (dict "exposure" ($v.exposure | default "") "global" (.ctx.Values.global | default dict)) "Chart" (dict "Name" "main") -}}
{{- $plan := include "panda-lib.exposure.plan" (dict "ctx" $planCtx "ingress" $v.ingress "route" $v.route) | fromJson -}}
{{- $kind := "" -}}
{{- if has "ingress" $plan.kinds }}{{ $kind = "ingress" }}{{ else if has "gateway" $plan.kinds }}{{ $kind = "gateway" }}{{ end -}}
{{- if $kind -}}
{{- $peers := get .np.controllers $kind | default list -}}
{{- if not $peers -}}
{{- fail (printf "bigmon main.condorLogs is published (%s) but global.networkPolicy.controllers.%s is empty" $kind $kind) -}}
{{- end -}}
{{- $ports := include "panda-lib.networkPolicy.ports" (dict "graph" .graph "key" "harvester/harvester" "ports" (list ($logs.servicePort | int))) | fromJsonArray }}
---
# The controller to Harvester's httpd for BigMon's {{ $logs.path }} (main.condorLogs).
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "panda-lib.fullnameFor" (dict "ctx" .ctx "component" "condor-logs") }}
  labels:
    {{- include "panda-lib.labelsFor" (dict "ctx" .ctx "component" "condor-logs") | nindent 4 }}
spec:
  podSelector:
    {{- toYaml (include "panda-lib.networkPolicy.peer" (dict "ctx" .ctx "key" "harvester/harvester") | fromJson).podSelector | nindent 4 }}
  policyTypes: [Ingress]
  ingress:
    - from:
        {{- toYaml $peers | nindent 8 }}
      ports:
        {{- toYaml $ports | nindent 8 }}
{{- end -}}
{{- end -}}
{{- end -}}
