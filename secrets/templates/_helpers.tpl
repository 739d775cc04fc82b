{{/*
Helpers of the secrets chart. The chart stands alone (no library chart): it only creates Secrets.
*/}}

{{/*
affixed(name), the contract's rule: a prefix affix ("blah-") goes in front, a suffix affix
("-blah") goes behind, an empty affix leaves the name alone.
Call: include "secrets.affixed" (list <affix> <name>)
*/}}
{{- define "secrets.affixed" -}}
{{- $affix := index . 0 | default "" -}}
{{- $name := index . 1 -}}
{{- if hasPrefix "-" $affix -}}
{{- printf "%s%s" $name $affix -}}
{{- else -}}
{{- printf "%s%s" $affix $name -}}
{{- end -}}
{{- end -}}

{{/*
Every in-cluster host and URL the Secrets point at, computed from .Values.affix with the
contract's Service names and ports; explicit hosts in the values win. Returns JSON.
Call: include "secrets.hosts" . | fromJson
*/}}
{{- define "secrets.hosts" -}}
{{- $v := .Values -}}
{{- $a := $v.affix | default "" -}}
{{- $panda := include "secrets.affixed" (list $a "panda") -}}
{{- $msgsvc := include "secrets.affixed" (list $a "msgsvc") -}}
{{- $idds := include "secrets.affixed" (list $a "idds") -}}
{{- $harvester := include "secrets.affixed" (list $a "harvester") -}}
{{- $bigmon := include "secrets.affixed" (list $a "bigmon") -}}
{{- $iam := include "secrets.affixed" (list $a "iam") -}}
{{- $pandaServer := printf "%s-server" $panda -}}
{{- $iddsRest := printf "%s-rest" $idds -}}
{{- $bigmonMain := printf "%s-main" $bigmon -}}
{{- $h := dict
  "secretsRelease" (include "secrets.affixed" (list $a "secrets"))
  "panda" $panda "msgsvc" $msgsvc "idds" $idds "harvester" $harvester "bigmon" $bigmon "iam" $iam
  "pandaServer" $pandaServer
  "pandaJedi" (printf "%s-jedi" $panda)
  "iddsRest" $iddsRest
  "bigmonMain" $bigmonMain
  "iamMain" (printf "%s-main" $iam)
  "msgsvcHost" ($v.msgsvc.host | default (printf "%s-activemq" $msgsvc))
  "pandaDbHost" ($v.panda.database.host | default (printf "%s-postgres" $panda))
  "iddsDbHost" ($v.idds.database.host | default (printf "%s-postgres" $idds))
  "harvesterDbHost" ($v.harvester.database.host | default (printf "%s-mariadb" $harvester))
  "iamDbHost" ($v.iam.database.host | default (printf "%s-mariadb" $iam))
  "pandaUrl" (printf "http://%s:80/server/panda" $pandaServer)
  "pandaUrlSsl" (printf "https://%s:443/server/panda" $pandaServer)
  "pandaApiUrl" (printf "http://%s:80/api/v1" $pandaServer)
  "pandaApiUrlSsl" (printf "https://%s:443/api/v1" $pandaServer)
  "iddsServer" (printf "https://%s:8443" $iddsRest)
  "bigmonUrl" ($v.bigmon.baseUrl | default (printf "https://%s" $bigmonMain))
  "harvesterId" ($v.harvester.harvesterId | default $harvester)
-}}
{{- toJson $h -}}
{{- end -}}

{{/*
Labels of every object. Call: include "secrets.labels" (list $ <component>)
*/}}
{{- define "secrets.labels" -}}
{{- $root := index . 0 -}}
{{- $component := index . 1 -}}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ $root.Chart.Name }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ $component }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/part-of: panda
{{- end -}}

{{/*
An Opaque Secret of environment variables. Every value is rendered as a quoted string
(quote escapes ", \ and control characters), keys sorted so renders are stable.
Call: include "secrets.envSecret" (dict "root" $root "suffix" "panda-envs" "component" "panda" "env" $env)
*/}}
{{- define "secrets.envSecret" -}}
{{- $root := .root -}}
apiVersion: v1
kind: Secret
metadata:
  name: {{ printf "%s-%s" $root.Release.Name .suffix }}
  labels:
    {{- include "secrets.labels" (list $root .component) | nindent 4 }}
