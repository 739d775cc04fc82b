//! Kubernetes' `$(VAR)` expansion of a container's `command`/`args` from its `env`, as the
//! kubelet does it: a known `$(X)` becomes its value, an unknown one stays literal, `$$` is a `$`
//! (so `$$(X)` reads `$(X)`); an env `value` is expanded from the variables defined before it; a
//! downward-API `fieldRef` to `metadata.namespace`/`metadata.name` reads the pod's own metadata.

use k8s_openapi::api::core::v1::Container;
use std::collections::BTreeMap;

/// The pod metadata a `fieldRef` may read; `name` is `None` for a workload's pod template (its
/// pods' names are not known from it).
pub(crate) struct PodMeta<'a> {
    pub(crate) namespace: &'a str,
    pub(crate) name: Option<&'a str>,
}

/// `input` with every `$(NAME)` that `lookup` knows replaced (Kubernetes' `expansion.Expand`).
pub(crate) fn expand(input: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let bytes = input.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' || i + 1 == bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match bytes[i + 1] {
            b'$' => {
                out.push(b'$');
                i += 2;
            }
            b'(' => match bytes[i + 2..].iter().position(|&b| b == b')') {
                Some(len) => {
                    let name = &input[i + 2..i + 2 + len];
                    match lookup(name) {
                        Some(value) => out.extend_from_slice(value.as_bytes()),
                        None => out.extend_from_slice(format!("$({name})").as_bytes()),
                    }
                    i += len + 3;
                }
                None => {
                    out.extend_from_slice(b"$(");
                    i += 2;
                }
            },
            other => {
                out.extend_from_slice(&[b'$', other]);
                i += 2;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The variables a container's `env` defines that can be known without reading other objects
/// (values, and `fieldRef`s to the pod's namespace and name).
pub(crate) fn environment(container: &Container, pod: &PodMeta) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    for var in container.env.iter().flatten() {
        let value = match (&var.value, &var.value_from) {
            (Some(v), _) if !v.is_empty() => Some(expand(v, |n| env.get(n).cloned())),
            (_, Some(from)) => from.field_ref.as_ref().and_then(|f| match f.field_path.as_str() {
                "metadata.namespace" => Some(pod.namespace.to_string()),
                "metadata.name" => pod.name.map(String::from),
                _ => None,
            }),
            _ => Some(String::new()),
        };
        match value {
            Some(v) => env.insert(var.name.clone(), v),
            None => env.remove(&var.name),
        };
    }
    env
}

/// The container's `command` then `args`, expanded as the kubelet starts them.
pub(crate) fn command_line(container: &Container, pod: &PodMeta) -> Vec<String> {
    let env = environment(container, pod);
    container
        .command
        .iter()
        .flatten()
        .chain(container.args.iter().flatten())
        .map(|a| expand(a, |n| env.get(n).cloned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn known(name: &str) -> Option<String> {
        (name == "NS").then(|| "ingress-nginx".to_string())
    }

    #[test]
    fn expands_as_the_kubelet_does() {
        assert_eq!(expand("--publish-service=$(NS)/ctl", known), "--publish-service=ingress-nginx/ctl");
        assert_eq!(expand("$(NS)$(NS)", known), "ingress-nginxingress-nginx");
        assert_eq!(expand("$(OTHER)/x", known), "$(OTHER)/x", "unknown stays literal");
        assert_eq!(expand("$$(NS)", known), "$(NS)", "$$ escapes");
        assert_eq!(expand("$$$(NS)", known), "$ingress-nginx");
        assert_eq!(expand("a$b $ $(NS", known), "a$b $ $(NS", "not a reference");
        assert_eq!(expand("end$", known), "end$");
        assert_eq!(expand("$()", known), "$()");
        assert_eq!(expand("é$(NS)ü", known), "éingress-nginxü");
    }

    #[test]
    fn env_from_values_and_the_downward_api() {
        let container: Container = serde_json::from_value(json!({
            "name": "controller",
            "command": ["/nginx-ingress-controller"],
            "args": ["--publish-service=$(POD_NAMESPACE)/ingress-nginx-controller",
                     "--configmap=$(POD_NAMESPACE)/$(CM)", "--election-id=$(POD_NAME)", "--x=$(FROM_SECRET)",
                     "--literal=$$(POD_NAMESPACE)"],
            "env": [
                {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "CM", "value": "$(POD_NAMESPACE)-controller"},
                {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
            ],
        }))
        .unwrap();
        let template = PodMeta { namespace: "ing", name: None };
        assert_eq!(
            command_line(&container, &template),
            [
                "/nginx-ingress-controller",
                "--publish-service=ing/ingress-nginx-controller",
                "--configmap=ing/ing-controller",
                "--election-id=$(POD_NAME)",
                "--x=$(FROM_SECRET)",
                "--literal=$(POD_NAMESPACE)",
            ]
        );
        let pod = PodMeta { namespace: "ing", name: Some("ctl-0") };
        assert_eq!(command_line(&container, &pod)[3], "--election-id=ctl-0");
    }
}
