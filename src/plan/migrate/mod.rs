//! Data continuity for the stores whose layout differs between upstream panda-k8s and our charts
//! (docs/moving-in.md, "Data"): Harvester's MariaDB (bitnami layout, uid 1001), IAM's MariaDB
//! and iDDS' PostgreSQL (13 -> 16, another PGDATA). Each is copied by a dump Job run against the
//! old database before the switch and a restore Job run against the new one after it, both with
//! the client of the new database's image, through a claim that keeps the dump and the row counts
//! of every table; the restore fails when a count differs. PanDA's PostgreSQL and ActiveMQ keep
//! their claims (`existingClaim`, set by `import`). Pure: the Jobs as objects.

use crate::settings::instance::Instance;
use serde_json::{json, Value};

/// Which half of the copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Phase {
    Dump,
    Restore,
}

impl Phase {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Phase::Dump => "dump",
            Phase::Restore => "restore",
        }
    }
}

/// A database copied by dump and restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Store {
    HarvesterMariadb,
    IamMariadb,
    IddsPostgres,
}

/// What a store is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreInfo {
    pub(crate) name: &'static str,
    /// The component whose release runs the new database.
    pub(crate) component: crate::settings::component::Component,
    /// Its sub-chart: the new database's Service is `<release>-<sub>`.
    pub(crate) sub: &'static str,
    pub(crate) port: u16,
    pub(crate) script: &'static str,
    /// The secrets chart's Secret suffix holding the credentials (upstream's has the same keys).
    pub(crate) secret_suffix: &'static str,
    /// Key of the user's name in that Secret (`None`: root).
    pub(crate) user_key: Option<&'static str>,
    pub(crate) password_key: &'static str,
    pub(crate) default_database: &'static str,
    /// The uid of the image's own user.
    pub(crate) uid: i64,
}

/// A Job's script: the engine's connection, row count, dump and restore, then the phases both share.
const MARIADB: &str = concat!(include_str!("mariadb.sh"), "\n", include_str!("phases.sh"));
const POSTGRES: &str = concat!(include_str!("postgres.sh"), "\n", include_str!("phases.sh"));

impl Store {
    pub(crate) fn info(self) -> StoreInfo {
        use crate::settings::component::Component;
        match self {
            Store::HarvesterMariadb => StoreInfo {
                name: "harvester-mariadb",
                component: Component::Harvester,
                sub: "mariadb",
                port: 3306,
                script: MARIADB,
                secret_suffix: "harvester-envs",
                user_key: None,
                password_key: "MARIADB_ROOT_PASSWORD",
                default_database: "harvester",
                uid: 999,
            },
            Store::IamMariadb => StoreInfo {
                name: "iam-mariadb",
                component: Component::Iam,
                sub: "mariadb",
                port: 3306,
                script: MARIADB,
                secret_suffix: "iam-db-envs",
                user_key: None,
                password_key: "MARIADB_ROOT_PASSWORD",
                default_database: "iam_db",
                uid: 999,
            },
            Store::IddsPostgres => StoreInfo {
                name: "idds-postgres",
                component: Component::Idds,
                sub: "postgres",
                port: 5432,
                script: POSTGRES,
                secret_suffix: "idds-db-envs",
                user_key: Some("IDDS_USER"),
                password_key: "IDDS_PASSWORD",
                default_database: "idds_db",
                uid: 999,
            },
        }
    }
}

/// One run of one phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) phase: Phase,
    pub(crate) store: Store,
    pub(crate) namespace: String,
    /// The database's host (Service).
    pub(crate) host: String,
    /// The release whose database NetworkPolicy must admit the Job: the Job's pods carry its
    /// instance label and the component `migrate-data`. A restore: the new database's release; a
    /// dump: the old database's when it is a release of this namespace (`--host` is
    /// `<release>-<sub>`), else none (another tool's database, no policy of ours in the way).
    pub(crate) policy_peer: Option<String>,
    pub(crate) database: String,
    /// The Secret with the credentials.
    pub(crate) secret: String,
    /// The claim holding the dump.
    pub(crate) claim: String,
    pub(crate) size: String,
    pub(crate) deadline_seconds: u64,
    /// The Job's name (the instance's affix applied: [`job_name`]).
    pub(crate) job: String,
    /// The Job's image: the new database's as the charts derive it (its sub-chart's image with
    /// the experiment's registry mirrors), or `--image` (a mirror, or the test bed's
    /// registry-less images; it must carry the same client tools).
    pub(crate) image: String,
    /// The image pull Secrets the charts give the database's pods.
    pub(crate) pull_secrets: Vec<String>,
}