type: Opaque
{{- $env := .env }}
{{- if not $env }}
stringData: {}
{{- else }}
stringData:
{{- range $k := keys $env | sortAlpha }}
  {{ $k | quote }}: {{ get $env $k | toString | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Files of the chart matched by globs, as JSON {basename: path}. README*, .gitignore and
.gitkeep are skipped; two files with the same base name fail the render.
Call: include "secrets.filePaths" (dict "root" $root "globs" (list "files/x/**.pem")) | fromJson
*/}}
{{- define "secrets.filePaths" -}}
{{- $root := .root -}}
{{- $out := dict -}}
{{- range $glob := .globs -}}
{{- range $path, $_ := $root.Files.Glob $glob -}}
{{- $name := base $path -}}
{{- if not (or (hasPrefix "README" $name) (eq $name ".gitignore") (eq $name ".gitkeep")) -}}
{{- if not (regexMatch "^[-._a-zA-Z0-9]+$" $name) -}}
{{- fail (printf "secrets: %s: a Secret key (the file name) may contain only letters, digits, '-', '_' and '.'; rename the file" $path) -}}
{{- end -}}
{{- if and (hasKey $out $name) (ne (get $out $name) $path) -}}
{{- fail (printf "secrets: %s and %s have the same file name; Secret keys are base names, keep only one" (get $out $name) $path) -}}
{{- end -}}
{{- $_ := set $out $name $path -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
Kubernetes refuses a Secret whose data (keys plus values) exceeds 1 MiB; fail early with the
list of the biggest contributors instead.
Call: include "secrets.checkSize" (dict "name" <secret name> "sizes" (dict key bytes ...))
*/}}
{{- define "secrets.checkSize" -}}
{{- $total := 0 -}}
{{- $parts := list -}}
{{- range $k, $n := .sizes -}}
{{- $total = add $total (len $k) $n -}}
{{- $parts = append $parts (printf "%s (%d bytes)" $k (int $n)) -}}
{{- end -}}
{{- if gt (int $total) 1048576 -}}
{{- fail (printf "secrets: Secret %s would hold %d bytes, more than the 1 MiB (1048576 bytes) Kubernetes accepts in one Secret: %s. Shrink or drop files (for CRIC JSONs: strip unused queues/sites, or use cric.real: true)." .name (int $total) (join ", " $parts)) -}}
{{- end -}}
{{- end -}}

{{/*
An Opaque data Secret from chart files and/or string contents.
Call: include "secrets.fileSecret" (dict "root" $root "suffix" "iam-conf" "component" "iam"
        "paths" (dict key path) "contents" (dict key text))
A key present in both takes the string content.
*/}}
{{- define "secrets.fileSecret" -}}
{{- $root := .root -}}
{{- $name := printf "%s-%s" $root.Release.Name .suffix -}}
{{- $contents := .contents | default dict -}}
{{- $paths := dict -}}
{{- range $k, $p := (.paths | default dict) }}{{ if not (hasKey $contents $k) }}{{ $_ := set $paths $k $p }}{{ end }}{{ end -}}
{{- $sizes := dict -}}
{{- range $k, $p := $paths }}{{ $_ := set $sizes $k (len ($root.Files.Get $p)) }}{{ end -}}
{{- range $k, $c := $contents }}{{ $_ := set $sizes $k (len $c) }}{{ end -}}
{{- include "secrets.checkSize" (dict "name" $name "sizes" $sizes) -}}
apiVersion: v1
kind: Secret
metadata:
  name: {{ $name }}
  labels:
    {{- include "secrets.labels" (list $root .component) | nindent 4 }}
