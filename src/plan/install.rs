//! The install plan (and its `--template` and `secrets deploy` variants): the secrets release as
//! tier 0 when a secrets file is given, then the components in dependency tiers, each with its
//! values layered as documented in the README.

use super::{Action, Kind, Layer, Plan, Release, Set, Step, Tier, Upgrade, ValuesFile};
use crate::error::Result;
use crate::settings::catalog::Catalog;
use crate::settings::component::Component;
use crate::settings::helm_version::HelmVersion;
use crate::settings::instance::Instance;
use crate::settings::secrets_file::SecretsFile;
use crate::settings::selection::Selection;
use crate::settings::target::ClusterTarget;
use crate::settings::tiers::tiers;
use crate::settings::wait::Wait;

/// How releases are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    Install { wait: Wait, create_namespace: bool, rollback_on_failure: bool },
    Template,
}

/// Everything an install plan is made of.
#[derive(Debug, Clone)]
pub(crate) struct Request<'a> {
    pub(crate) instance: &'a Instance,
    pub(crate) selection: &'a Selection,
    pub(crate) target: &'a ClusterTarget,
    /// The secrets values file: deployed first as tier 0 (install), or only used for `cric.real`.
    pub(crate) secrets: Option<&'a SecretsFile>,
    /// Deploy the secrets release in this plan (`--secrets FILE` of install; `secrets deploy`).
    pub(crate) deploy_secrets: bool,
    /// `cric.real` of the secrets values: false = components mount the local CRIC JSON files.
    pub(crate) cric_real: bool,
    pub(crate) mode: Mode,
}

pub(crate) fn plan(req: &Request, catalog: &Catalog, helm: HelmVersion) -> Result<Plan> {
    let mut notes = vec![req.instance.describe()];
    let prepare = req
        .selection
        .components
        .iter()
        .map(|c| catalog.chart(*c))
        .filter(|info| info.needs_dependency_build)
        .map(|info| info.dir.clone())
        .collect();
    let mut plan_tiers = Vec::new();
    if let (true, Some(file)) = (req.deploy_secrets, req.secrets) {
        plan_tiers.push(Tier { number: 0, steps: vec![secrets_step(req, catalog, file)] });
    }
    for (i, tier) in tiers(&catalog.edges(), &req.selection.components)?.into_iter().enumerate() {
        let steps = tier
            .into_iter()
            .map(|c| {
                let (step, note) = component_step(req, catalog, c);
                notes.extend(note);
                step
            })
            .collect();
        plan_tiers.push(Tier { number: i + 1, steps });
    }
    let kind = if req.mode == Mode::Template { Kind::Template } else { Kind::Install };
    Ok(Plan {
        kind,
        helm,
        namespace: req.target.namespace.clone(),
        target: req.target.clone(),
        prepare,
        tiers: plan_tiers,
        notes,
    })
}

/// The plan of `secrets deploy`: the secrets release alone.
pub(crate) fn secrets_plan(req: &Request, catalog: &Catalog, helm: HelmVersion, file: &SecretsFile) -> Plan {
    Plan {
        kind: Kind::SecretsDeploy,
        helm,
        namespace: req.target.namespace.clone(),
        target: req.target.clone(),
        prepare: Vec::new(),
        tiers: vec![Tier { number: 0, steps: vec![secrets_step(req, catalog, file)] }],
        notes: vec![req.instance.describe()],
    }
}

fn action(req: &Request) -> Action {
    match &req.mode {
        Mode::Template => Action::Template,
        Mode::Install { wait, create_namespace, rollback_on_failure } => Action::Upgrade(Upgrade {
            wait: wait.clone(),
            create_namespace: *create_namespace,
            rollback_on_failure: *rollback_on_failure,
            force_conflicts: false,
            take_ownership: false,
        }),
    }
}

fn secrets_step(req: &Request, catalog: &Catalog, file: &SecretsFile) -> Step {
    let release = Release {
        component: None,
        name: req.instance.secrets_release(),
        chart: catalog.secrets_chart.clone(),
        values: vec![if file.is_encrypted() {
            ValuesFile::decrypted(file.path.clone())
        } else {
            ValuesFile::file(file.path.clone(), Layer::Secrets)
        }],
        sets: vec![Set::string("affix", req.instance.affix.as_str())],
        files: vec![],
    };
    Step { release, action: action(req) }
}

