//! The planner: validated settings + catalog + helm version -> ordered helm invocations in tiers.
//! Pure data in, pure data out; nothing here touches the filesystem, a process or the cluster.

use crate::catalog::Catalog;
use crate::component::Component;
use crate::error::Result;
use crate::helm::HelmVersion;
use crate::settings::{AffixSource, Mode, Settings};
use crate::shell;
use crate::tiers::tiers;
use std::path::Path;

/// One helm command: its arguments after the program name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub args: Vec<String>,
}

/// One release of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// `None` for the secrets release.
    pub component: Option<Component>,
    pub release: String,
    pub invocation: Invocation,
    /// For installs: how to tell whether an upgrade would change anything.
    pub probe: Option<Probe>,
}

/// `helm template` of a release and `helm get manifest` of its deployed revision: when both give
/// the same objects, the upgrade would change nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub render: Invocation,
    pub deployed: Invocation,
}

/// Releases that may run at the same time; a tier starts when the previous one is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub mode: Mode,
    pub helm: HelmVersion,
    /// Commands that prepare charts locally (dependency builds); they never touch the cluster.
    pub prepare: Vec<Invocation>,
    pub tiers: Vec<Tier>,
    /// What a reader of the plan should know: where the affix came from, missing experiment files.
    pub notes: Vec<String>,
}

impl Plan {
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.tiers.iter().flat_map(|t| t.steps.iter())
    }

    /// The number a tier is shown with: the secrets tier is 0, component tiers count from 1.
    pub fn tier_number(&self, index: usize) -> usize {
        let secrets_first = self.tiers.first().is_some_and(|t| t.steps.iter().any(|s| s.component.is_none()));
        index + usize::from(!secrets_first)
    }

    /// The plan as a shell script: comments, then one copy-pasteable command per line.
    pub fn render(&self, helm_program: &str) -> String {
        let mut out = String::new();
        for note in &self.notes {
            out.push_str(&format!("# {note}\n"));
        }
        if !self.prepare.is_empty() {
            out.push_str("# prepare: pack local chart dependencies (no cluster access)\n");
            for inv in &self.prepare {
                out.push_str(&command_line(helm_program, inv));
            }
        }
        for (i, tier) in self.tiers.iter().enumerate() {
            let names: Vec<&str> = tier.steps.iter().map(|s| s.release.as_str()).collect();
            out.push_str(&format!("# tier {}: {}\n", self.tier_number(i), names.join(", ")));
            for step in &tier.steps {
                out.push_str(&command_line(helm_program, &step.invocation));
            }
        }
        out
    }
}


fn command_line(helm_program: &str, inv: &Invocation) -> String {
    let mut words = vec![helm_program.to_string()];
    words.extend(inv.args.iter().cloned());
    format!("{}\n", shell::join(&words))
}

/// Builds the plan. `helm` decides the flags that differ between helm 3 and 4.
pub fn plan(settings: &Settings, catalog: &Catalog, helm: HelmVersion) -> Result<Plan> {
    let mut notes = vec![describe_affix(settings)];
    let prepare = settings
        .components
        .iter()
        .map(|c| catalog.chart(*c))
        .filter(|info| info.needs_dependency_build)
        .map(|info| Invocation { args: vec!["dependency".into(), "build".into(), path_arg(&info.dir)] })
        .collect();

    let mut plan_tiers = Vec::new();
    if let Some(file) = &settings.secrets_values {
        let values = vec!["-f".into(), path_arg(file), "--set-string".into(), format!("affix={}", settings.affix)];
        let step = release_step(settings, helm, None, settings.secrets_release(), &catalog.secrets_chart, values);
        plan_tiers.push(Tier { steps: vec![step] });
    }
    for tier in tiers(&catalog.edges(), &settings.components)? {
        let steps = tier
            .into_iter()
            .map(|c| {
                let (step, note) = component_step(settings, catalog, helm, c);
                notes.extend(note);
                step
            })
            .collect();
        plan_tiers.push(Tier { steps });
    }
    Ok(Plan { mode: settings.mode, helm, prepare, tiers: plan_tiers, notes })
}