type: Opaque
{{- if not $sizes }}
data: {}
{{- else }}
data:
{{- range $k := keys $sizes | sortAlpha }}
  {{- if hasKey $contents $k }}
  {{ $k | quote }}: {{ get $contents $k | b64enc | quote }}
  {{- else }}
  {{ $k | quote }}: {{ $root.Files.Get (get $paths $k) | b64enc | quote }}
  {{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
The certificate Secrets of one component: <release>-<comp>-certs (every *.pem of
files/<comp>_certs/, plus extra globs) and, when hostcert.pem and hostkey.pem are both there,
<release>-<comp>-tls-certs (kubernetes.io/tls). With an existingTlsSecret the host pair is left
out and no tls Secret is made: the component uses the existing Secret.
Call: include "secrets.certSecrets" (dict "root" $ "comp" "panda" "existingTlsSecret" "" "tls" true
        "extraGlobs" (list ...))
*/}}
{{- define "secrets.certSecrets" -}}
{{- $root := .root -}}
{{- $dir := printf "files/%s_certs" .comp -}}
{{- $globs := concat (list (printf "%s/**.pem" $dir)) (.extraGlobs | default list) -}}
{{- $paths := include "secrets.filePaths" (dict "root" $root "globs" $globs) | fromJson -}}
{{- $cert := printf "%s/hostcert.pem" $dir -}}
{{- $key := printf "%s/hostkey.pem" $dir -}}
{{- $hasCert := gt (len ($root.Files.Glob $cert)) 0 -}}
{{- $hasKey := gt (len ($root.Files.Glob $key)) 0 -}}
{{- if .existingTlsSecret -}}
{{- $paths = omit $paths "hostcert.pem" "hostkey.pem" -}}
{{- else if ne $hasCert $hasKey -}}
{{- fail (printf "secrets: %s/ holds only one of hostcert.pem and hostkey.pem; add the other one or remove both" $dir) -}}
{{- end }}
{{ include "secrets.fileSecret" (dict "root" $root "suffix" (printf "%s-certs" .comp) "component" .comp "paths" $paths) }}
{{- if and .tls (not .existingTlsSecret) $hasCert $hasKey }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ printf "%s-%s-tls-certs" $root.Release.Name .comp }}
  labels:
    {{- include "secrets.labels" (list $root .comp) | nindent 4 }}
type: kubernetes.io/tls
data:
  tls.crt: {{ $root.Files.Get $cert | b64enc | quote }}
  tls.key: {{ $root.Files.Get $key | b64enc | quote }}
{{- end }}
{{- end -}}

{{/*
Proxy variables shared by panda-envs, harvester-envs, idds-envs and bigmon-envs, as JSON.
Each proxy takes its own value (upstream gave https_proxy the http one).
*/}}
{{- define "secrets.proxyEnv" -}}
{{- $p := .Values.proxy -}}
{{- $h := include "secrets.hosts" . | fromJson -}}
{{- $env := dict -}}
{{- if or $p.httpProxy $p.httpsProxy -}}
{{- if $p.httpProxy }}{{ $_ := set $env "http_proxy" $p.httpProxy }}{{ end -}}
{{- if $p.httpsProxy }}{{ $_ := set $env "https_proxy" $p.httpsProxy }}{{ end -}}
{{- $default := list "localhost" "127.0.0.1" $h.pandaServer $h.pandaJedi $h.iddsRest $h.bigmonMain $h.iamMain $h.msgsvcHost $h.pandaDbHost $h.iddsDbHost $h.harvesterDbHost ".svc" ".cluster.local" | uniq -}}
{{- $_ := set $env "no_proxy" ($p.noProxy | default (join "," $default)) -}}
{{- end -}}
{{- toJson $env -}}
{{- end -}}

{{/*
The CRIC JSON files: files/cric_jsons/*.json merged with .Values.cric.files, as JSON
{"paths": {name: path}, "contents": {name: text}, "names": [all names, sorted]}.
*/}}
{{- define "secrets.cricFiles" -}}
{{- $contents := .Values.cric.files | default dict -}}
{{- $paths := include "secrets.filePaths" (dict "root" . "globs" (list "files/cric_jsons/*.json")) | fromJson -}}
{{- $names := concat (keys $paths) (keys $contents) | uniq | sortAlpha -}}
{{- toJson (dict "paths" $paths "contents" $contents "names" $names) -}}
{{- end -}}

{{/*
A MariaDB string literal: backslashes doubled, single quotes doubled, wrapped in '...'
(correct under the default sql_mode).
Call: include "secrets.sqlString" <string>
*/}}
{{- define "secrets.sqlString" -}}
{{- printf "'%s'" (. | toString | replace "\\" "\\\\" | replace "'" "''") -}}
{{- end -}}
