{{/*
Spreading heavy PanDA pods over nodes (added by the harvester/idds/bigmon charts; a separate file so
the library's own files stay untouched).

Values (per workload sub-chart):
  affinity: {}                 # a full Kubernetes affinity block, used as given
  podAntiAffinity:
    enabled: false             # prefer nodes that do not already run one of the listed components
    weight: 100                # 1-100, the preference weight
    topologyKey: kubernetes.io/hostname
    components: [server, jedi] # app.kubernetes.io/component values to keep away from (any PanDA
                               # release, selected with app.kubernetes.io/part-of=panda)

panda-lib.spreadAffinity: the "affinity:" key (or nothing when both are empty). The preferred
podAntiAffinity term is appended to affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution.
Argument: the root context.
*/}}
{{- define "panda-lib.spreadAffinity" -}}
{{- $affinity := deepCopy (.Values.affinity | default dict) -}}
{{- $spread := .Values.podAntiAffinity | default dict -}}
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
{{- if $affinity }}
affinity:
{{ toYaml $affinity | indent 2 }}
{{- end -}}
{{- end -}}