/// The uninstall plan: the releases that exist, in reverse tier order (the secrets release last
/// when asked for), each `helm uninstall --wait`.
pub fn uninstall_plan(settings: &Settings, catalog: &Catalog, helm: HelmVersion, present: &[String], with_secrets: bool) -> Result<Plan> {
    let mut plan_tiers: Vec<Tier> = Vec::new();
    let mut releases: Vec<Vec<(Option<Component>, String)>> = tiers(&catalog.edges(), &settings.components)?
        .into_iter()
        .rev()
        .map(|t| t.into_iter().map(|c| (Some(c), settings.release(c))).collect())
        .collect();
    if with_secrets {
        releases.push(vec![(None, settings.secrets_release())]);
    }
    let mut notes = Vec::new();
    for tier in releases {
        let mut steps = Vec::new();
        for (component, release) in tier {
            if !present.contains(&release) {
                notes.push(format!("{release} is not installed; nothing to uninstall"));
                continue;
            }
            let mut args = vec!["uninstall".to_string(), release.clone()];
            args.extend(cluster_selection(settings));
            if settings.wait {
                args.extend(helm.wait_flags());
            }
            args.extend(["--timeout".into(), settings.timeout.clone()]);
            steps.push(Step { component, release, invocation: Invocation { args }, probe: None });
        }
        if !steps.is_empty() {
            plan_tiers.push(Tier { steps });
        }
    }
    Ok(Plan { mode: Mode::Uninstall, helm, prepare: Vec::new(), tiers: plan_tiers, notes })
}

/// A release's step: the command for this run's mode, and for installs its `helm template` twin.
fn release_step(settings: &Settings, helm: HelmVersion, component: Option<Component>, release: String, chart: &Path, values: Vec<String>) -> Step {
    let mut args = release_head(settings, &release, chart);
    args.extend(values.iter().cloned());
    args.extend(release_tail(settings, helm));
    let probe = (settings.mode == Mode::Install && !settings.force_upgrade).then(|| {
        let template = Settings { mode: Mode::Template, ..settings.clone() };
        let mut render = release_head(&template, &release, chart);
        render.extend(values);
        let mut deployed = vec!["get".to_string(), "manifest".to_string(), release.clone()];
        deployed.extend(cluster_selection(settings));
        Probe { render: Invocation { args: render }, deployed: Invocation { args: deployed } }
    });
    Step { component, release, invocation: Invocation { args }, probe }
}

fn component_step(settings: &Settings, catalog: &Catalog, helm: HelmVersion, c: Component) -> (Step, Option<String>) {
    let release = settings.release(c);
    let mut args = Vec::new();
    let mut note = None;
    if let Some(experiment) = &settings.experiment {
        match catalog.experiment_values(experiment, c) {
            Some(file) => args.extend(["-f".into(), path_arg(&file)]),
            None => note = Some(format!("{c}: experiment {experiment} has no values/{experiment}/{c}.yaml; chart defaults apply")),
        }
    }
    for (_, file) in settings.extra_values.iter().filter(|(comp, _)| *comp == c) {
        args.extend(["-f".into(), path_arg(file)]);
    }
    args.extend(["--set-string".into(), format!("global.affix={}", settings.affix)]);
    args.extend(["--set-string".into(), format!("global.secretsRelease={}", settings.secrets_release())]);
    args.extend(["--set".into(), format!("global.cric.real={}", settings.cric_real)]);
    for sub in settings.disabled_subcomponents.get(&c).into_iter().flatten() {
        args.extend(["--set".into(), format!("{sub}.enabled=false")]);
    }
    (release_step(settings, helm, Some(c), release, &catalog.chart(c).dir, args), note)
}

/// `upgrade --install REL CHART` or `template REL CHART`, then namespace and cluster selection.
fn release_head(settings: &Settings, release: &str, chart: &Path) -> Vec<String> {
    let mut args: Vec<String> = match settings.mode {
        Mode::Template => vec!["template".into()],
        Mode::Install | Mode::Plan | Mode::Uninstall => vec!["upgrade".into(), "--install".into()],
    };
    args.extend([release.to_string(), path_arg(chart)]);
    if let Some(ns) = &settings.namespace {
        args.extend(["--namespace".into(), ns.clone()]);
    }
    if settings.mode != Mode::Template {
        if settings.create_namespace {
            args.push("--create-namespace".into());
        }
        args.extend(kube_flags(settings));
    }
    args
}

/// `--namespace`, `--kube-context` and `--kubeconfig`, as given.
pub fn cluster_selection(settings: &Settings) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(ns) = &settings.namespace {
        args.extend(["--namespace".into(), ns.clone()]);
    }
    args.extend(kube_flags(settings));
    args
}

/// `--kube-context` and `--kubeconfig`, as given.
fn kube_flags(settings: &Settings) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(ctx) = &settings.kube_context {
        args.extend(["--kube-context".into(), ctx.clone()]);
    }
    if let Some(cfg) = &settings.kubeconfig {
        args.extend(["--kubeconfig".into(), path_arg(cfg)]);
    }
    args
}

/// Wait, timeout and rollback flags of install/upgrade; nothing for template.
fn release_tail(settings: &Settings, helm: HelmVersion) -> Vec<String> {
    if settings.mode == Mode::Template {
        return Vec::new();
    }
    let mut args = Vec::new();
    if settings.wait || settings.rollback_on_failure {
        args.extend(helm.wait_flags());
    }
    args.extend(["--timeout".into(), settings.timeout.clone()]);
    if settings.rollback_on_failure {
        args.push(helm.rollback_on_failure_flag().into());
    }
    args
}

