//! The values of the secrets chart that panda-install generates, which Secrets each one feeds,
//! and which workloads read those Secrets: what must restart after a rotated value is deployed,
//! and which databases keep their own copy. A table read off the charts (secrets/templates and
//! each component's pod specs); `tests/integration/sops.rs` checks it against their renders.

use super::component::Component;

/// One generated value of the secrets chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Feed {
    /// Dotted path in the secrets values.
    pub(crate) key: &'static str,
    /// The Secrets it is rendered into, by the suffix after the secrets release's name.
    pub(crate) secrets: &'static [&'static str],
    /// The in-cluster database that stores it at its first start (component, workload), which
    /// changing the Secret does not change.
    pub(crate) database: Option<(Component, &'static str)>,
}

/// A workload that reads a Secret when its pods start (environment or mounted files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Reader {
    pub(crate) component: Component,
    /// The workload's name after the component's release name (`server` in `test-panda-server`).
    pub(crate) workload: &'static str,
    /// `deployment` or `statefulset`, as kubectl names them.
    pub(crate) kind: &'static str,
}

use Component::*;

/// Every value panda-install generates (`secrets init`) and regenerates (`secrets rotate`).
pub(crate) const FEEDS: [Feed; 10] = [
    Feed { key: "msgsvc.basePassword", secrets: &["msgsvc-envs", "panda-envs", "idds-envs"], database: None },
    Feed {
        key: "panda.database.password",
        // bigmon-envs: bigmon.database.password "" falls back to it
        secrets: &["panda-envs", "bigmon-envs"],
        database: Some((Panda, "postgres")),
    },
    Feed {
        key: "panda.database.superuserPassword",
        secrets: &["panda-envs"],
        database: Some((Panda, "postgres")),
    },
    Feed {
        key: "harvester.database.password",
        secrets: &["harvester-envs", "harvester-initdb"],
        database: Some((Harvester, "mariadb")),
    },
    Feed {
        key: "harvester.database.rootPassword",
        secrets: &["harvester-envs"],
        database: Some((Harvester, "mariadb")),
    },
    Feed {
        key: "idds.database.password",
        secrets: &["idds-db-envs", "idds-envs", "bigmon-envs"],
        database: Some((Idds, "postgres")),
    },
    Feed {
        key: "iam.database.password",
        secrets: &["iam-db-envs", "iam-envs", "iam-initdb"],
        database: Some((Iam, "mariadb")),
    },
    Feed { key: "iam.database.rootPassword", secrets: &["iam-db-envs"], database: Some((Iam, "mariadb")) },
    Feed { key: "bigmon.secretKey", secrets: &["bigmon-envs"], database: None },
    // set only when BigMon reads the PanDA database with an account of its own
    Feed { key: "bigmon.database.password", secrets: &["bigmon-envs"], database: Some((Panda, "postgres")) },
];

const fn reader(component: Component, workload: &'static str, kind: &'static str) -> Reader {
    Reader { component, workload, kind }
}

const STS: &str = "statefulset";
const DEPLOY: &str = "deployment";

/// The long-running workloads that read each Secret fed by [`FEEDS`] (CronJobs start fresh pods
/// each run and need no restart).
pub(crate) const READERS: [(&str, &[Reader]); 10] = [
    ("msgsvc-envs", &[reader(Msgsvc, "activemq", DEPLOY)]),
    (
        "panda-envs",
        &[reader(Panda, "server", STS), reader(Panda, "jedi", STS), reader(Panda, "postgres", STS)],
    ),
    ("idds-envs", &[reader(Idds, "rest", STS), reader(Idds, "daemon", STS)]),
    (
        "idds-db-envs",
        &[reader(Idds, "rest", STS), reader(Idds, "daemon", STS), reader(Idds, "postgres", STS)],
    ),
    ("bigmon-envs", &[reader(Bigmon, "main", STS)]),
    ("harvester-envs", &[reader(Harvester, "harvester", STS), reader(Harvester, "mariadb", STS)]),
    ("harvester-initdb", &[reader(Harvester, "mariadb", STS)]),
    ("iam-db-envs", &[reader(Iam, "mariadb", STS)]),
    ("iam-envs", &[reader(Iam, "main", DEPLOY)]),
    ("iam-initdb", &[reader(Iam, "mariadb", STS)]),
];

/// The generated values' paths, in table order.
pub(crate) fn generated() -> Vec<&'static str> {
    FEEDS.iter().map(|f| f.key).collect()
}

pub(crate) fn feed(key: &str) -> Option<&'static Feed> {
    FEEDS.iter().find(|f| f.key == key)
}

/// The workloads that read a Secret (by its suffix).
pub(crate) fn readers(secret: &str) -> &'static [Reader] {
    READERS.iter().find(|(s, _)| *s == secret).map_or(&[], |(_, r)| r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fed_secret_has_its_readers_and_every_reader_is_fed() {
        for f in &FEEDS {
            for s in f.secrets {
                assert!(!readers(s).is_empty(), "{}: no reader listed for Secret {s}", f.key);
            }
        }
        for (secret, _) in &READERS {
            assert!(
                FEEDS.iter().any(|f| f.secrets.contains(secret)),
                "{secret} is fed by no generated value"
            );
        }
        let mut keys = generated();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), FEEDS.len(), "a key is listed twice");
    }
}
