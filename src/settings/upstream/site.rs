//! Which of the site files upstream kept inside its charts belong to an experiment, and where they
//! go in our layout (`values/<exp>/files/<component>/...`, kinds in `helm/<component>/site-files.yaml`):
//! the server and JEDI configuration JSON an experiment file selected (`configFile`), Harvester's
//! queue configuration, configuration JSON and sandbox files of its experiment name, and the
//! Oracle `tnsnames.ora` files where a database is Oracle.

use super::experiments::SiteRequest;
use super::{Notes, Outcome};
use std::collections::{BTreeMap, BTreeSet};

pub(crate) const SERVER_DIR: &str = "helm/panda/charts/server";
pub(crate) const JEDI_DIR: &str = "helm/panda/charts/jedi";
pub(crate) const HARVESTER_DIR: &str = "helm/harvester/charts/harvester";

/// Which databases are Oracle (from the secrets values), deciding the tnsnames.ora files.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Oracle {
    pub(crate) panda: bool,
    pub(crate) idds: bool,
    pub(crate) bigmon: bool,
    pub(crate) ui: bool,
}

/// Harvester's experiment names: the queue configuration and sandbox follow the secrets values'
/// EXPERIMENT, the configuration JSON the chart's `harvester.experiment`.
#[derive(Debug, Clone, Default)]
pub(crate) struct HarvesterFiles {
    pub(crate) queue: Option<String>,
    pub(crate) configmap: Option<String>,
}

/// One file to copy: upstream path -> our path relative to the output directory.
pub(crate) type Copies = BTreeMap<String, String>;

/// Upstream's own start scripts, which our chart replaces (a site file of the same name would
/// win over the chart's, so they are never imported).
const HARVESTER_OWN: [&str; 7] = [
    "init-harvester",
    "run-harvester-crons",
    "setup-harvester",
    "logrotate-harvester",
    "health_monitor.sh",
    "health_monitor.py",
    "condor_config.local",
];

/// The site files of experiment `name`. `files` holds every upstream file under the chart
/// directories read (path -> content), so references between them can be followed.
pub(crate) fn select(
    name: &str,
    requests: &BTreeSet<SiteRequest>,
    harvester: Option<HarvesterFiles>,
    components: &BTreeSet<crate::settings::component::Component>,
    oracle: Oracle,
    files: &BTreeMap<String, Vec<u8>>,
    notes: &mut Notes,
) -> Copies {
    use crate::settings::component::Component;
    let dir = |component: &str| format!("values/{name}/files/{component}");
    let mut copies = Copies::new();
    let mut copy = |from: String, to: String, notes: &mut Notes, reason: &str| {
        if files.contains_key(&from) {
            notes.add(&from, Outcome::Mapped, &to, reason);
            copies.insert(from, to);
        } else {
            notes.add(&from, Outcome::NotMapped, &to, "not found in the checkout: copy it there yourself");
        }
    };
    for request in requests {
        match request {
            SiteRequest::ServerConfig(file) => copy(
                format!("{SERVER_DIR}/{file}"),
                format!("{}/panda_server_config.json", dir("panda")),
                notes,
                "the server configuration server.configFile selected (read by the server and JEDI)",
            ),
            SiteRequest::JediConfig(file) => copy(
                format!("{JEDI_DIR}/{file}"),
                format!("{}/panda_jedi_config.json", dir("panda")),
                notes,
                "the JEDI configuration jedi.configFile selected",
            ),
            SiteRequest::Harvester(_) => {}
        }
    }
    let harvester = harvester.unwrap_or_default();
    if let Some(x) = &harvester.queue {
        let queue = format!("{HARVESTER_DIR}/queueconfig/{x}.panda_queueconfig.json");
        copy(
            queue.clone(),
            format!("{}/panda_queueconfig.json", dir("harvester")),
            notes,
            "the queue configuration of Harvester's EXPERIMENT",
        );
        for (from, to, reason) in sandbox(x, &queue, files) {
            copy(from, format!("{}/sandbox/{to}", dir("harvester")), notes, &reason);
        }
    }
    if let Some(x) = &harvester.configmap {
        let configmap = format!("{HARVESTER_DIR}/configmap/{x}.panda_harvester_configmap.json");
        if files.contains_key(&configmap) {
            copy(
                configmap,
                format!("{}/panda_harvester_configmap.json", dir("harvester")),
                notes,
                "Harvester's configuration overrides of its experiment",
            );
        }
    }
    for (from, component, wanted, why) in [
        ("helm/panda/sandbox/tnsnames.ora", Component::Panda, oracle.panda, "panda.database.backend"),
        ("helm/idds/tnsnames.ora", Component::Idds, oracle.idds, "idds.database.backend"),
        (
            "helm/bigmon/charts/main/sandbox/tnsnames.ora",
            Component::Bigmon,
            oracle.bigmon,
            "bigmon's database backend",
        ),
        (
            "helm/ui/charts/backend/sandbox/tnsnames.ora",
            Component::Ui,
            oracle.ui,
            "ui.database.pandaui.vendor",
        ),
    ] {
        if !files.contains_key(from) || !components.contains(&component) {
            continue;
        }
        if wanted {
            copy(
                from.to_string(),
                format!("{}/tnsnames.ora", dir(component.name())),
                notes,
                &format!("{why} is oracle"),
            );
        } else {
            notes.add(from, Outcome::NotMapped, "", &format!("{why} is not oracle: not needed"));
        }
    }
    copies
}