/// `<affix>migrate-<store>-<phase>` (`panda-migrate-...` for the default affix): two instances
/// of one namespace never share a Job.
pub(crate) fn job_name(instance: &Instance, store: Store, phase: Phase) -> String {
    instance.affix.apply(&format!("migrate-{}-{}", store.info().name, phase.name()))
}

pub(crate) fn default_claim(store: Store) -> String {
    format!("panda-migrate-{}", store.info().name)
}

fn labels(store: Store) -> Value {
    json!({
        "app.kubernetes.io/name": "panda-migrate-data",
        "app.kubernetes.io/instance": store.info().name,
        "app.kubernetes.io/managed-by": "panda-install",
        "app.kubernetes.io/part-of": "panda",
    })
}

/// The Job's labels: with a policy peer, its pods are that release's `migrate-data` workload in
/// the charts' NetworkPolicy graph (helm/lib/templates/_networkpolicy.tpl), allowed to reach its
/// database and nothing else; without one, no release's.
fn job_labels(req: &Request) -> Value {
    let mut out = labels(req.store);
    if let Some(release) = &req.policy_peer {
        out["app.kubernetes.io/instance"] = json!(release);
        out["app.kubernetes.io/component"] = json!("migrate-data");
    }
    out
}

/// The release whose NetworkPolicy must admit a Job reading or writing `host`: for a restore,
/// the new database's `release`; for a dump, the release `<r>` of `host` = `<r>-<sub>` when
/// `deployed(r)`.
pub(crate) fn policy_peer(
    phase: Phase,
    store: Store,
    host: &str,
    release: &str,
    deployed: impl Fn(&str) -> bool,
) -> Option<String> {
    match phase {
        Phase::Restore => Some(release.to_string()),
        Phase::Dump => host
            .strip_suffix(&format!("-{}", store.info().sub))
            .filter(|r| !r.is_empty() && deployed(r))
            .map(str::to_string),
    }
}

/// The claim that keeps the dump; never deleted by helm or panda-install.
pub(crate) fn claim(req: &Request) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": req.claim,
            "namespace": req.namespace,
            "labels": labels(req.store),
            "annotations": {"helm.sh/resource-policy": "keep"},
        },
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": req.size}}},
    })
}

/// The Job of one phase: the store's script in the new database's image, restricted, with the
/// credentials from the Secret (never on a command line or in the object).
pub(crate) fn job(req: &Request) -> Value {
    let info = req.store.info();
    let secret_ref = |key: &str| json!({"valueFrom": {"secretKeyRef": {"name": req.secret, "key": key}}});
    let mut user = json!({"name": "DB_USER"});
    match info.user_key {
        Some(key) => user
            .as_object_mut()
            .expect("an object")
            .extend(secret_ref(key).as_object().cloned().unwrap_or_default()),
        None => user["value"] = json!("root"),
    }
    let mut password = json!({"name": "DB_PASSWORD"});
    password
        .as_object_mut()
        .expect("an object")
        .extend(secret_ref(info.password_key).as_object().cloned().unwrap_or_default());
    let mut env = vec![
        json!({"name": "PHASE", "value": req.phase.name()}),
        json!({"name": "STORE", "value": info.name}),
        json!({"name": "DB_HOST", "value": req.host}),
        json!({"name": "DB_PORT", "value": info.port.to_string()}),
        json!({"name": "DB_NAME", "value": req.database}),
        user,
        password,
    ];
    env.push(json!({"name": "DUMP_DIR", "value": "/dump"}));
    script_job(&ScriptJob {
        name: req.job.clone(),
        namespace: &req.namespace,
        labels: job_labels(req),
        container: "migrate",
        image: &req.image,
        pull_secrets: &req.pull_secrets,
        script: info.script,
        env,
        mount: "/dump",
        claim: &req.claim,
        deadline_seconds: req.deadline_seconds,
        uid: info.uid,
    })
}

