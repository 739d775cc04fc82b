{{/*
bigmon.siteFileKinds: the site-file kinds (see helm/lib/templates/_sitefiles.tpl) the main sub-chart
mounts, as a YAML list; helm/bigmon/site-files.yaml lists the same kinds for panda-install.
  tnsnames  tnsnames.ora (Oracle), in /data/bigmon/configmap with the chart's files, which the start
            script copies to /data/bigmon/config (instead of config.files."tnsnames.ora")
*/}}
{{- define "bigmon.siteFileKinds" -}}
- {name: tnsnames, file: tnsnames.ora, sensitive: false}
{{- end -}}