/// Harvester sandbox files of experiment `x`: every `<x>.*` file, and upstream's shared files the
/// queue configuration or those files name.
fn sandbox(x: &str, queue: &str, files: &BTreeMap<String, Vec<u8>>) -> Vec<(String, String, String)> {
    let prefix = format!("{HARVESTER_DIR}/sandbox/");
    let all: Vec<(&str, &[u8])> =
        files.iter().filter_map(|(p, c)| p.strip_prefix(&prefix).map(|n| (n, c.as_slice()))).collect();
    let own: Vec<&(&str, &[u8])> = all.iter().filter(|(n, _)| n.starts_with(&format!("{x}."))).collect();
    let mut haystack: Vec<&[u8]> = own.iter().map(|(_, c)| *c).collect();
    if let Some(q) = files.get(queue) {
        haystack.push(q);
    }
    let mut out: Vec<(String, String, String)> = own
        .iter()
        .map(|(n, _)| {
            (format!("{prefix}{n}"), (*n).to_string(), format!("sandbox file of Harvester experiment {x}"))
        })
        .collect();
    // Shared files named by a selected file, until none is added (a submit template the queue
    // configuration names may name a pilot wrapper in turn).
    let mut taken: BTreeSet<&str> = BTreeSet::new();
    loop {
        let named: Vec<(&str, &[u8])> = all
            .iter()
            .filter(|(n, _)| {
                !n.starts_with(&format!("{x}."))
                    && !HARVESTER_OWN.contains(n)
                    && !taken.contains(n)
                    && haystack.iter().any(|h| contains(h, n.as_bytes()))
            })
            .copied()
            .collect();
        if named.is_empty() {
            break;
        }
        for (n, content) in named {
            taken.insert(n);
            haystack.push(content);
        }
    }
    for (n, _) in &all {
        if taken.contains(n) {
            out.push((
                format!("{prefix}{n}"),
                (*n).to_string(),
                format!("named by {x}'s queue configuration or sandbox files"),
            ));
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::component::Component;

    #[test]
    fn follows_the_experiment_and_its_references() {
        let mut files = BTreeMap::new();
        for (p, c) in [
            (
                "helm/harvester/charts/harvester/queueconfig/doma.panda_queueconfig.json",
                "{\"q\": \"bnl_osg.submit_pilot_token_push.sdf\"}",
            ),
            (
                "helm/harvester/charts/harvester/sandbox/bnl_osg.submit_pilot_token_push.sdf",
                "exe runpilot2-wrapper-doma.sh",
            ),
            ("helm/harvester/charts/harvester/sandbox/doma.init-harvester", "x"),
            ("helm/harvester/charts/harvester/sandbox/runpilot2-wrapper-doma.sh", "x"),
            ("helm/harvester/charts/harvester/sandbox/rubin-wrapper.sh", "x"),
            ("helm/harvester/charts/harvester/sandbox/init-harvester", "init-harvester runpilot"),
            ("helm/harvester/charts/harvester/sandbox/lsst.init-harvester", "x"),
            ("helm/panda/charts/server/panda_server_config.cern.json", "{}"),
            ("helm/idds/tnsnames.ora", "x"),
            ("helm/panda/sandbox/tnsnames.ora", "x"),
        ] {
            files.insert(p.to_string(), c.as_bytes().to_vec());
        }
        let requests = BTreeSet::from([
            SiteRequest::ServerConfig("panda_server_config.cern.json".into()),
            SiteRequest::JediConfig("panda_jedi_config.cern.json".into()),
        ]);
        let components = BTreeSet::from([Component::Panda, Component::Harvester, Component::Idds]);
        let mut notes = Notes::new("files");
        let oracle = Oracle { panda: true, ..Oracle::default() };
        let harvester = HarvesterFiles { queue: Some("doma".into()), configmap: Some("doma".into()) };
        let copies = select("doma", &requests, Some(harvester), &components, oracle, &files, &mut notes);
        let targets: Vec<&str> = copies.values().map(String::as_str).collect();
        assert_eq!(
            targets,
            [
                "values/doma/files/harvester/panda_queueconfig.json",
                "values/doma/files/harvester/sandbox/bnl_osg.submit_pilot_token_push.sdf",
                "values/doma/files/harvester/sandbox/doma.init-harvester",
                "values/doma/files/harvester/sandbox/runpilot2-wrapper-doma.sh",
                "values/doma/files/panda/panda_server_config.json",
                "values/doma/files/panda/tnsnames.ora",
            ]
        );
        assert!(notes
            .list
            .iter()
            .any(|n| n.key.ends_with("panda_jedi_config.cern.json") && n.outcome == Outcome::NotMapped));
        assert!(notes
            .list
            .iter()
            .any(|n| n.key == "helm/idds/tnsnames.ora" && n.outcome == Outcome::NotMapped));
    }
}