fn describe_affix(settings: &Settings) -> String {
    let source = match &settings.affix_source {
        AffixSource::Flag => "from --affix".to_string(),
        AffixSource::File(f) => format!("from {}", f.display()),
        AffixSource::Default => "the default".to_string(),
    };
    format!("affix {:?} ({source}); secrets release {}", settings.affix.as_str(), settings.secrets_release())
}

fn path_arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::affix::Affix;
    use crate::catalog::ChartInfo;
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::PathBuf;
    use Component::*;

    fn catalog() -> Catalog {
        let charts = crate::tiers::seed_edges()
            .into_iter()
            .map(|(c, deps)| {
                let info = ChartInfo {
                    dir: PathBuf::from("helm").join(c.name()),
                    subcomponents: vec![],
                    depends_on: deps,
                    local_dependencies: vec!["panda-lib".into()],
                    needs_dependency_build: c == Panda,
                };
                (c, info)
            })
            .collect();
        Catalog {
            root: PathBuf::new(),
            charts,
            secrets_chart: PathBuf::from("secrets"),
            experiments: BTreeMap::from([("lsst".into(), BTreeSet::from([Msgsvc, Panda]))]),
        }
    }

    fn settings() -> Settings {
        Settings {
            mode: Mode::Plan,
            affix: Affix::parse("test-").unwrap(),
            affix_source: AffixSource::Default,
            cric_real: true,
            experiment: None,
            components: Component::ALL.to_vec(),
            disabled_subcomponents: BTreeMap::new(),
            namespace: Some("panda".into()),
            create_namespace: false,
            kube_context: None,
            kubeconfig: None,
            helm: None,
            timeout: "10m".into(),
            extra_values: vec![],
            secrets_values: None,
            wait: true,
            concurrency: None,
            rollback_on_failure: false,
            force_upgrade: false,
            recover: false,
            output: crate::cli::OutputFormat::Text,
        }
    }

    const V4: HelmVersion = HelmVersion { major: 4, minor: 3, patch: 1 };
    const V3: HelmVersion = HelmVersion { major: 3, minor: 22, patch: 0 };

    fn args_of<'a>(plan: &'a Plan, release: &str) -> &'a [String] {
        &plan.steps().find(|s| s.release == release).unwrap().invocation.args
    }

    #[test]
    fn panda_and_msgsvc_with_lsst() {
        let s = Settings { components: vec![Msgsvc, Panda], experiment: Some("lsst".into()), ..settings() };
        let p = plan(&s, &catalog(), V4).unwrap();
        let names: Vec<Vec<&str>> = p.tiers.iter().map(|t| t.steps.iter().map(|s| s.release.as_str()).collect()).collect();
        assert_eq!(names, vec![vec!["test-msgsvc"], vec!["test-panda"]]);
        let text = p.render("helm");
        assert!(text.contains("# tier 1: test-msgsvc\nhelm upgrade --install test-msgsvc helm/msgsvc --namespace panda -f values/lsst/msgsvc.yaml"), "{text}");
        assert!(text.contains("# tier 2: test-panda\nhelm upgrade --install test-panda helm/panda"), "{text}");
        assert!(text.contains("helm dependency build helm/panda\n"), "{text}");
    }

    #[test]
    fn values_layer_in_order_experiment_then_extra() {
        let s = Settings {
            experiment: Some("lsst".into()),
            extra_values: vec![(Panda, PathBuf::from("site.yaml")), (Panda, PathBuf::from("me.yaml")), (Idds, PathBuf::from("x.yaml"))],
            ..settings()
        };
        let p = plan(&s, &catalog(), V4).unwrap();
        let args = args_of(&p, "test-panda").join(" ");
        let exp = args.find("values/lsst/panda.yaml").unwrap();
        let site = args.find("site.yaml").unwrap();
        let me = args.find("me.yaml").unwrap();
        assert!(exp < site && site < me, "{args}");
        assert!(!args.contains("x.yaml"));
        // idds has no lsst file: the plan says so
        assert!(p.notes.iter().any(|n| n.contains("idds") && n.contains("values/lsst/idds.yaml")), "{:?}", p.notes);
    }

    #[test]
    fn names_follow_the_affix() {
        for (affix, release, secrets) in [("", "panda", "secrets"), ("blah-", "blah-panda", "blah-secrets"), ("-blah", "panda-blah", "secrets-blah")] {
            let s = Settings { affix: Affix::parse(affix).unwrap(), ..settings() };
            let p = plan(&s, &catalog(), V4).unwrap();
            let args = args_of(&p, release);
            assert!(args.contains(&format!("global.affix={affix}")));
            assert!(args.contains(&format!("global.secretsRelease={secrets}")));
            assert!(args.contains(&"global.cric.real=true".to_string()));
        }
    }

    #[test]
    fn disabled_subcomponents_become_values() {
        let s = Settings { disabled_subcomponents: BTreeMap::from([(Panda, vec!["jedi".to_string()])]), ..settings() };
        let p = plan(&s, &catalog(), V4).unwrap();
        let args = args_of(&p, "test-panda");
        let i = args.iter().position(|a| a == "jedi.enabled=false").unwrap();
        assert_eq!(args[i - 1], "--set");
        assert!(!args_of(&p, "test-idds").iter().any(|a| a.contains("enabled=false")));
    }

    #[test]
    fn helm3_and_helm4_flags() {
        let s = Settings { rollback_on_failure: true, ..settings() };
        let v4 = plan(&s, &catalog(), V4).unwrap();
        let v3 = plan(&s, &catalog(), V3).unwrap();
        assert!(args_of(&v4, "test-iam").contains(&"--rollback-on-failure".to_string()));
        assert!(args_of(&v4, "test-iam").contains(&"--wait=watcher".to_string()));
        assert!(args_of(&v3, "test-iam").contains(&"--atomic".to_string()));
        assert!(args_of(&v3, "test-iam").contains(&"--wait".to_string()));
        let nowait = plan(&Settings { wait: false, ..settings() }, &catalog(), V4).unwrap();
        assert!(!args_of(&nowait, "test-iam").iter().any(|a| a.starts_with("--wait")));
    }

    #[test]
    fn installs_carry_their_template_twin_unless_forced() {
        let s = Settings { mode: Mode::Install, experiment: Some("lsst".into()), ..settings() };
        let p = plan(&s, &catalog(), V4).unwrap();
        let step = p.steps().find(|s| s.release == "test-panda").unwrap();
        let probe = step.probe.as_ref().unwrap();
        assert_eq!(&probe.render.args[..3], ["template", "test-panda", "helm/panda"]);
        assert!(probe.render.args.contains(&"values/lsst/panda.yaml".to_string()));
        assert!(!probe.render.args.iter().any(|a| a.starts_with("--wait") || a == "--timeout"));
        assert_eq!(probe.deployed.args, ["get", "manifest", "test-panda", "--namespace", "panda"]);
        let forced = plan(&Settings { force_upgrade: true, ..s }, &catalog(), V4).unwrap();
        assert!(forced.steps().all(|s| s.probe.is_none()));
        assert!(plan(&settings(), &catalog(), V4).unwrap().steps().all(|s| s.probe.is_none()), "a dry run probes nothing");
    }

    #[test]
    fn template_mode_uses_real_release_names_and_no_cluster_flags() {
        let s = Settings { mode: Mode::Template, create_namespace: true, kube_context: Some("x".into()), ..settings() };
        let p = plan(&s, &catalog(), V4).unwrap();
        let args = args_of(&p, "test-bigmon");
        assert_eq!(&args[..3], ["template", "test-bigmon", "helm/bigmon"]);
        assert!(args.contains(&"panda".to_string()));
        assert!(!args.iter().any(|a| a.starts_with("--wait") || a == "--create-namespace" || a == "--kube-context"));
    }

    #[test]
    fn uninstall_goes_in_reverse_tiers_and_skips_absent_releases() {
        let present: Vec<String> = ["test-msgsvc", "test-iam", "test-panda", "test-idds", "test-secrets"].map(String::from).to_vec();
        let p = uninstall_plan(&settings(), &catalog(), V4, &present, true).unwrap();
        let names: Vec<Vec<&str>> = p.tiers.iter().map(|t| t.steps.iter().map(|s| s.release.as_str()).collect()).collect();
        assert_eq!(names, vec![vec!["test-idds"], vec!["test-panda"], vec!["test-msgsvc", "test-iam"], vec!["test-secrets"]]);
        assert!(p.notes.iter().any(|n| n.contains("test-harvester is not installed")));
        assert_eq!(&p.tiers[0].steps[0].invocation.args[..2], ["uninstall", "test-idds"]);
        let p = uninstall_plan(&settings(), &catalog(), V4, &present, false).unwrap();
        assert!(!p.steps().any(|s| s.release == "test-secrets"));
    }

    #[test]
    fn secrets_release_is_tier_zero() {
        let s = Settings { secrets_values: Some(PathBuf::from("my secrets.yaml")), ..settings() };
        let p = plan(&s, &catalog(), V4).unwrap();
        assert_eq!(p.tiers[0].steps[0].release, "test-secrets");
        let text = p.render("helm");
        assert!(text.contains("# tier 0: test-secrets\nhelm upgrade --install test-secrets secrets --namespace panda -f 'my secrets.yaml' --set-string affix=test-"), "{text}");
        assert!(text.contains("# tier 1: test-msgsvc, test-iam"), "{text}");
    }
}
