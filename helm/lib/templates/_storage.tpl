{{/*
Storage helpers: logs/data volumes and CVMFS. No hostPath anywhere: volumes are emptyDirs or PVCs with
a storageClass value (empty = the cluster's default class).

A volume spec in values looks like:
  type: claimTemplate   # emptyDir | existingClaim | claim | claimTemplate
  existingClaim: ""     # existingClaim: the claim to use
  subPath: ""           # optional sub-directory of the volume to mount
  storageClass: ""      # claim, claimTemplate: "" = global.storageClass, else the cluster default class
  size: 5Gi             # claim, claimTemplate (also the emptyDir sizeLimit when set)
  accessModes: [ReadWriteOnce]   # claim, claimTemplate
  keep: true            # claim: helm.sh/resource-policy keep, the PVC survives helm uninstall
"claim" creates a standalone PVC "<fullname>-<name>" (for Deployments); "claimTemplate" adds a
volumeClaimTemplate "<name>" to a StatefulSet (PVC "<name>-<pod>", never deleted by helm).
*/}}

{{/*
panda-lib.storage.volume: one pod "volumes:" list item, or nothing for type claimTemplate.
Argument: dict "ctx" <root context> "name" <volume name> "spec" <volume spec>.
*/}}
{{- define "panda-lib.storage.volume" -}}
{{- include "panda-lib.storage.volume.body" . | trim -}}
{{- end -}}

{{- define "panda-lib.storage.volume.body" -}}
{{- $spec := .spec -}}
{{- if eq $spec.type "emptyDir" }}
- name: {{ .name }}
  emptyDir:
    {{- if $spec.size }}
    sizeLimit: {{ $spec.size }}
    {{- else }} {}
    {{- end }}
{{- else if eq $spec.type "existingClaim" }}
- name: {{ .name }}
  persistentVolumeClaim:
    claimName: {{ $spec.existingClaim | required (printf "%s.existingClaim is required for type existingClaim" .name) }}
{{- else if eq $spec.type "claim" }}
- name: {{ .name }}
  persistentVolumeClaim:
    claimName: {{ include "panda-lib.fullnameFor" (dict "ctx" .ctx "component" (printf "%s-%s" .ctx.Chart.Name .name)) }}
{{- else if ne $spec.type "claimTemplate" }}
{{- fail (printf "%s.type must be emptyDir, existingClaim, claim or claimTemplate (got %q)" .name (toString $spec.type)) }}
{{- end }}
{{- end -}}

{{/*
panda-lib.storage.mount: one "volumeMounts:" list item for the volume.
Argument: dict "name" <volume name> "spec" <volume spec> "mountPath" <path> ("readOnly" optional).
*/}}
{{- define "panda-lib.storage.mount" -}}
- name: {{ .name }}
  mountPath: {{ .mountPath }}
  {{- with .spec.subPath }}
  subPath: {{ . }}
  {{- end }}
  {{- if .readOnly }}
  readOnly: true
  {{- end }}
{{- end -}}

{{/*
One volume per claim. A pod that names the same PVC in two volumes hangs in ContainerCreating on
some CSI drivers (Manila CephFS: upstream panda-k8s 7ee9076, #259, #268), so settings of one pod
that resolve to the same claim (an existingClaim, or the claim a "claim" setting creates) share ONE
pod volume, named after the first of them, and each keeps its own volumeMount (and subPath).

Argument of panda-lib.storage.volumes / .mounts: dict
  "ctx"     <root context>
  "volumes" list of dict "name" <volume name> "spec" <volume spec> ("mountPath" <path> for .mounts;
            "readOnly" optional), in the pod's order; an entry with "enabled" false is left out
  "extra"   (volumes only, optional) the pod's extraVolumes: an extra volume naming a claim that a
            setting or another extra volume already names fails the render
*/}}

{{/*
panda-lib.storage.claimName: the PVC a volume spec names, or "" (emptyDir, claimTemplate).
Argument: dict "ctx" "name" "spec".
*/}}
{{- define "panda-lib.storage.claimName" -}}
{{- if eq .spec.type "existingClaim" -}}
{{- .spec.existingClaim -}}
{{- else if eq .spec.type "claim" -}}
{{- include "panda-lib.fullnameFor" (dict "ctx" .ctx "component" (printf "%s-%s" .ctx.Chart.Name .name)) -}}
{{- end -}}
{{- end -}}

