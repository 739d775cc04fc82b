//! The compatibility table of the PanDA software versions panda-install pins, in one place: which
//! panda-server/JEDI needs which panda-database schema (and the schema patches in between), which
//! Harvester needs which configuration entry, which iDDS runs which agent. Data and pure checks;
//! `src/plan/upgrade` orders the steps a move between two sets of versions needs.

use serde::Serialize;
use std::fmt;

/// A release version: `1.0.4`, `v0.7.5`, `0.1.5-2` (an image rebuild suffix `-N` is kept apart:
/// `0.1.5-2` carries schema 0.1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub(crate) struct Version {
    pub(crate) major: u32,
    pub(crate) minor: u32,
    pub(crate) patch: u32,
    pub(crate) build: u32,
}

impl Version {
    pub(crate) const fn new(major: u32, minor: u32, patch: u32) -> Version {
        Version { major, minor, patch, build: 0 }
    }

    /// Parses an image tag or release name; `None` for anything else (`latest`, a digest).
    pub(crate) fn parse(text: &str) -> Option<Version> {
        let text = text.strip_prefix('v').unwrap_or(text);
        let (release, build) = match text.split_once('-') {
            Some((r, b)) => (r, b.parse().ok()?),
            None => (text, 0),
        };
        let mut parts = release.split('.').map(|p| p.parse::<u32>().ok());
        let (major, minor, patch) = (parts.next()??, parts.next()??, parts.next().unwrap_or(Some(0))?);
        if parts.next().is_some() {
            return None;
        }
        Some(Version { major, minor, patch, build })
    }

    /// The release without the rebuild suffix (what a schema version compares).
    pub(crate) fn release(self) -> Version {
        Version { build: 0, ..self }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if self.build > 0 {
            write!(f, "-{}", self.build)?;
        }
        Ok(())
    }
}

/// The software whose versions the table relates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Software {
    /// panda-server and JEDI (one image, one version).
    PandaServer,
    /// The in-cluster PostgreSQL image, which carries the PanDA schema of its version.
    PandaDatabase,
    Harvester,
    Idds,
}

impl Software {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Software::PandaServer => "panda-server/JEDI",
            Software::PandaDatabase => "panda-database",
            Software::Harvester => "Harvester",
            Software::Idds => "iDDS",
        }
    }
}

/// panda-server/JEDI from this version on needs at least this database schema.
pub(crate) struct SchemaNeed {
    pub(crate) server: Version,
    pub(crate) schema: Version,
    pub(crate) why: &'static str,
}

pub(crate) const SCHEMA_NEEDS: &[SchemaNeed] = &[SchemaNeed {
    server: Version::new(1, 0, 4),
    schema: Version::new(0, 1, 6),
    why: "panda-server 1.0.4 writes DDM_ENDPOINT.SPACE_MIN_FREE and SPACE_UNAVAILABLE (panda-server 039b7b19, 2026-07-20)",
}];

/// A schema patch of the panda-database image: `<version>.patch.sql`, which brings the schema from
/// the version before to this one (the image applies its patches only to an empty data
/// directory, so a running database needs them applied by a Job).
pub(crate) struct SchemaPatch {
    pub(crate) version: Version,
    pub(crate) what: &'static str,
}

pub(crate) const SCHEMA_PATCHES: &[SchemaPatch] = &[SchemaPatch {
    version: Version::new(0, 1, 6),
    what: "index jedi_tasks_reqid_idx (reqid, username); DDM_ENDPOINT.SPACE_MIN_FREE, SPACE_UNAVAILABLE",
}];

/// Harvester from this version on needs this entry in its configuration.
pub(crate) struct HarvesterKey {
    pub(crate) since: Version,
    pub(crate) section: &'static str,
    pub(crate) key: &'static str,
    pub(crate) entry: &'static str,
    pub(crate) why: &'static str,
}

pub(crate) const HARVESTER_KEYS: &[HarvesterKey] = &[HarvesterKey {
    since: Version::new(0, 7, 4),
    section: "cacher",
    key: "data",
    entry: "job_statistics_new.json||panda_server:get_job_stats_new",
    why: "the worker adjuster reads the new job statistics (Harvester 3ee48638, 2026-02-18)",
}];

/// iDDS from this version on has this agent, which must run when the feature is on.
pub(crate) struct IddsAgent {
    pub(crate) since: Version,
    pub(crate) agent: &'static str,
    pub(crate) feature: &'static str,
}

