{{/*
harvester.siteFileKinds: the site-file kinds (see helm/lib/templates/_sitefiles.tpl) the harvester
sub-chart mounts, as a YAML list; helm/harvester/site-files.yaml lists the same kinds for panda-install.
  harvesterConfig  panda_harvester_configmap.json, next to the chart's config at
                   /opt/harvester/etc/configmap (instead of config.harvesterConfigMap)
  queueConfig      panda_queueconfig.json, in the same directory (instead of config.queueConfigs);
                   init-harvester links it to /opt/harvester/etc/queue_config/
  sandbox          the site's sandbox scripts and templates, copied to /data/harvester after the
                   chart's own (a site file of the same name wins)
  caCertificates   extra CA certificates, copied into /etc/grid-security/certificates after the IGTF ones
*/}}
{{- define "harvester.siteFileKinds" -}}
- {name: harvesterConfig, file: panda_harvester_configmap.json, sensitive: true}
- {name: queueConfig, file: panda_queueconfig.json, sensitive: false}
- {name: sandbox, sensitive: false}
- {name: caCertificates, sensitive: false}
{{- end -}}
