{{/*
Site files: a site's own files (queue configurations, sandbox scripts, config JSONs, tnsnames.ora, CA
certificates), which operators keep under values/<experiment>/files/<component>/ and panda-install
passes with `helm --set-file <key>=<path>` (docs/charts.md, "Site files"). Each component chart lists
its kinds in helm/<component>/site-files.yaml (read by panda-install); each sub-chart that mounts
them has a values map "siteFiles" with one key per kind:
  a file kind:      siteFiles.<kind>: "<content>"                 ("" = not given)
  a directory kind: siteFiles.<kind>: {<file name>: "<content>"}  ({} = not given)

A kind is described to the helpers below by a map
  name:      the values key under siteFiles (camelCase)
  file:      the file name for a file kind (omit for a directory kind)
  sensitive: true = a Secret, false = a ConfigMap (binaryData)
Every kind that is given becomes one object "<fullname>-site-<name in kebab case>" holding its files
base64-encoded, so any bytes survive. File names must be valid object keys ([-._a-zA-Z0-9]+) and a
kind's files together may hold at most 1 MiB (1048576 bytes, the API server's limit).
*/}}

{{/*
panda-lib.siteFiles.entries: JSON map <file name> -> <content, base64-encoded> of one kind, {} when not
given. The content is encoded before it goes through JSON, which would replace bytes that are not
UTF-8. Argument: dict "ctx" <root context> "kind" <kind map>.
*/}}
{{- define "panda-lib.siteFiles.entries" -}}
{{- $value := get (.ctx.Values.siteFiles | default dict) .kind.name -}}
{{- $entries := dict -}}
{{- if .kind.file -}}
{{- with $value }}{{ $_ := set $entries $.kind.file (toString . | b64enc) }}{{ end -}}
{{- else -}}
{{- range $file, $content := ($value | default dict) -}}
{{- $_ := set $entries $file (toString $content | b64enc) -}}
{{- end -}}
{{- end -}}
{{- toJson $entries -}}
{{- end -}}

{{/*
panda-lib.siteFiles.name: the object name of a kind. Argument: dict "ctx" "kind".
*/}}
{{- define "panda-lib.siteFiles.name" -}}
{{- printf "%s-site-%s" (include "panda-lib.fullname" .ctx) (kebabcase .kind.name) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
panda-lib.siteFiles.objects: one "---" ConfigMap or Secret per given kind; fails on an invalid file
name or a kind larger than 1 MiB, naming the files. Argument: dict "ctx" <root context> "kinds" <list>.
*/}}
{{- define "panda-lib.siteFiles.objects" -}}
{{- $ctx := .ctx -}}
{{- range $kind := .kinds -}}
{{- $entries := include "panda-lib.siteFiles.entries" (dict "ctx" $ctx "kind" $kind) | fromJson -}}
{{- if $entries -}}
{{- $total := 0 -}}
{{- $sizes := list -}}
{{- range $file, $content := $entries -}}
{{- if or (not (regexMatch "^[-._a-zA-Z0-9]+$" $file)) (eq $file ".") (eq $file "..") -}}
{{- fail (printf "site file %s/%s: the name may hold only letters, digits, '-', '_' and '.'" $kind.name $file) -}}
{{- end -}}
{{- $size := len (b64dec $content) -}}
{{- $total = add $total $size -}}
{{- $sizes = append $sizes (printf "%s (%d bytes)" $file $size) -}}
{{- end -}}
{{- if gt $total 1048576 -}}
{{- fail (printf "site files of kind %s hold %d bytes, more than the 1048576 one object can hold: %s" $kind.name $total (join ", " $sizes)) -}}
{{- end }}
---
apiVersion: v1
kind: {{ $kind.sensitive | ternary "Secret" "ConfigMap" }}
metadata:
  name: {{ include "panda-lib.siteFiles.name" (dict "ctx" $ctx "kind" $kind) }}
  labels:
    {{- include "panda-lib.labels" $ctx | nindent 4 }}
{{- if $kind.sensitive }}
type: Opaque
data:
{{- else }}
binaryData:
{{- end }}
  {{- range $file, $content := $entries }}
  {{ $file }}: {{ $content }}
  {{- end }}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
panda-lib.siteFiles.checksums: JSON map of pod annotations "checksum/site-<kind>" (sha256 of the
kind's files) for the given kinds, so a changed site file rolls exactly the pods that mount it.
Argument: dict "ctx" <root context> "kinds" <list>.
*/}}
{{- define "panda-lib.siteFiles.checksums" -}}
{{- $ctx := .ctx -}}
{{- $sums := dict -}}
{{- range $kind := .kinds -}}
{{- $entries := include "panda-lib.siteFiles.entries" (dict "ctx" $ctx "kind" $kind) | fromJson -}}
{{- if $entries -}}
{{- $_ := set $sums (printf "checksum/site-%s" (kebabcase $kind.name)) (toJson $entries | sha256sum) -}}
{{- end -}}
{{- end -}}
{{- toJson $sums -}}
{{- end -}}

{{/*
panda-lib.siteFiles.given: "true" when the kind has files, else "". Argument: dict "ctx" "kind".
*/}}
{{- define "panda-lib.siteFiles.given" -}}
{{- if include "panda-lib.siteFiles.entries" . | fromJson -}}true{{- end -}}
{{- end -}}

{{/*
panda-lib.siteFiles.source: a projected-volume source (list item) for the kind, or nothing when it is
not given. Argument: dict "ctx" "kind".
*/}}
{{- define "panda-lib.siteFiles.source" -}}
{{- if include "panda-lib.siteFiles.given" . -}}
{{- if .kind.sensitive -}}
- secret:
    name: {{ include "panda-lib.siteFiles.name" . }}
{{- else -}}
- configMap:
    name: {{ include "panda-lib.siteFiles.name" . }}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
panda-lib.siteFiles.volume: a pod volume (list item) named "site-<kind in kebab case>" for the kind, or
nothing when it is not given. Argument: dict "ctx" "kind" (+ "mode": defaultMode, default 0444).
*/}}
{{- define "panda-lib.siteFiles.volume" -}}
{{- if include "panda-lib.siteFiles.given" . -}}
- name: site-{{ kebabcase .kind.name }}
  {{- if .kind.sensitive }}
  secret:
    secretName: {{ include "panda-lib.siteFiles.name" . }}
    defaultMode: {{ .mode | default 0444 }}
  {{- else }}
  configMap:
    name: {{ include "panda-lib.siteFiles.name" . }}
    defaultMode: {{ .mode | default 0444 }}
  {{- end }}
{{- end -}}
{{- end -}}

{{/*
panda-lib.siteFiles.mount: a volumeMounts item (read-only) for the kind's volume at mountPath, or
nothing when it is not given. Argument: dict "ctx" "kind" "mountPath".
*/}}
{{- define "panda-lib.siteFiles.mount" -}}
{{- if include "panda-lib.siteFiles.given" . -}}
- name: site-{{ kebabcase .kind.name }}
  mountPath: {{ .mountPath }}
  readOnly: true
{{- end -}}
{{- end -}}