/// The transceiver came with the prompt-processing work of 2026-01; 2.6.14 (2026-07) is the
/// oldest release we pinned that carries it.
pub(crate) const IDDS_AGENTS: &[IddsAgent] =
    &[IddsAgent { since: Version::new(2, 6, 14), agent: "transceiver", feature: "prompt processing" }];

/// The versions of one deployment (deployed or planned); `None`: not part of it (or an external
/// database, whose schema panda-install cannot see).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Versions {
    pub(crate) panda_server: Option<Version>,
    pub(crate) jedi: Option<Version>,
    pub(crate) panda_database: Option<Version>,
    pub(crate) harvester: Option<Version>,
    pub(crate) idds: Option<Version>,
    /// The texts of Harvester's configuration files (the chart's and the site's): each that lists
    /// cacher entries must list the ones HARVESTER_KEYS asks for.
    #[serde(skip)]
    pub(crate) harvester_config: Option<Vec<String>>,
    /// The iDDS agents the agent pods run, and whether prompt processing is on.
    #[serde(skip)]
    pub(crate) idds_agents: Option<(Vec<String>, bool)>,
}

impl Versions {
    pub(crate) fn get(&self, s: Software) -> Option<Version> {
        match s {
            Software::PandaServer => self.panda_server.max(self.jedi),
            Software::PandaDatabase => self.panda_database,
            Software::Harvester => self.harvester,
            Software::Idds => self.idds,
        }
    }
}

/// A combination the table says does not work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Broken {
    pub(crate) software: Software,
    pub(crate) reason: String,
}

/// The schema a panda-server/JEDI version needs (the highest rule that applies).
pub(crate) fn schema_needed(server: Version) -> Option<&'static SchemaNeed> {
    SCHEMA_NEEDS.iter().filter(|n| server.release() >= n.server).max_by_key(|n| n.schema)
}

/// Every rule of the table the versions break.
pub(crate) fn broken(v: &Versions) -> Vec<Broken> {
    let mut out = Vec::new();
    if let (Some(server), Some(db)) = (v.get(Software::PandaServer), v.panda_database) {
        if let Some(need) = schema_needed(server) {
            if db.release() < need.schema {
                out.push(Broken {
                    software: Software::PandaServer,
                    reason: format!(
                        "{} {server} needs panda-database schema {} or later, the database is at {}: {}",
                        Software::PandaServer.name(),
                        need.schema,
                        db.release(),
                        need.why
                    ),
                });
            }
        }
    }
    if let (Some(harvester), Some(config)) = (v.harvester, &v.harvester_config) {
        for k in HARVESTER_KEYS.iter().filter(|k| harvester.release() >= k.since) {
            // A file that sets the cacher's list (it names the old statistics entry) must carry the entry.
            let lists = config.iter().filter(|t| t.contains("job_statistics.json||"));
            if lists.clone().count() == 0 || lists.clone().any(|t| !t.contains(k.entry)) {
                out.push(Broken {
                    software: Software::Harvester,
                    reason: format!(
                        "Harvester {harvester} needs {} in [{}] {}: {}",
                        k.entry, k.section, k.key, k.why
                    ),
                });
            }
        }
    }
    if let (Some(idds), Some((agents, prompt))) = (v.idds, &v.idds_agents) {
        for a in IDDS_AGENTS.iter().filter(|_| *prompt) {
            if idds.release() < a.since {
                out.push(Broken {
                    software: Software::Idds,
                    reason: format!(
                        "iDDS {idds} has no {} agent, which {} needs: it came with iDDS {}",
                        a.agent, a.feature, a.since
                    ),
                });
            } else if !agents.iter().any(|x| x == a.agent) {
                out.push(Broken {
                    software: Software::Idds,
                    reason: format!(
                        "iDDS {idds} with {} on needs the {} agent, which no agent program runs",
                        a.feature, a.agent
                    ),
                });
            }
        }
    }
    out
}

