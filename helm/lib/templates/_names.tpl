{{/*
Names and labels.

Every object of a sub-chart is called "<Release.Name>-<Chart.Name>" (see docs/contract.md); there is
deliberately no "the release already contains the chart name" shortcut, so names are predictable.
*/}}

{{/*
panda-lib.name: the top-level (component) chart name, e.g. "panda" for templates of panda and of
its sub-charts server/jedi/postgres. Taken from the first segment of .Template.BasePath, which Helm
builds from chart names ("panda/charts/server/templates").
Argument: the root context.
*/}}
{{- define "panda-lib.name" -}}
{{- first (splitList "/" .Template.BasePath) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
panda-lib.fullnameFor: "<Release.Name>-<component>", at most 63 characters.
Argument: dict "ctx" <root context> "component" <string>.
*/}}
{{- define "panda-lib.fullnameFor" -}}
{{- printf "%s-%s" .ctx.Release.Name .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
panda-lib.fullname: "<Release.Name>-<Chart.Name>" (the sub-chart name), at most 63 characters.
Argument: the root context.
*/}}
{{- define "panda-lib.fullname" -}}
{{- include "panda-lib.fullnameFor" (dict "ctx" . "component" .Chart.Name) -}}
{{- end -}}

{{/*
panda-lib.selectorLabelsFor: the immutable labels used in selectors.
Argument: dict "ctx" <root context> "component" <string>.
*/}}
{{- define "panda-lib.selectorLabelsFor" -}}
app.kubernetes.io/name: {{ include "panda-lib.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/component: {{ .component | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/*
panda-lib.labelsFor: all recommended labels. The version is the image tag when the chart has
.Values.image.tag, otherwise the chart's appVersion.
Argument: dict "ctx" <root context> "component" <string>.
*/}}
{{- define "panda-lib.labelsFor" -}}
{{- $image := .ctx.Values.image | default dict -}}
{{- $version := $image.tag | default .ctx.Chart.AppVersion | default .ctx.Chart.Version -}}
{{ include "panda-lib.selectorLabelsFor" . }}
app.kubernetes.io/version: {{ $version | toString | replace "+" "_" | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: panda
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/*
panda-lib.selectorLabels / panda-lib.labels: the same for the calling (sub-)chart, component = Chart.Name.
Argument: the root context.
*/}}
{{- define "panda-lib.selectorLabels" -}}
{{- include "panda-lib.selectorLabelsFor" (dict "ctx" . "component" .Chart.Name) -}}
{{- end -}}

{{- define "panda-lib.labels" -}}
{{- include "panda-lib.labelsFor" (dict "ctx" . "component" .Chart.Name) -}}
{{- end -}}

{{/*
panda-lib.secretName: "<global.secretsRelease>-<suffix>", a Secret owned by the secrets release.
Argument: dict "ctx" <root context> "suffix" <string, e.g. "panda-envs">.
*/}}
{{- define "panda-lib.secretName" -}}
{{- $release := .ctx.Values.global.secretsRelease | required "global.secretsRelease is required (the secrets release name)" -}}
{{- printf "%s-%s" $release .suffix -}}
{{- end -}}

{{/*
panda-lib.checksum: sha256 of another rendered template of the same chart, for pod annotations
"checksum/<name>" so that a changed ConfigMap rolls exactly the pods that read it.
Argument: dict "ctx" <root context> "template" <file name under templates/, e.g. "configmap.yaml">.
*/}}
{{- define "panda-lib.checksum" -}}
{{- include (print .ctx.Template.BasePath "/" .template) .ctx | sha256sum -}}
{{- end -}}