/// A one-off Job running a database script: restricted, no service account token, the claim at
/// `mount`, a writable /tmp.
pub(crate) struct ScriptJob<'a> {
    pub(crate) name: String,
    pub(crate) namespace: &'a str,
    pub(crate) labels: Value,
    pub(crate) container: &'a str,
    pub(crate) image: &'a str,
    /// Names of the pod's image pull Secrets.
    pub(crate) pull_secrets: &'a [String],
    pub(crate) script: &'a str,
    /// The container's env (HOME=/tmp is added).
    pub(crate) env: Vec<Value>,
    pub(crate) mount: &'a str,
    pub(crate) claim: &'a str,
    pub(crate) deadline_seconds: u64,
    pub(crate) uid: i64,
}

pub(crate) fn script_job(j: &ScriptJob<'_>) -> Value {
    let mut env = j.env.clone();
    env.push(json!({"name": "HOME", "value": "/tmp"}));
    let mut job = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": j.name, "namespace": j.namespace, "labels": j.labels},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": j.deadline_seconds,
            "template": {
                "metadata": {"labels": j.labels},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": false,
                    "enableServiceLinks": false,
                    "securityContext": {
                        "runAsNonRoot": true,
                        "runAsUser": j.uid,
                        "runAsGroup": j.uid,
                        "fsGroup": j.uid,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [{
                        "name": j.container,
                        "image": j.image,
                        "command": ["/bin/bash", "-c", j.script],
                        "env": env,
                        "securityContext": {
                            "allowPrivilegeEscalation": false,
                            "readOnlyRootFilesystem": true,
                            "capabilities": {"drop": ["ALL"]},
                        },
                        "resources": {
                            "requests": {"cpu": "100m", "memory": "256Mi"},
                            "limits": {"memory": "2Gi"},
                        },
                        "volumeMounts": [
                            {"name": "data", "mountPath": j.mount},
                            {"name": "tmp", "mountPath": "/tmp"},
                        ],
                    }],
                    "volumes": [
                        {"name": "data", "persistentVolumeClaim": {"claimName": j.claim}},
                        {"name": "tmp", "emptyDir": {}},
                    ],
                },
            },
        },
    });
    if !j.pull_secrets.is_empty() {
        let names: Vec<Value> = j.pull_secrets.iter().map(|n| json!({ "name": n })).collect();
        job["spec"]["template"]["spec"]["imagePullSecrets"] = Value::Array(names);
    }
    job
}

/// An image reference given on the command line: non-empty, no whitespace or control characters.
pub(crate) fn check_image(image: &str) -> Result<(), String> {
    if !image.is_empty() && !image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Ok(())
    } else {
        Err(format!("--image {image:?}: an image reference without spaces (e.g. registry/name:tag)"))
    }
}

