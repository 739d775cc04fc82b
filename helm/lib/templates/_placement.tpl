{{/*
Where pods run: tolerations, affinity, the component spread rule and topology spread constraints.
Each helper takes dict "ctx" <root context> "values" <the pod's values> and reads the same key from
.Values.global (experiment-wide, values/<experiment>/experiment.yaml) as a default for every workload
of every chart; the workload's own value wins as described per helper. Each renders its key, or
nothing.
*/}}

{{/*
panda-lib.tolerations: "tolerations:" = values.tolerations, then global.tolerations, then, when
global.nodeFailureTolerations.enabled, NoExecute tolerations for not-ready/unreachable nodes after
global.nodeFailureTolerations.tolerationSeconds (default 30; Kubernetes' default is 300) so the pod
is rescheduled quickly when its node dies. A toleration of the workload for the same key and effect
replaces the global one.
*/}}
{{- define "panda-lib.tolerations" -}}
{{- $g := .ctx.Values.global | default dict -}}
{{- $tolerations := list -}}
{{- $seen := dict -}}
{{- $global := $g.tolerations | default list -}}
{{- $nft := $g.nodeFailureTolerations | default dict -}}
{{- if $nft.enabled -}}
{{- $seconds := $nft.tolerationSeconds | default 30 | int -}}
{{- range $key := list "node.kubernetes.io/not-ready" "node.kubernetes.io/unreachable" -}}
{{- $global = append $global (dict "key" $key "operator" "Exists" "effect" "NoExecute" "tolerationSeconds" $seconds) -}}
{{- end -}}
{{- end -}}
{{- range concat (.values.tolerations | default list) $global -}}
{{- $id := printf "%s/%s" (.key | default "") (.effect | default "") -}}
{{- if not (hasKey $seen $id) -}}
{{- $_ := set $seen $id true -}}
{{- $tolerations = append $tolerations . -}}
{{- end -}}
{{- end -}}
{{- if $tolerations -}}
tolerations:
{{ toYaml $tolerations }}
{{- end -}}
{{- end -}}

{{/*
panda-lib.spreadAffinity: "affinity:" = global.affinity with values.affinity's top-level keys
(nodeAffinity, podAffinity, podAntiAffinity) replacing the global ones, plus the spread rule:

  podAntiAffinity:
    enabled: false             # prefer nodes that do not already run one of the listed components
    weight: 100                # 1-100, the preference weight
    topologyKey: kubernetes.io/hostname
    components: [server, jedi] # app.kubernetes.io/component values to keep away from (any PanDA
                               # release, selected with app.kubernetes.io/part-of=panda)

merged key by key from global.podAntiAffinity and values.podAntiAffinity (the workload's keys win).
The rule is appended as a preferred term to affinity.podAntiAffinity.
*/}}
{{- define "panda-lib.spreadAffinity" -}}
{{- $g := .ctx.Values.global | default dict -}}
{{- $affinity := include "panda-lib.overlay" (list ($g.affinity | default dict) (.values.affinity | default dict)) | fromJson -}}
{{- $spread := include "panda-lib.overlay" (list ($g.podAntiAffinity | default dict) (.values.podAntiAffinity | default dict)) | fromJson -}}
{{- if and $spread.enabled $spread.components -}}
{{- $term := dict
      "weight" ($spread.weight | default 100 | int)
      "podAffinityTerm" (dict
        "topologyKey" ($spread.topologyKey | default "kubernetes.io/hostname")
        "labelSelector" (dict
          "matchLabels" (dict "app.kubernetes.io/part-of" "panda")
          "matchExpressions" (list (dict "key" "app.kubernetes.io/component" "operator" "In" "values" $spread.components)))) -}}
{{- $anti := get $affinity "podAntiAffinity" | default dict -}}
{{- $preferred := get $anti "preferredDuringSchedulingIgnoredDuringExecution" | default list -}}
{{- $_ := set $anti "preferredDuringSchedulingIgnoredDuringExecution" (append $preferred $term) -}}
{{- $_ := set $affinity "podAntiAffinity" $anti -}}
{{- end -}}
{{- if $affinity -}}
affinity:
{{ toYaml $affinity | indent 2 }}
{{- end -}}
{{- end -}}

{{/*
panda-lib.topologySpread: "topologySpreadConstraints:" with one constraint that spreads the pods of
this workload (its selector labels) over a topology, when enabled:

  topologySpread:
    enabled: false
    maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway    # or DoNotSchedule

merged key by key from global.topologySpread and values.topologySpread (the workload's keys win).
*/}}
{{- define "panda-lib.topologySpread" -}}
{{- $g := .ctx.Values.global | default dict -}}
{{- $spread := include "panda-lib.overlay" (list ($g.topologySpread | default dict) (.values.topologySpread | default dict)) | fromJson -}}
{{- if $spread.enabled -}}
{{- $component := .component | default .ctx.Chart.Name -}}
{{- $selector := include "panda-lib.selectorLabelsFor" (dict "ctx" .ctx "component" $component) | fromYaml -}}
topologySpreadConstraints:
  - maxSkew: {{ $spread.maxSkew | default 1 | int }}
    topologyKey: {{ $spread.topologyKey | default "topology.kubernetes.io/zone" }}
    whenUnsatisfiable: {{ $spread.whenUnsatisfiable | default "ScheduleAnyway" }}
    labelSelector:
      matchLabels:
        {{- toYaml $selector | nindent 8 }}
{{- end -}}
{{- end -}}

{{/*
panda-lib.overlay: JSON of the first map with each top-level key of the second map replacing it
(false, 0 and "" included, unlike sprig's merge). Argument: list <defaults> <overrides>.
*/}}
{{- define "panda-lib.overlay" -}}
{{- $result := deepCopy (index . 0) -}}
{{- range $key, $value := index . 1 -}}
{{- $_ := set $result $key $value -}}
{{- end -}}
{{- toJson $result -}}
{{- end -}}