/// The schema patches that bring a database from `from` to `to`, in order (none when `to` is not
/// later).
pub(crate) fn patches_between(from: Version, to: Version) -> Vec<&'static SchemaPatch> {
    let mut out: Vec<&SchemaPatch> =
        SCHEMA_PATCHES.iter().filter(|p| p.version > from.release() && p.version <= to.release()).collect();
    out.sort_by_key(|p| p.version);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    #[test]
    fn versions_parse_tags_and_compare_releases() {
        assert_eq!(v("v0.7.5"), Version::new(0, 7, 5));
        assert_eq!(v("0.1.5-2").release(), Version::new(0, 1, 5));
        assert_eq!(v("0.1.5-2").to_string(), "0.1.5-2");
        assert!(v("1.0.10") > v("1.0.4") && v("2.6.21") > v("2.6.14"));
        assert!(Version::parse("latest").is_none() && Version::parse("1.0.4.1").is_none());
        assert_eq!(v("16.14"), Version::new(16, 14, 0));
    }

    #[test]
    fn server_104_on_schema_015_is_broken_and_016_is_not() {
        let mut versions = Versions {
            panda_server: Some(v("1.0.4")),
            jedi: Some(v("1.0.4")),
            panda_database: Some(v("0.1.5-2")),
            ..Versions::default()
        };
        let b = broken(&versions);
        assert_eq!(b.len(), 1, "{b:?}");
        assert!(b[0].reason.contains("0.1.6") && b[0].reason.contains("SPACE_MIN_FREE"), "{}", b[0].reason);
        versions.panda_database = Some(v("0.1.6"));
        assert!(broken(&versions).is_empty());
        versions.panda_server = Some(v("1.0.2"));
        versions.jedi = Some(v("1.0.2"));
        versions.panda_database = Some(v("0.1.5-2"));
        assert!(broken(&versions).is_empty(), "1.0.2 on 0.1.5 works");
        // An external database: no schema to compare.
        versions.panda_server = Some(v("1.0.4"));
        versions.panda_database = None;
        assert!(broken(&versions).is_empty());
    }

    #[test]
    fn harvester_074_needs_the_cacher_entry_and_idds_the_transceiver_with_prompt_processing() {
        let mut versions = Versions {
            harvester: Some(v("v0.7.5")),
            harvester_config: Some(vec!["job_statistics.json||panda_server:get_job_stats".into()]),
            idds: Some(v("2.6.21")),
            idds_agents: Some((vec!["clerk".into(), "transformer".into()], true)),
            ..Versions::default()
        };
        let b = broken(&versions);
        assert_eq!(b.iter().map(|b| b.software).collect::<Vec<_>>(), [Software::Harvester, Software::Idds]);
        versions.harvester_config = Some(vec!["job_statistics_new.json||panda_server:get_job_stats_new, \
             job_statistics.json||panda_server:get_job_stats"
            .into()]);
        versions.idds_agents = Some((vec!["clerk".into(), "transceiver".into()], true));
        assert!(broken(&versions).is_empty(), "the entry and the agent are there");
        versions.idds = Some(v("2.6.13"));
        let b = broken(&versions);
        assert!(b.len() == 1 && b[0].reason.contains("no transceiver agent"), "{b:?}");
        versions.harvester = Some(v("v0.6.5"));
        versions.idds_agents = Some((vec!["clerk".into()], false));
        assert!(
            broken(&versions).is_empty(),
            "v0.6.5 reads no new key; no prompt processing, no transceiver"
        );
    }

    #[test]
    fn patches_between_schema_versions() {
        let names = |a: &str, b: &str| {
            patches_between(v(a), v(b)).iter().map(|p| p.version.to_string()).collect::<Vec<_>>()
        };
        assert_eq!(names("0.1.5-2", "0.1.6"), ["0.1.6"]);
        assert!(names("0.1.6", "0.1.6").is_empty() && names("0.1.6", "0.1.5").is_empty());
    }

    /// The chart's own pins satisfy the table: the server/JEDI and database tags, Harvester's
    /// default configuration and iDDS' agent programs.
    #[test]
    fn the_charts_pins_satisfy_the_table() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("helm");
        let tag = |chart: &str| {
            let values = crate::settings::yaml::load_mapping(&root.join(chart).join("values.yaml")).unwrap();
            v(values["image"]["tag"].as_str().unwrap())
        };
        let config = std::fs::read_to_string(
            root.join("harvester/charts/harvester/files/config/panda_harvester_configmap.json"),
        )
        .unwrap();
        let versions = Versions {
            panda_server: Some(tag("panda/charts/server")),
            jedi: Some(tag("panda/charts/jedi")),
            panda_database: Some(tag("panda/charts/postgres")),
            harvester: Some(tag("harvester/charts/harvester")),
            harvester_config: Some(vec![config]),
            idds: Some(tag("idds/charts/daemon")),
            idds_agents: None,
        };
        assert_eq!(broken(&versions), []);
        assert_eq!(tag("idds/charts/daemon"), tag("idds/charts/rest"), "one iDDS version");
        assert_eq!(tag("panda/charts/server"), tag("panda/charts/jedi"), "one panda-server version");
    }
}