/// The values files of component `c`, layered in this order after the chart's own: per experiment
/// layer (a site experiment's base first) its experiment file and its `<c>.yaml`, then the
/// `--values` given for `c`; and a note when the experiment has no file for `c`.
pub(crate) fn component_values(
    selection: &Selection,
    catalog: &Catalog,
    c: Component,
) -> (Vec<ValuesFile>, Option<String>) {
    let mut values = Vec::new();
    let mut note = None;
    if let Some(experiment) = &selection.experiment {
        // a site experiment's base first (its experiment file, its component file), then its own
        let layers = catalog.experiments.get(experiment).map(|e| e.layers()).unwrap_or_default();
        for layer in layers {
            if let Some(path) = &layer.file {
                values.push(ValuesFile::file(path.clone(), Layer::ExperimentWide));
            }
            if let Some(path) = layer.values(c) {
                values.push(ValuesFile::file(path, Layer::Experiment));
            }
        }
        if catalog.experiment_values(experiment, c).is_empty() {
            note = Some(format!(
                "{c}: experiment {experiment} has no values/{experiment}/{c}.yaml; chart defaults apply"
            ))
        }
    }
    for (_, path) in selection.extra_values.iter().filter(|(comp, _)| *comp == c) {
        values.push(ValuesFile::file(path.clone(), Layer::User));
    }
    (values, note)
}

