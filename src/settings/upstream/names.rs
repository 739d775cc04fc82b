//! How upstream panda-k8s names things: its releases (bin/install's `<affix><component>` or the
//! Argo CD Applications' fixed names), the "fullname" of a sub-chart (the release name when it
//! already contains the sub-chart's name, else `<release>-<sub>`), and which of its experiment
//! files becomes which of ours.

use crate::settings::component::Component;

/// How the upstream deployment was installed, which decides its release names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Install {
    /// `bin/install -a AFFIX`: releases `<affix><component>` (prefix) or `<component><affix>`, and
    /// `global.deploymentName` set to the release name (Harvester takes its ID from it).
    BinInstall { affix: String },
    /// The Argo CD Applications of `argocd-apps/`: `panda`, `panda-harvester`, ... (release =
    /// Application name), no `global.deploymentName`.
    ArgoCd,
}

/// An upstream chart: our components plus `iam-db`, which has no chart of ours.
pub(crate) const UPSTREAM_CHARTS: [&str; 8] =
    ["msgsvc", "iam", "iam-db", "panda", "harvester", "idds", "bigmon", "ui"];

impl Install {
    /// bin/install's affix rule: `-a`, else `affix` of secrets/values.yaml, and `test-` when that
    /// is empty.
    pub(crate) fn bin_install(affix: &str) -> Install {
        let affix = if affix.is_empty() { "test-" } else { affix };
        Install::BinInstall { affix: affix.to_string() }
    }

    /// The release name of an upstream chart.
    pub(crate) fn release(&self, chart: &str) -> String {
        match self {
            Install::BinInstall { affix } if affix.ends_with('-') => format!("{affix}{chart}"),
            Install::BinInstall { affix } => format!("{chart}{affix}"),
            Install::ArgoCd if chart == "panda" => "panda".into(),
            Install::ArgoCd => format!("panda-{chart}"),
        }
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            Install::BinInstall { affix } => format!("bin/install with affix {affix:?}"),
            Install::ArgoCd => "the Argo CD Applications of argocd-apps/ (namespace default)".into(),
        }
    }
}

/// Upstream's fullname of sub-chart `sub` in release `release`.
pub(crate) fn fullname(release: &str, sub: &str) -> String {
    let name = if release.contains(sub) { release.to_string() } else { format!("{release}-{sub}") };
    name.chars().take(63).collect::<String>().trim_end_matches('-').to_string()
}

/// Where one of our experiments takes each component's values from: per component, the upstream
/// chart and the experiment files to try, first found wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Source {
    pub(crate) component: Component,
    pub(crate) chart: &'static str,
    pub(crate) files: Vec<String>,
}

/// Our experiment name for an upstream one, and the files it is made of. Upstream `cern` is
/// DOMA's cluster: its Argo CD apps take idds from `doma-k8s` and IAM's file is `doma`; the
/// testbed's Argo CD app takes msgsvc from `cern`; iam-db's files fold into our iam chart.
pub(crate) fn experiment(upstream: &str) -> (String, Vec<Source>) {
    let ours = match upstream {
        "cern" | "doma" | "doma-k8s" => "doma",
        other => other,
    };
    let files = |list: &[&str]| list.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
    let mut sources = Vec::new();
    for (component, chart) in [
        (Component::Msgsvc, "msgsvc"),
        (Component::Iam, "iam"),
        (Component::Iam, "iam-db"),
        (Component::Panda, "panda"),
        (Component::Harvester, "harvester"),
        (Component::Idds, "idds"),
        (Component::Bigmon, "bigmon"),
        (Component::Ui, "ui"),
    ] {
        let candidates = match (ours, chart) {
            ("doma", "idds") => files(&["doma-k8s", "cern"]),
            ("doma", "iam") => files(&["doma"]),
            ("doma", _) => files(&["cern"]),
            ("atlas_testbed", "msgsvc") => files(&["atlas_testbed", "cern"]),
            (name, _) => files(&[name]),
        };
        sources.push(Source { component, chart, files: candidates });
    }
    (ours.to_string(), sources)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_follow_bin_install_and_argo_cd() {
        let bin = Install::bin_install("test-");
        assert_eq!(bin.release("harvester"), "test-harvester");
        assert_eq!(Install::bin_install("-x").release("panda"), "panda-x");
        assert_eq!(Install::bin_install("").release("idds"), "test-idds", "bin/install's default");
        assert_eq!(Install::ArgoCd.release("panda"), "panda");
        assert_eq!(Install::ArgoCd.release("msgsvc"), "panda-msgsvc");
    }

    #[test]
    fn fullname_drops_the_sub_chart_when_the_release_contains_it() {
        assert_eq!(fullname("panda-harvester", "harvester"), "panda-harvester");
        assert_eq!(fullname("panda-harvester", "mariadb"), "panda-harvester-mariadb");
        assert_eq!(fullname("panda", "server"), "panda-server");
        assert_eq!(fullname("test-panda", "panda"), "test-panda");
    }

    #[test]
    fn cern_is_doma_with_idds_from_doma_k8s() {
        let (name, sources) = experiment("cern");
        assert_eq!(name, "doma");
        let idds = sources.iter().find(|s| s.chart == "idds").unwrap();
        assert_eq!(idds.files, ["doma-k8s", "cern"]);
        let iam = sources.iter().find(|s| s.chart == "iam").unwrap();
        assert_eq!(iam.files, ["doma"]);
        let (name, sources) = experiment("atlas_testbed");
        assert_eq!(name, "atlas_testbed");
        assert_eq!(sources.iter().find(|s| s.chart == "msgsvc").unwrap().files, ["atlas_testbed", "cern"]);
    }
}
