{{/*
panda.siteFileKinds: the site-file kinds (see helm/lib/templates/_sitefiles.tpl) a panda sub-chart
mounts, as a YAML list; helm/panda/site-files.yaml lists the same kinds for panda-install.
Argument: the sub-chart name, "server" or "jedi".
  serverConfig    panda_server_config.json, replacing the one rendered from global.serverConfig
  jediConfig      panda_jedi_config.json (JEDI), replacing the one rendered from jedi.config
  tnsnames        tnsnames.ora, copied with the sandbox to /data/panda (the image links
                  /etc/tnsnames.ora there)
  caCertificates  extra CA certificates, copied into /etc/grid-security/certificates after the IGTF ones
*/}}
{{- define "panda.siteFileKinds" -}}
- {name: serverConfig, file: panda_server_config.json, sensitive: true}
{{- if eq . "jedi" }}
- {name: jediConfig, file: panda_jedi_config.json, sensitive: true}
{{- end }}
- {name: tnsnames, file: tnsnames.ora, sensitive: false}
- {name: caCertificates, sensitive: false}
{{- end -}}
