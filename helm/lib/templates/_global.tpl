{{/*
Experiment-wide settings: .Values.global, which panda-install fills from
values/<experiment>/experiment.yaml (passed first, before the component's own values file) and from
its own flags (affix, secretsRelease, cric.real). Every component chart accepts the same block (its
schema is the shared definition "global" of helm/lib/schema/definitions.json) and the library applies
it to every workload of every sub-chart; a workload's own value wins where both are given.

  global:
    affix, secretsRelease, cric.real         # set by panda-install
    nodeFailureTolerations: {enabled, tolerationSeconds}     # _placement.tpl
    tolerations: []                          # appended to every pod's tolerations
    nodeSelector: {}                         # under every pod's nodeSelector
    affinity: {}                             # per top-level key, unless the workload sets that key
    podAntiAffinity: {enabled, weight, topologyKey, components}   # the component spread rule
    topologySpread: {enabled, maxSkew, topologyKey, whenUnsatisfiable}
    podLabels: {}, podAnnotations: {}        # on every pod
    imagePullSecrets: []                     # added to every pod
    imageRegistryMirrors: {}                 # registry host -> mirror prefix (panda-lib.image)
    storageClass: ""                         # class of every claim whose own storageClass is ""
    platformAssignsIds: false                # OpenShift SCC: drop every pod's runAsUser/runAsGroup/fsGroup
    proxy: {httpProxy, httpsProxy, noProxy}  # env of every container (panda-lib.env.extra)
*/}}

{{/*
panda-lib.affixed: the contract's affixed(name): affix + name for a prefix ("test-"), name + affix for
a suffix ("-blah"), the name alone without an affix. Argument: dict "ctx" <root context> "name" <name>.
*/}}
{{- define "panda-lib.affixed" -}}
{{- $affix := (.ctx.Values.global | default dict).affix | default "" -}}
{{- if hasPrefix "-" $affix -}}
{{- printf "%s%s" .name $affix -}}
{{- else -}}
{{- printf "%s%s" $affix .name -}}
{{- end -}}
{{- end -}}

{{/*
panda-lib.instanceHosts: JSON list of the Service names of every workload of this instance
(<affixed component>-<sub-chart>, docs/contract.md), e.g. for no_proxy. Argument: the root context.
*/}}
{{- define "panda-lib.instanceHosts" -}}
{{- $ctx := . -}}
{{- $subs := dict "msgsvc" (list "activemq") "iam" (list "main" "mariadb") "panda" (list "server" "jedi" "postgres")
      "harvester" (list "harvester" "mariadb") "idds" (list "rest" "daemon" "postgres") "bigmon" (list "main")
      "ui" (list "backend" "frontend") -}}
{{- $hosts := list -}}
{{- range $component := keys $subs | sortAlpha -}}
{{- range get $subs $component -}}
{{- $hosts = append $hosts (printf "%s-%s" (include "panda-lib.affixed" (dict "ctx" $ctx "name" $component)) .) -}}
{{- end -}}
{{- end -}}
{{- toJson $hosts -}}
{{- end -}}
