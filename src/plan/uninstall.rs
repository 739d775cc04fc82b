//! The uninstall plan: the selected releases that exist, in reverse tier order, each tier gone
//! before the next; the secrets release last when asked for.

use super::{Action, Kind, Plan, Release, Step, Tier};
use crate::error::Result;
use crate::settings::catalog::Catalog;
use crate::settings::component::Component;
use crate::settings::helm_version::HelmVersion;
use crate::settings::instance::Instance;
use crate::settings::target::ClusterTarget;
use crate::settings::tiers::tiers;
use crate::settings::wait::Wait;

pub(crate) struct Request<'a> {
    pub(crate) instance: &'a Instance,
    pub(crate) components: &'a [Component],
    pub(crate) with_secrets: bool,
    pub(crate) wait: &'a Wait,
    pub(crate) target: &'a ClusterTarget,
    /// Names of the releases that exist in the namespace now.
    pub(crate) present: &'a [String],
}

pub(crate) fn plan(req: &Request, catalog: &Catalog, helm: HelmVersion) -> Result<Plan> {
    let mut groups: Vec<Vec<(Option<Component>, String)>> = tiers(&catalog.edges(), req.components)?
        .into_iter()
        .rev()
        .map(|t| t.into_iter().map(|c| (Some(c), req.instance.release(c))).collect())
        .collect();
    if req.with_secrets {
        groups.push(vec![(None, req.instance.secrets_release())]);
    }
    let mut notes = vec![req.instance.describe()];
    let mut plan_tiers = Vec::new();
    for group in groups {
        let mut steps = Vec::new();
        for (component, name) in group {
            if !req.present.contains(&name) {
                notes.push(format!("{name} is not installed; nothing to uninstall"));
                continue;
            }
            let chart =
                component.map_or_else(|| catalog.secrets_chart.clone(), |c| catalog.chart(c).dir.clone());
            let release = Release { component, name, chart, values: vec![], sets: vec![], files: vec![] };
            steps.push(Step { release, action: Action::Uninstall(req.wait.clone()) });
        }
        if !steps.is_empty() {
            plan_tiers.push(Tier { number: plan_tiers.len() + 1, steps });
        }
    }
    Ok(Plan {
        kind: Kind::Uninstall,
        helm,
        namespace: req.target.namespace.clone(),
        target: req.target.clone(),
        prepare: vec![],
        tiers: plan_tiers,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::helm_args;
    use crate::settings::affix::Affix;
    use crate::settings::catalog::tests::test_catalog;
    use crate::settings::instance::AffixSource;
    use crate::settings::target::NamespaceSource;
    use Component::*;

    #[test]
    fn reverse_tiers_present_only_secrets_last() {
        let instance = Instance { affix: Affix::parse("x-").unwrap(), source: AffixSource::Flag };
        let target = ClusterTarget {
            namespace: "ns".into(),
            namespace_source: NamespaceSource::Flag,
            context: None,
            kubeconfig: None,
        };
        let present: Vec<String> =
            ["x-msgsvc", "x-panda", "x-bigmon", "x-secrets"].map(String::from).to_vec();
        let req = Request {
            instance: &instance,
            components: &Component::ALL,
            with_secrets: true,
            wait: &Wait::default(),
            target: &target,
            present: &present,
        };
        let p = plan(&req, &test_catalog(std::path::Path::new("")), HelmVersion::ASSUMED).unwrap();
        let order: Vec<Vec<&str>> =
            p.tiers.iter().map(|t| t.steps.iter().map(|s| s.release.name.as_str()).collect()).collect();
        assert_eq!(order, vec![vec!["x-bigmon"], vec!["x-panda"], vec!["x-msgsvc"], vec!["x-secrets"]]);
        assert!(p.notes.iter().any(|n| n.contains("x-iam is not installed")));
        let args = helm_args::step(&p.tiers[0].steps[0], &p.target, p.helm).join(" ");
        assert_eq!(args, "uninstall x-bigmon --namespace ns --wait=watcher --timeout 10m");
        let _ = (Iam, Msgsvc);
    }
}