{{/*
panda-lib.storage.volumeNames: JSON map <setting name> -> <pod volume name> (the first setting of the
same claim). Argument: dict "ctx" "volumes" as above.
*/}}
{{- define "panda-lib.storage.volumeNames" -}}
{{- $byClaim := dict -}}
{{- $names := dict -}}
{{- range .volumes -}}
{{- if ne (toString .enabled) "false" -}}
{{- $claim := include "panda-lib.storage.claimName" (dict "ctx" $.ctx "name" .name "spec" .spec) -}}
{{- if and $claim (hasKey $byClaim $claim) -}}
{{- $_ := set $names .name (get $byClaim $claim) -}}
{{- else -}}
{{- $_ := set $names .name .name -}}
{{- if $claim }}{{ $_ := set $byClaim $claim .name }}{{ end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $names -}}
{{- end -}}

{{/*
panda-lib.storage.volumes: the pod "volumes:" list items of the settings, one per claim.
*/}}
{{- define "panda-lib.storage.volumes" -}}
{{- $names := include "panda-lib.storage.volumeNames" . | fromJson -}}
{{- $claims := dict -}}
{{- $out := list -}}
{{- range .volumes -}}
{{- if and (ne (toString .enabled) "false") (eq (get $names .name) .name) -}}
{{- with include "panda-lib.storage.volume" (dict "ctx" $.ctx "name" .name "spec" .spec) -}}
{{- $out = append $out . -}}
{{- end -}}
{{- with include "panda-lib.storage.claimName" (dict "ctx" $.ctx "name" .name "spec" .spec) -}}
{{- $_ := set $claims . "a storage setting" -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $extra := (.extra | default list) -}}
{{- with ($extra.persistentVolumeClaim | default dict).claimName -}}
{{- if hasKey $claims . -}}
{{- fail (printf "extraVolumes: volume %q names claim %q, which %s already mounts; a pod may name a claim once (mount it again with a subPath under extraVolumeMounts instead)" $extra.name . (get $claims .)) -}}
{{- end -}}
{{- $_ := set $claims . (printf "extra volume %q" $extra.name) -}}
{{- end -}}
{{- end -}}
{{- join "\n" $out -}}
{{- end -}}

{{/*
panda-lib.storage.mounts: the "volumeMounts:" list items of the settings, each on the volume that
carries its claim, with its own subPath.
*/}}
{{- define "panda-lib.storage.mounts" -}}
{{- $names := include "panda-lib.storage.volumeNames" . | fromJson -}}
{{- $out := list -}}
{{- range .volumes -}}
{{- if ne (toString .enabled) "false" -}}
{{- $out = append $out (include "panda-lib.storage.mount" (dict "name" (get $names .name) "spec" .spec "mountPath" .mountPath "readOnly" .readOnly)) -}}
{{- end -}}
{{- end -}}
{{- join "\n" $out -}}
{{- end -}}

{{/*
panda-lib.storage.claimSpec: the spec of a claim: access modes, the class (the spec's storageClass,
else global.storageClass, else none: the cluster's default class) and the size.
Argument: dict "ctx" <root context> "spec" <volume spec>.
*/}}
{{- define "panda-lib.storage.claimSpec" -}}
{{- $spec := .spec -}}
accessModes:
  {{- toYaml ($spec.accessModes | default (list "ReadWriteOnce")) | nindent 2 }}
{{- with $spec.storageClass | default (.ctx.Values.global | default dict).storageClass }}
storageClassName: {{ . }}
{{- end }}
resources:
  requests:
    storage: {{ $spec.size | required "size is required for a claim" }}
{{- end -}}

{{/*
panda-lib.storage.claimTemplate: one "volumeClaimTemplates:" list item, or nothing unless the type
is claimTemplate.
Argument: dict "ctx" <root context> "name" <volume name> "spec" <volume spec>.
*/}}
{{- define "panda-lib.storage.claimTemplate" -}}
{{- include "panda-lib.storage.claimTemplate.body" . | trim -}}
{{- end -}}

{{- define "panda-lib.storage.claimTemplate.body" -}}
{{- if eq .spec.type "claimTemplate" }}
- apiVersion: v1
  kind: PersistentVolumeClaim
  metadata:
    name: {{ .name }}
    # volumeClaimTemplates are immutable: only the stable selector labels, never the version.
    labels:
      {{- include "panda-lib.selectorLabels" .ctx | nindent 6 }}
  spec:
    {{- include "panda-lib.storage.claimSpec" . | nindent 4 }}
{{- end }}
{{- end -}}

{{/*
panda-lib.storage.pvc: a PersistentVolumeClaim document "<fullname>-<name>", or nothing unless the
type is claim. Starts with "---".
Argument: dict "ctx" <root context> "name" <volume name> "spec" <volume spec>.
*/}}
{{- define "panda-lib.storage.pvc" -}}
{{- if eq .spec.type "claim" }}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ include "panda-lib.fullnameFor" (dict "ctx" .ctx "component" (printf "%s-%s" .ctx.Chart.Name .name)) }}
  labels:
    {{- include "panda-lib.labels" .ctx | nindent 4 }}
  {{- if .spec.keep }}
  annotations:
    helm.sh/resource-policy: keep
  {{- end }}