/// A database name the scripts can put into SQL as it is.
pub(crate) fn check_database(name: &str) -> Result<(), String> {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        Ok(())
    } else {
        Err(format!("--database {name:?}: only letters, digits, '_' and '-'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(store: Store, phase: Phase) -> Request {
        Request {
            phase,
            store,
            namespace: "ns".into(),
            host: "test-harvester-mariadb".into(),
            policy_peer: match phase {
                Phase::Restore => Some("test-harvester".into()),
                Phase::Dump => None,
            },
            database: "harvester".into(),
            secret: "test-secrets-harvester-envs".into(),
            claim: default_claim(store),
            size: "10Gi".into(),
            deadline_seconds: 600,
            job: job_name(&Instance::default_affix(), store, phase),
            image: "docker.io/library/mariadb:11.4.7".into(),
            pull_secrets: vec![],
        }
    }

    #[test]
    fn the_job_runs_the_script_with_credentials_from_the_secret() {
        let dump = job(&request(Store::HarvesterMariadb, Phase::Dump));
        let c = &dump["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(dump["metadata"]["name"], "test-migrate-harvester-mariadb-dump");
        assert_eq!(c["command"][2], MARIADB);
        let env = c["env"].as_array().unwrap();
        let get = |n: &str| env.iter().find(|e| e["name"] == n).unwrap().clone();
        assert_eq!(get("PHASE")["value"], "dump");
        assert_eq!(get("DB_USER")["value"], "root");
        assert_eq!(get("DB_PASSWORD")["valueFrom"]["secretKeyRef"]["key"], "MARIADB_ROOT_PASSWORD");
        assert!(get("DB_PASSWORD").get("value").is_none(), "no password in the object");
        let pg = job(&request(Store::IddsPostgres, Phase::Restore));
        let env = pg["spec"]["template"]["spec"]["containers"][0]["env"].as_array().unwrap().clone();
        assert!(env
            .iter()
            .any(|e| e["name"] == "DB_USER" && e["valueFrom"]["secretKeyRef"]["key"] == "IDDS_USER"));
        assert!(check_database("iam_db").is_ok() && check_database("a'; drop").is_err());
    }

    #[test]
    fn a_restore_is_the_migrate_data_workload_of_the_databases_release() {
        let labels = |phase| {
            job(&request(Store::HarvesterMariadb, phase))["spec"]["template"]["metadata"]["labels"].clone()
        };
        assert_eq!(labels(Phase::Restore)["app.kubernetes.io/instance"], "test-harvester");
        assert_eq!(labels(Phase::Restore)["app.kubernetes.io/component"], "migrate-data");
        assert_eq!(labels(Phase::Dump)["app.kubernetes.io/instance"], "harvester-mariadb");
        assert!(labels(Phase::Dump).get("app.kubernetes.io/component").is_none());
    }

    #[test]
    fn a_dump_from_a_database_of_a_deployed_release_is_that_releases_migrate_data_workload() {
        let ours = |r: &str| r == "blah-idds";
        let peer = |phase, host| policy_peer(phase, Store::IddsPostgres, host, "test-idds", ours);
        assert_eq!(peer(Phase::Dump, "blah-idds-postgres").as_deref(), Some("blah-idds"));
        assert_eq!(peer(Phase::Dump, "panda-idds-postgres"), None, "not a release here");
        assert_eq!(peer(Phase::Dump, "blah-idds-db"), None, "not the sub-chart's Service");
        assert_eq!(peer(Phase::Dump, "-postgres"), None);
        assert_eq!(peer(Phase::Restore, "blah-idds-postgres").as_deref(), Some("test-idds"));
    }

    #[test]
    fn the_job_pulls_its_image_with_the_charts_pull_secrets_and_carries_the_affix() {
        let mut req = request(Store::IddsPostgres, Phase::Restore);
        let spec = |req: &Request| job(req)["spec"]["template"]["spec"].clone();
        assert!(spec(&req).get("imagePullSecrets").is_none(), "no pull Secrets: no key");
        req.image = "mirror.example.org/hub/library/postgres:16.14".into();
        req.pull_secrets = vec!["site-pull".into(), "own".into()];
        let s = spec(&req);
        assert_eq!(s["containers"][0]["image"], "mirror.example.org/hub/library/postgres:16.14");
        assert_eq!(s["imagePullSecrets"], json!([{"name": "site-pull"}, {"name": "own"}]));
        let test = Instance::from_flag("test-").unwrap();
        assert_eq!(
            job_name(&test, Store::IddsPostgres, Phase::Restore),
            "test-migrate-idds-postgres-restore"
        );
        let suffixed = Instance::from_flag("-blah").unwrap();
        assert_eq!(job_name(&suffixed, Store::IamMariadb, Phase::Dump), "migrate-iam-mariadb-dump-blah");
        // bin/install's affix gives the names of earlier versions
        assert_eq!(
            job_name(&Instance::from_flag("panda-").unwrap(), Store::HarvesterMariadb, Phase::Dump),
            "panda-migrate-harvester-mariadb-dump"
        );
        // the longest affix keeps every Job name a valid label value (the job-name label)
        let longest =
            Instance::from_flag(&format!("{}-", "a".repeat(crate::settings::affix::MAX_LEN - 1))).unwrap();
        for store in [Store::HarvesterMariadb, Store::IamMariadb, Store::IddsPostgres] {
            for phase in [Phase::Dump, Phase::Restore] {
                assert!(job_name(&longest, store, phase).len() <= 63);
            }
        }
        assert!(check_image("bed.local/postgres:15").is_ok());
        assert!(check_image("").is_err() && check_image("a b").is_err());
    }
}
