//! Which cluster and namespace: resolved once, the way helm resolves them (`-n`, then
//! `$HELM_NAMESPACE`, then the kubeconfig context's namespace, then (in a pod without a
//! kubeconfig) its ServiceAccount's namespace, then `default`; `--kube-context`,
//! then `$HELM_KUBECONTEXT`, then the current context), and then passed explicitly to helm and
//! used by the lock, the preflight and every API read, so that all of them act on one namespace.

use crate::cli::args::ClusterArgs;
use crate::error::{Error, Result};
use kube::config::Kubeconfig;
use std::path::PathBuf;

/// Where the namespace came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NamespaceSource {
    Flag,
    HelmNamespaceEnv,
    Kubeconfig,
    /// No kubeconfig, in a pod: its ServiceAccount's namespace (as helm and kube read it).
    Pod,
    Default,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClusterTarget {
    pub(crate) namespace: String,
    pub(crate) namespace_source: NamespaceSource,
    /// The context to use, when one was named (flag or `$HELM_KUBECONTEXT`); else the current one.
    pub(crate) context: Option<String>,
    /// `--kubeconfig`, when given (else helm and the API client read `$KUBECONFIG` themselves).
    pub(crate) kubeconfig: Option<PathBuf>,
}

/// The environment variables the resolution reads, injectable for tests.
pub(crate) trait Env {
    fn var(&self, name: &str) -> Option<String>;
    /// In a pod (`KUBERNETES_SERVICE_HOST` set): the namespace of its ServiceAccount.
    fn pod_namespace(&self) -> Option<String>;
}

/// Where the kubelet mounts a pod's ServiceAccount namespace (fixed; kube and client-go read it).
const POD_NAMESPACE_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// The process environment.
pub(crate) struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }

    fn pod_namespace(&self) -> Option<String> {
        self.var("KUBERNETES_SERVICE_HOST")?;
        let ns = std::fs::read_to_string(POD_NAMESPACE_FILE).ok()?;
        Some(ns.trim().to_string()).filter(|n| !n.is_empty())
    }
}

impl ClusterTarget {
    pub(crate) fn resolve(args: &ClusterArgs, env: &dyn Env) -> Result<ClusterTarget> {
        let context = args.kube_context.clone().or_else(|| env.var("HELM_KUBECONTEXT"));
        let (namespace, namespace_source) = if let Some(ns) = &args.namespace {
            (ns.clone(), NamespaceSource::Flag)
        } else if let Some(ns) = env.var("HELM_NAMESPACE") {
            (ns, NamespaceSource::HelmNamespaceEnv)
        } else {
            match read_kubeconfig(args, env)? {
                Some(kc) => match context_namespace(&kc, context.as_deref()) {
                    Some(ns) => (ns, NamespaceSource::Kubeconfig),
                    None => ("default".to_string(), NamespaceSource::Default),
                },
                None => match env.pod_namespace() {
                    Some(ns) => (ns, NamespaceSource::Pod),
                    None => ("default".to_string(), NamespaceSource::Default),
                },
            }
        };
        check_dns_label(&namespace).map_err(|m| {
            let from = match namespace_source {
                NamespaceSource::Flag => "-n",
                NamespaceSource::HelmNamespaceEnv => "$HELM_NAMESPACE",
                NamespaceSource::Kubeconfig => "the kubeconfig context",
                NamespaceSource::Pod => "the pod's ServiceAccount",
                NamespaceSource::Default => "the default",
            };
            Error::usage(format!("namespace {namespace:?} (from {from}): {m}"))
        })?;
        Ok(ClusterTarget { namespace, namespace_source, context, kubeconfig: args.kubeconfig.clone() })
    }
}

/// The kubeconfig helm would read: `--kubeconfig`, else `$KUBECONFIG` (several files merged),
/// else `~/.kube/config`. `None` when none exists at all; an unreadable one stops the run.
fn read_kubeconfig(args: &ClusterArgs, env: &dyn Env) -> Result<Option<Kubeconfig>> {
    let paths: Vec<PathBuf> = if let Some(p) = &args.kubeconfig {
        vec![p.clone()]
    } else if let Some(list) = env.var("KUBECONFIG") {
        std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()).collect()
    } else {
        match env.var("HOME") {
            Some(home) => {
                let default = PathBuf::from(home).join(".kube").join("config");
                if !default.exists() {
                    return Ok(None);
                }
                vec![default]
            }
            None => return Ok(None),
        }
    };
    let mut merged: Option<Kubeconfig> = None;
    for path in paths {
        if args.kubeconfig.is_none() && !path.exists() {
            continue; // kubectl and helm skip missing entries of $KUBECONFIG
        }
        let kc = Kubeconfig::read_from(&path).map_err(|e| {
            Error::data(&path, format!("cannot read kubeconfig to resolve the namespace: {e} (or pass -n)"))
        })?;
        merged = Some(match merged {
            None => kc,
            Some(m) => {
                m.merge(kc).map_err(|e| Error::data(&path, format!("cannot merge kubeconfig: {e}")))?
            }
        });
    }
    Ok(merged)
}