spec:
  {{- include "panda-lib.storage.claimSpec" . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
CVMFS. Values (per sub-chart):
  cvmfs:
    enabled: false
    storageClass: cvmfs          # class name of the static PVs/PVCs
    driver: cvmfs.csi.cern.ch    # CSI driver
    repositories: [atlas.cern.ch, atlas-condb.cern.ch]
For each repository a static ReadOnlyMany PV (reclaim Retain) named
"<namespace>-<Release>-<Chart>-cvmfs-<repo with dots as dashes>" (cluster-scoped, so the namespace and
release are part of the name and two installations never collide), a PVC "<fullname>-cvmfs-<repo>"
bound to it, and a read-only mount at /cvmfs/<repository>.
*/}}

{{- define "panda-lib.cvmfs.key" -}}
{{- . | lower | replace "." "-" | replace "_" "-" -}}
{{- end -}}

{{/*
panda-lib.cvmfs.objects: the PV and PVC documents (each starting with "---"), or nothing when
cvmfs.enabled is false. Argument: the root context.
*/}}
{{- define "panda-lib.cvmfs.objects" -}}
{{- $ctx := . -}}
{{- $cvmfs := .Values.cvmfs | default dict -}}
{{- if $cvmfs.enabled }}
{{- range $repository := $cvmfs.repositories | required "cvmfs.repositories is required when cvmfs.enabled" }}
{{- $key := include "panda-lib.cvmfs.key" $repository }}
{{- $claim := printf "%s-cvmfs-%s" (include "panda-lib.fullname" $ctx) $key | trunc 63 | trimSuffix "-" }}
{{- $volume := printf "%s-%s-cvmfs-%s" $ctx.Release.Namespace (include "panda-lib.fullname" $ctx) $key }}
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: {{ $volume }}
  labels:
    {{- include "panda-lib.labels" $ctx | nindent 4 }}
spec:
  accessModes: [ReadOnlyMany]
  capacity:
    storage: 1Gi
  storageClassName: {{ $cvmfs.storageClass | default "cvmfs" }}
  persistentVolumeReclaimPolicy: Retain
  claimRef:
    namespace: {{ $ctx.Release.Namespace }}
    name: {{ $claim }}
  csi:
    driver: {{ $cvmfs.driver | default "cvmfs.csi.cern.ch" }}
    volumeHandle: {{ $volume }}
    volumeAttributes:
      repository: {{ $repository }}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ $claim }}
  labels:
    {{- include "panda-lib.labels" $ctx | nindent 4 }}
spec:
  accessModes: [ReadOnlyMany]
  storageClassName: {{ $cvmfs.storageClass | default "cvmfs" }}
  volumeName: {{ $volume }}
  resources:
    requests:
      storage: 1Gi
{{- end }}
{{- end }}
{{- end -}}

{{/*
panda-lib.cvmfs.volumes: "volumes:" list items (no key), or nothing. Argument: the root context.
*/}}
{{- define "panda-lib.cvmfs.volumes" -}}
{{- include "panda-lib.cvmfs.volumes.body" . | trim -}}
{{- end -}}

{{- define "panda-lib.cvmfs.volumes.body" -}}
{{- $ctx := . -}}
{{- if (.Values.cvmfs | default dict).enabled }}
{{- range $repository := .Values.cvmfs.repositories }}
{{- $key := include "panda-lib.cvmfs.key" $repository }}
- name: cvmfs-{{ $key | trunc 57 | trimSuffix "-" }}
  persistentVolumeClaim:
    claimName: {{ printf "%s-cvmfs-%s" (include "panda-lib.fullname" $ctx) $key | trunc 63 | trimSuffix "-" }}
    readOnly: true
{{- end }}
{{- end }}
{{- end -}}

{{/*
panda-lib.cvmfs.mounts: "volumeMounts:" list items (no key) at /cvmfs/<repository>, or nothing.
Argument: the root context.
*/}}
{{- define "panda-lib.cvmfs.mounts" -}}
{{- include "panda-lib.cvmfs.mounts.body" . | trim -}}
{{- end -}}

{{- define "panda-lib.cvmfs.mounts.body" -}}
{{- if (.Values.cvmfs | default dict).enabled }}
{{- range $repository := .Values.cvmfs.repositories }}
- name: cvmfs-{{ include "panda-lib.cvmfs.key" $repository | trunc 57 | trimSuffix "-" }}
  mountPath: /cvmfs/{{ $repository }}
  readOnly: true
{{- end }}
{{- end }}
{{- end -}}
