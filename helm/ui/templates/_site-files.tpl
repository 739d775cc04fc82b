{{/*
ui.siteFileKinds: the site-file kinds (see helm/lib/templates/_sitefiles.tpl) the backend mounts, as
a YAML list; helm/ui/site-files.yaml lists the same kinds for panda-install.
  tnsnames  tnsnames.ora, copied at start to /data/pandaui/config (the image links /etc/tnsnames.ora
            there)
*/}}
{{- define "ui.siteFileKinds" -}}
- {name: tnsnames, file: tnsnames.ora, sensitive: false}
{{- end -}}