fn context_namespace(kc: &Kubeconfig, context: Option<&str>) -> Option<String> {
    let name = context.map(String::from).or_else(|| kc.current_context.clone())?;
    kc.contexts.iter().find(|c| c.name == name)?.context.as_ref()?.namespace.clone()
}

/// RFC 1123 label: what Kubernetes requires of namespace names.
pub(crate) fn check_dns_label(name: &str) -> std::result::Result<(), String> {
    let ok_chars = name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let ok_ends = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if name.is_empty() || name.len() > 63 || !ok_chars || !ok_ends {
        return Err("must be a DNS-1123 label: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct FakeEnv(BTreeMap<&'static str, String>);
    impl Env for FakeEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).cloned()
        }
        fn pod_namespace(&self) -> Option<String> {
            self.var("KUBERNETES_SERVICE_HOST").and(self.var("pod namespace file"))
        }
    }

    const KUBECONFIG: &str = "apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters: []\nusers: []\n\
        contexts:\n- name: a\n  context: {cluster: c, user: u, namespace: from-context}\n\
        - name: b\n  context: {cluster: c, user: u}\n";

    fn setup() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, KUBECONFIG).unwrap();
        let p = path.display().to_string();
        (dir, p)
    }

    fn resolve(ns: Option<&str>, ctx: Option<&str>, env: &[(&'static str, &str)]) -> Result<ClusterTarget> {
        let args = ClusterArgs {
            namespace: ns.map(String::from),
            kube_context: ctx.map(String::from),
            kubeconfig: None,
        };
        ClusterTarget::resolve(&args, &FakeEnv(env.iter().map(|(k, v)| (*k, v.to_string())).collect()))
    }

    #[test]
    fn namespace_follows_helms_order() {
        let (_d, kc) = setup();
        let t = resolve(Some("flag-ns"), None, &[("HELM_NAMESPACE", "env-ns"), ("KUBECONFIG", &kc)]).unwrap();
        assert_eq!((t.namespace.as_str(), t.namespace_source), ("flag-ns", NamespaceSource::Flag));
        let t = resolve(None, None, &[("HELM_NAMESPACE", "env-ns"), ("KUBECONFIG", &kc)]).unwrap();
        assert_eq!((t.namespace.as_str(), t.namespace_source), ("env-ns", NamespaceSource::HelmNamespaceEnv));
        let t = resolve(None, None, &[("KUBECONFIG", &kc)]).unwrap();
        assert_eq!((t.namespace.as_str(), t.namespace_source), ("from-context", NamespaceSource::Kubeconfig));
        let t = resolve(None, Some("b"), &[("KUBECONFIG", &kc)]).unwrap();
        assert_eq!((t.namespace.as_str(), t.namespace_source), ("default", NamespaceSource::Default));
        let t = resolve(None, None, &[("HELM_KUBECONTEXT", "b"), ("KUBECONFIG", &kc)]).unwrap();
        assert_eq!((t.namespace.as_str(), t.context.as_deref()), ("default", Some("b")));
        let t = resolve(None, None, &[]).unwrap();
        assert_eq!(t.namespace, "default");
        // in a pod without a kubeconfig: the ServiceAccount's namespace; a kubeconfig still wins
        let pod = [("KUBERNETES_SERVICE_HOST", "10.0.0.1"), ("pod namespace file", "ci-ns")];
        let t = resolve(None, None, &pod).unwrap();
        assert_eq!((t.namespace.as_str(), t.namespace_source), ("ci-ns", NamespaceSource::Pod));
        let t = resolve(None, None, &[pod[0], pod[1], ("KUBECONFIG", &kc)]).unwrap();
        assert_eq!(t.namespace, "from-context");
    }

    #[test]
    fn bad_names_and_unreadable_kubeconfigs_stop_the_run() {
        assert_eq!(resolve(Some("Bad_NS"), None, &[]).unwrap_err().exit_code(), crate::exit_code::USAGE);
        let err = resolve(None, None, &[("HELM_NAMESPACE", "x_y")]).unwrap_err().to_string();
        assert!(err.contains("$HELM_NAMESPACE"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let broken = dir.path().join("broken");
        std::fs::write(&broken, "contexts: [\n").unwrap();
        let err = resolve(None, None, &[("KUBECONFIG", &broken.display().to_string())]).unwrap_err();
        assert_eq!(err.exit_code(), crate::exit_code::DATA);
        // a missing entry of $KUBECONFIG is skipped, as kubectl does
        assert_eq!(
            resolve(None, None, &[("KUBECONFIG", "/nonexistent/config")]).unwrap().namespace,
            "default"
        );
    }
}