fn component_step(req: &Request, catalog: &Catalog, c: Component) -> (Step, Option<String>) {
    let (values, note) = component_values(req.selection, catalog, c);
    let mut sets = vec![
        Set::string("global.affix", req.instance.affix.as_str()),
        Set::string("global.secretsRelease", req.instance.secrets_release()),
        Set::typed("global.cric.real", req.cric_real),
    ];
    for sub in req.selection.disabled(c) {
        sets.push(Set::typed(&format!("{sub}.enabled"), false));
    }
    let release = Release {
        component: Some(c),
        name: req.instance.release(c),
        chart: catalog.chart(c).dir.clone(),
        values,
        sets,
        files: req.selection.site_files.get(&c).cloned().unwrap_or_default(),
    };
    (Step { release, action: action(req) }, note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{helm_args, text};
    use crate::settings::catalog::tests::test_catalog;
    use crate::settings::instance::AffixSource;
    use crate::settings::target::NamespaceSource;
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};
    use Component::*;

    fn catalog() -> Catalog {
        let mut c = test_catalog(Path::new(""));
        c.charts.get_mut(&Panda).unwrap().needs_dependency_build = true;
        c
    }

    fn selection(components: &[Component]) -> Selection {
        Selection {
            experiment: Some("lsst".into()),
            components: components.to_vec(),
            disabled_subcomponents: BTreeMap::from([(Panda, vec!["jedi".to_string()])]),
            extra_values: vec![(Panda, PathBuf::from("site.yaml"))],
            site_files: BTreeMap::from([(
                Panda,
                vec![crate::plan::SetFile {
                    key: "server.siteFiles.tnsnames".into(),
                    path: "values/lsst/files/panda/tnsnames.ora".into(),
                    sensitive: false,
                }],
            )]),
        }
    }

    fn target() -> ClusterTarget {
        ClusterTarget {
            namespace: "panda".into(),
            namespace_source: NamespaceSource::Flag,
            context: Some("ctx".into()),
            kubeconfig: None,
        }
    }

    fn instance(affix: &str) -> Instance {
        Instance { affix: crate::settings::affix::Affix::parse(affix).unwrap(), source: AffixSource::Flag }
    }

    fn build(mode: Mode, components: &[Component], helm: &str) -> Plan {
        let (i, s, t) = (instance("test-"), selection(components), target());
        let req = Request {
            instance: &i,
            selection: &s,
            target: &t,
            secrets: None,
            deploy_secrets: false,
            cric_real: false,
            mode,
        };
        plan(&req, &catalog(), HelmVersion::parse(helm).unwrap()).unwrap()
    }

    fn install() -> Mode {
        Mode::Install { wait: Wait::default(), create_namespace: false, rollback_on_failure: false }
    }

    fn args(p: &Plan, release: &str) -> String {
        let step = p.steps().find(|s| s.release.name == release).unwrap();
        helm_args::step(step, &p.target, p.helm).join(" ")
    }

    #[test]
    fn tiers_follow_the_graph_and_number_from_one() {
        let p = build(install(), &[Bigmon, Msgsvc, Panda], "v4.3.1");
        let tiers: Vec<(usize, Vec<&str>)> = p
            .tiers
            .iter()
            .map(|t| (t.number, t.steps.iter().map(|s| s.release.name.as_str()).collect()))
            .collect();
        assert_eq!(tiers, vec![(1, vec!["test-msgsvc"]), (2, vec!["test-panda"]), (3, vec!["test-bigmon"])]);
        assert_eq!(p.prepare, vec![PathBuf::from("helm/panda")]);
    }

    #[test]
    fn values_layer_in_order_then_sets() {
        let p = build(install(), &[Panda], "v4.3.1");
        assert_eq!(
            args(&p, "test-panda"),
            "upgrade --install test-panda helm/panda --namespace panda --kube-context ctx -f values/lsst/panda.yaml \
             -f site.yaml --set-file server.siteFiles.tnsnames=values/lsst/files/panda/tnsnames.ora \
             --set-string global.affix=test- --set-string global.secretsRelease=test-secrets \
             --set global.cric.real=false --set jedi.enabled=false --wait=watcher --timeout 10m"
        );
    }

    #[test]
    fn helm_3_flags_and_rollback() {
        let mode = Mode::Install { wait: Wait::default(), create_namespace: true, rollback_on_failure: true };
        let p = build(mode, &[Msgsvc], "v3.22.0");
        let a = args(&p, "test-msgsvc");
        assert!(a.contains("--create-namespace") && a.ends_with("--wait --timeout 10m --atomic"), "{a}");
    }

    #[test]
    fn template_has_no_cluster_flags() {
        let p = build(Mode::Template, &[Msgsvc], "v4.3.1");
        assert_eq!(p.kind, Kind::Template);
        let a = args(&p, "test-msgsvc");
        assert!(
            a.starts_with("template test-msgsvc helm/msgsvc --namespace panda -f values/lsst/msgsvc.yaml"),
            "{a}"
        );
        assert!(!a.contains("kube-context") && !a.contains("--wait"), "{a}");
    }

    #[test]
    fn the_printed_plan_is_shell_quoted_and_notes_missing_files() {
        let p = build(install(), &[Harvester], "v4.3.1");
        let out = text::render(&p, "/opt/my helm");
        assert!(out.contains("'/opt/my helm' upgrade --install test-harvester"), "{out}");
        assert!(out.contains("# harvester: experiment lsst has no values/lsst/harvester.yaml"), "{out}");
        assert!(out.starts_with("# affix \"test-\" (from --affix)"), "{out}");
    }

    #[test]
    fn secrets_tier_zero_with_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        std::fs::write(&path, "affix: test-\n").unwrap();
        let file = SecretsFile::load(&path).unwrap();
        let (i, s, t) = (instance("test-"), selection(&[Msgsvc]), target());
        let req = Request {
            instance: &i,
            selection: &s,
            target: &t,
            secrets: Some(&file),
            deploy_secrets: true,
            cric_real: true,
            mode: install(),
        };
        let p = plan(&req, &catalog(), HelmVersion::ASSUMED).unwrap();
        assert_eq!(p.tiers[0].number, 0);
        let a = args(&p, "test-secrets");
        assert!(
            a.contains(&format!("secrets --namespace panda --kube-context ctx -f {}", path.display())),
            "{a}"
        );
        assert!(a.contains("--set-string affix=test-"), "{a}");
        let only = secrets_plan(&req, &catalog(), HelmVersion::ASSUMED, &file);
        assert_eq!(only.steps().count(), 1);
        assert_eq!(only.kind, Kind::SecretsDeploy);
        assert!(p.steps().all(|s| s.release.stdin_values().is_none()));
    }

    #[test]
    fn an_encrypted_secrets_file_reaches_helm_on_stdin_and_the_plan_says_so() {
        let path = PathBuf::from("private/secrets.enc.yaml");
        let file =
            SecretsFile::from_decrypted(&path, "affix: test-\nmsgsvc:\n  basePassword: CANARY\n".into())
                .unwrap();
        let (i, s, t) = (instance("test-"), selection(&[Msgsvc]), target());
        let req = Request {
            instance: &i,
            selection: &s,
            target: &t,
            secrets: Some(&file),
            deploy_secrets: true,
            cric_real: true,
            mode: install(),
        };
        let p = plan(&req, &catalog(), HelmVersion::ASSUMED).unwrap();
        let a = args(&p, "test-secrets");
        assert!(a.contains("--kube-context ctx -f - --set-string affix=test-"), "{a}");
        assert!(!a.contains("secrets.enc.yaml"), "{a}");
        assert_eq!(p.tiers[0].steps[0].release.stdin_values().unwrap().path, path);
        assert!(args(&p, "test-msgsvc").contains("-f values/lsst/msgsvc.yaml"), "others keep their paths");
        let out = text::render(&p, "helm");
        assert!(
            out.contains(
                "# test-secrets: values from private/secrets.enc.yaml (sops-encrypted), decrypted in memory"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "\nsops decrypt --input-type yaml --output-type yaml private/secrets.enc.yaml | helm upgrade --install test-secrets"
            ),
            "{out}"
        );
        let doc = crate::output::documents::PlanDocument::new("plan", &p, "helm");
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(json["tiers"][0]["releases"][0]["stdin"], "private/secrets.enc.yaml");
        assert!(json["tiers"][1]["releases"][0].get("stdin").is_none());
        assert!(!json.to_string().contains("CANARY") && !out.contains("CANARY"));
    }
}
