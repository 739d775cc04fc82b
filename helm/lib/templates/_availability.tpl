{{/*
Objects that keep a workload reachable and available: the headless Service that governs a
StatefulSet (its pods' DNS names) and a PodDisruptionBudget for workloads with several replicas.
*/}}

{{/*
panda-lib.headlessService: a "---" Service "<fullname>-headless" (clusterIP None, not-ready pods
published, so the pods' DNS names exist from the start), the serviceName of the StatefulSet.
Argument: dict "ctx" <root context> "ports" <list of {name, port}> (target port = the name).
*/}}
{{- define "panda-lib.headlessService" -}}
---
# Headless Service governing the StatefulSet (its serviceName).
apiVersion: v1
kind: Service
metadata:
  name: {{ include "panda-lib.fullname" .ctx }}-headless
  labels:
    {{- include "panda-lib.labels" .ctx | nindent 4 }}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector:
    {{- include "panda-lib.selectorLabels" .ctx | nindent 4 }}
  ports:
    {{- range .ports }}
    - name: {{ .name }}
      port: {{ .port }}
      targetPort: {{ .name }}
      protocol: TCP
    {{- end }}
{{- end -}}

{{/*
panda-lib.pdb: a "---" PodDisruptionBudget "<fullname>" allowing one voluntary disruption at a time
(drains, node upgrades) when the workload runs more than one replica; nothing for a single replica,
which a budget would only block from ever being drained.
Argument: the root context (reads .Values.replicaCount).
*/}}
{{- define "panda-lib.pdb" -}}
{{- if gt (int (.Values.replicaCount | default 1)) 1 }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "panda-lib.fullname" . }}
  labels:
    {{- include "panda-lib.labels" . | nindent 4 }}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      {{- include "panda-lib.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end -}}
