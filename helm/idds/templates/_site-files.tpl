{{/*
idds.siteFileKinds: the site-file kinds (see helm/lib/templates/_sitefiles.tpl) the rest and daemon
sub-charts mount, as a YAML list; helm/idds/site-files.yaml lists the same kinds for panda-install.
  tnsnames  tnsnames.ora (Oracle), next to idds_configmap.json in /opt/idds/configmap, where upstream's
            chart put it (instead of config.tnsnames)
  caCertificates  extra CA certificates (a directory kind), copied into /etc/grid-security/certificates
            before start-daemon.sh runs, so httpd accepts client certificates they signed
*/}}
{{- define "idds.siteFileKinds" -}}
- {name: tnsnames, file: tnsnames.ora, sensitive: false}
- {name: caCertificates, sensitive: false}
{{- end -}}
