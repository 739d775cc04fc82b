{{/*
harvester.sandboxVolume: the pod volume "sandbox" at /opt/harvester/sandbox, where upstream
panda-k8s mounted its whole sandbox and where its site files (queue configs' templateFile and
executableFile, run-harvester-crons -> <experiment>.vomsproxy-renew -> its certificate files) name
their files. One read-only projected volume holds the chart's sandbox ConfigMap (or
sandbox.existingConfigMap) and the site's sandbox files (siteFiles.sandbox), the site winning on a
name clash: the chart's ConfigMap lists only the files the site does not give (a projected volume
may not hold one path twice; an empty list would mean all of them, so then it is left out). With sandbox.existingConfigMap its keys are not known here; the site's
source comes last, and the kubelet writes the later source's file over the earlier one's.
Nothing writes there: the start script copies the directory to /data/harvester, the writable
sandbox the image's own scripts use. Argument: dict "ctx" <root context> "kind" <the sandbox kind>.
*/}}
{{- define "harvester.sandboxVolume" -}}
{{- $ctx := .ctx -}}
{{- $v := $ctx.Values.sandbox -}}
{{- $site := include "panda-lib.siteFiles.entries" (dict "ctx" $ctx "kind" .kind) | fromJson -}}
{{- $chart := list -}}
{{- if not $v.existingConfigMap -}}
{{- if $v.defaults -}}
{{- range $path, $_ := $ctx.Files.Glob "files/*" }}{{ $chart = append $chart (base $path) }}{{ end -}}
{{- end -}}
{{- range $name, $_ := $v.files }}{{ $chart = append $chart $name }}{{ end -}}
{{- end -}}
{{- $kept := list -}}
{{- range $name := $chart | uniq | sortAlpha -}}
{{- if not (hasKey $site $name) }}{{ $kept = append $kept $name }}{{ end -}}
{{- end -}}
- name: sandbox
  projected:
    defaultMode: 0755
    sources:
      {{- if or $v.existingConfigMap (not $site) $kept }}
      - configMap:
          name: {{ $v.existingConfigMap | default (printf "%s-sandbox" (include "panda-lib.fullname" $ctx)) }}
          {{- if and $site (not $v.existingConfigMap) }}
          items:
            {{- range $kept }}
            - key: {{ . }}
              path: {{ . }}
            {{- end }}
          {{- end }}
      {{- end }}
      {{- with include "panda-lib.siteFiles.source" (dict "ctx" $ctx "kind" .kind) }}
      {{- . | nindent 6 }}
      {{- end }}
{{- end -}}
