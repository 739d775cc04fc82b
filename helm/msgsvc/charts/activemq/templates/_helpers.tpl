{{/* Values computed for the broker from resources and volume sizes. */}}

{{/* activemq.maxHeapMiB: -Xmx in MiB (jvm.maxHeapMiB, or heapPercentOfLimit of the memory limit). */}}
{{- define "activemq.maxHeapMiB" -}}
{{- if .Values.jvm.maxHeapMiB -}}
{{- .Values.jvm.maxHeapMiB | int -}}
{{- else -}}
{{- $limit := include "panda-lib.memoryMiB" .Values.resources.limits.memory | int -}}
{{- div (mul $limit (.Values.jvm.heapPercentOfLimit | int)) 100 -}}
{{- end -}}
{{- end -}}

{{/* activemq.storeLimitMiB: KahaDB store limit, a share of the data volume when its size is known. */}}
{{- define "activemq.storeLimitMiB" -}}
{{- if and (eq .Values.data.type "claim") .Values.data.size -}}
{{- $size := include "panda-lib.memoryMiB" .Values.data.size | int -}}
{{- div (mul $size (.Values.broker.storePercentOfVolume | int)) 100 -}}
{{- else -}}
{{- .Values.broker.storeLimitMiB | int -}}
{{- end -}}
{{- end -}}
