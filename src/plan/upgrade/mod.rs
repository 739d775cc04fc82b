//! An upgrade of a running instance between the deployed and the planned PanDA versions (issue 20,
//! docs/moving-in.md "Upgrades"): what the compatibility table ([`crate::settings::compat`]) says
//! about them, the ordered steps (backup of PanDA's database to a kept claim, the new database
//! image's schema patches, each once, then the workloads), and the Jobs of the schema steps as
//! objects. Pure: the versions come from manifests handed in; nothing here runs.

use crate::plan::migrate::{script_job, ScriptJob};
use crate::settings::compat::{self, Broken, Software, Version, Versions};
use serde::Serialize;
use serde_json::{json, Value};

/// The schema Job's script (shellchecked by scripts/check; proved on loopback by
/// testbed/apptest/t_upgrade.py, which runs this very file).
pub(crate) const SCHEMA_SCRIPT: &str = include_str!("schema.sh");

/// One step, in the order the install runs them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub(crate) enum Step {
    /// pg_dump of the running PanDA database into the kept claim.
    Backup { claim: String },
    /// The planned database image's patches, in order, each in one transaction with its record.
    SchemaPatch { from: Version, to: Version, patches: Vec<Version> },
    /// helm upgrade of the releases: the workloads change only now.
    Workloads,
}

/// What an upgrade needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Upgrade {
    /// PanDA's release: it names the backup claim and the schema Jobs ([`job_name`]).
    pub(crate) release: String,
    pub(crate) deployed: Versions,
    pub(crate) planned: Versions,
    /// Combinations the table says do not work: the install refuses them.
    pub(crate) broken: Vec<Broken>,
    pub(crate) steps: Vec<Step>,
    /// What the operator must do or know (an external database's schema, a downgrade).
    pub(crate) notes: Vec<String>,
}

impl Upgrade {
    /// The schema steps (backup, patch) the install must run before the workloads.
    pub(crate) fn schema_steps(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| !matches!(s, Step::Workloads))
    }
}

/// The claim that keeps the backups of PanDA's database (never deleted by helm or panda-install).
pub(crate) fn backup_claim(affix_release: &str) -> String {
    format!("{affix_release}-schema-backup")
}

/// The steps from `deployed` to `planned`. `claim`: where the backup goes.
pub(crate) fn plan(deployed: &Versions, planned: &Versions, release: &str) -> Upgrade {
    let claim = backup_claim(release);
    let mut broken = compat::broken(planned);
    let mut steps = Vec::new();
    let mut notes = Vec::new();
    match (deployed.panda_database, planned.panda_database) {
        (Some(from), Some(to)) if to.release() > from.release() => {
            let patches: Vec<Version> = compat::patches_between(from, to).iter().map(|p| p.version).collect();
            steps.push(Step::Backup { claim: claim.clone() });
            steps.push(Step::SchemaPatch { from: from.release(), to: to.release(), patches });
        }
        (Some(from), Some(to)) if to.release() < from.release() => broken.push(Broken {
            software: Software::PandaDatabase,
            reason: format!(
                "panda-database {to} is older than the deployed schema {from}: a schema is never downgraded; \
                 restore the backup taken before the upgrade instead (docs/moving-in.md, 'Rollback')"
            ),
        }),
        (None, None) => {
            let (old, new) = (deployed.get(Software::PandaServer), planned.get(Software::PandaServer));
            if let Some(need) = new.and_then(compat::schema_needed) {
                if old.and_then(compat::schema_needed).is_none_or(|o| o.schema < need.schema) {
                    notes.push(format!(
                        "the PanDA database is external: bring its schema to {} (panda-database's patches) before \
                         the workloads move to {}",
                        need.schema,
                        new.map(|v| v.to_string()).unwrap_or_default()
                    ));
                }
            }
        }
        _ => {}
    }
    steps.push(Step::Workloads);
    Upgrade {
        release: release.to_string(),
        deployed: deployed.clone(),
        planned: planned.clone(),
        broken,
        steps,
        notes,
    }
}

/// The versions a set of manifest objects deploys: the image tags of the workloads' containers
/// (panda-server/JEDI, panda-database, Harvester, iDDS), Harvester's configuration files and the
/// iDDS agents the daemon runs (its StatefulSet's panda-install/idds-agents annotation).
pub(crate) fn versions_of<'a>(objects: impl IntoIterator<Item = &'a Value>) -> Versions {
    let mut v = Versions::default();
    let mut harvester_config = Vec::new();
    for o in objects {
        let kind = o["kind"].as_str().unwrap_or_default();
        let name = o["metadata"]["name"].as_str().unwrap_or_default();
        if kind == "ConfigMap" || kind == "Secret" {
            for field in ["data", "binaryData", "stringData"] {
                if let Some(map) = o[field].as_object() {
                    for (key, value) in map {
                        if key == "panda_harvester_configmap.json" {
                            let text = value.as_str().unwrap_or_default();
                            let decoded = if field == "stringData" || (kind == "ConfigMap" && field == "data")
                            {
                                text.to_string()
                            } else {
                                decode(text)
                            };
                            harvester_config.push(decoded);
                        }
                    }
                }
            }
            continue;
        }
        if !matches!(kind, "StatefulSet" | "Deployment") {
            continue;
        }
        let annotations = &o["metadata"]["annotations"];
        if let Some(agents) = annotations["panda-install/idds-agents"].as_str() {
            let prompt = annotations["panda-install/idds-prompt-processing"].as_str() == Some("true");
            let agents = agents.split(',').filter(|a| !a.is_empty()).map(str::to_string).collect();
            v.idds_agents = Some((agents, prompt));
        }
        let Some(containers) = o["spec"]["template"]["spec"]["containers"].as_array() else { continue };
        for c in containers {
            let image = c["image"].as_str().unwrap_or_default();
            let Some((repository, tag)) = image.rsplit_once(':') else { continue };
            let Some(version) = Version::parse(tag) else { continue };
            let slot = match repository.rsplit('/').next().unwrap_or_default() {
                "panda-server" if name.ends_with("-jedi") => &mut v.jedi,
                "panda-server" => &mut v.panda_server,
                "panda-database" => &mut v.panda_database,
                "harvester" => &mut v.harvester,
                "idds" => &mut v.idds,
                _ => continue,
            };
            *slot = Some(slot.map_or(version, |old: Version| old.max(version)));
        }
    }
    if !harvester_config.is_empty() {
        v.harvester_config = Some(harvester_config);
    }
    v
}

fn decode(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Which schema Job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Phase {
    Backup,
    Patch,
    Restore,
}

impl Phase {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Phase::Backup => "backup",
            Phase::Patch => "patch",
            Phase::Restore => "restore",
        }
    }
}

/// One schema Job against the running database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SchemaJob {
    pub(crate) phase: Phase,
    pub(crate) namespace: String,
    /// The database's Service (`<panda release>-postgres`).
    pub(crate) host: String,
    /// The planned panda-database image: its client, and its patch files.
    pub(crate) image: String,
    /// PanDA's release: the Job's name and labels (the `schema-upgrade` workload its database's
    /// NetworkPolicy admits).
    pub(crate) release: String,
    /// The Secret with POSTGRES_PASSWORD (`<secrets release>-panda-envs`).
    pub(crate) secret: String,
    /// The image pull Secrets of the database's pods.
    pub(crate) pull_secrets: Vec<String>,
    pub(crate) claim: String,
    pub(crate) patches: Vec<Version>,
    pub(crate) deadline_seconds: u64,
}

/// `<PanDA's release>-schema-<phase>`: two instances of one namespace never share a Job.
pub(crate) fn job_name(release: &str, phase: Phase) -> String {
    format!("{release}-schema-{}", phase.name())
}

/// The `schema-upgrade` workload of PanDA's release in the charts' NetworkPolicy graph
/// (helm/lib/templates/_networkpolicy.tpl): its database's policy admits it.
fn labels(release: &str) -> Value {
    json!({
        "app.kubernetes.io/name": "panda-schema-upgrade",
        "app.kubernetes.io/instance": release,
        "app.kubernetes.io/component": "schema-upgrade",
        "app.kubernetes.io/managed-by": "panda-install",
        "app.kubernetes.io/part-of": "panda",
    })
}

/// The in-cluster panda-database of a set of objects (a rendered or deployed panda release): the
/// image of its container and the pull Secrets of its pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DatabasePod {
    pub(crate) image: String,
    pub(crate) pull_secrets: Vec<String>,
}

pub(crate) fn database_pod<'a>(objects: impl IntoIterator<Item = &'a Value>) -> Option<DatabasePod> {
    objects.into_iter().find_map(|o| {
        let spec = &o["spec"]["template"]["spec"];
        let image = spec["containers"].as_array()?.iter().find_map(|c| {
            let image = c["image"].as_str()?;
            image.contains("/panda-database:").then(|| image.to_string())
        })?;
        let pull_secrets = spec["imagePullSecrets"]
            .as_array()
            .map(|l| l.iter().filter_map(|s| s["name"].as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        Some(DatabasePod { image, pull_secrets })
    })
}

/// The kept claim of the backups.
pub(crate) fn claim(namespace: &str, release: &str, name: &str, size: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels(release),
            "annotations": {"helm.sh/resource-policy": "keep"},
        },
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}},
    })
}

/// The Job: schema.sh in the planned database image, restricted, the superuser password from the
/// Secret (never in the object or on a command line).
pub(crate) fn job(req: &SchemaJob) -> Value {
    let patches: Vec<String> = req.patches.iter().map(|p| p.to_string()).collect();
    let env = vec![
        json!({"name": "PHASE", "value": req.phase.name()}),
        json!({"name": "DB_HOST", "value": req.host}),
        json!({"name": "DB_PORT", "value": "5432"}),
        json!({"name": "DB_NAME", "value": "panda_db"}),
        json!({"name": "DB_USER", "value": "postgres"}),
        json!({"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {
            "name": req.secret, "key": "POSTGRES_PASSWORD", "optional": true}}}),
        json!({"name": "DUMP_DIR", "value": "/backup"}),
        json!({"name": "PATCHES", "value": patches.join(" ")}),
    ];
    script_job(&ScriptJob {
        name: job_name(&req.release, req.phase),
        namespace: &req.namespace,
        labels: labels(&req.release),
        container: "schema",
        image: &req.image,
        pull_secrets: &req.pull_secrets,
        script: SCHEMA_SCRIPT,
        env,
        mount: "/backup",
        claim: &req.claim,
        deadline_seconds: req.deadline_seconds,
        // the postgres image's own user
        uid: 999,
    })
}

/// The plan as text: the versions, what is broken, the steps.
pub(crate) fn describe(u: &Upgrade) -> String {
    let show = |v: Option<Version>| v.map_or("-".to_string(), |v| v.to_string());
    let mut out = format!("{:<20} {:>10} {:>10}\n", "SOFTWARE", "DEPLOYED", "PLANNED");
    for s in [Software::PandaServer, Software::PandaDatabase, Software::Harvester, Software::Idds] {
        out.push_str(&format!(
            "{:<20} {:>10} {:>10}\n",
            s.name(),
            show(u.deployed.get(s)),
            show(u.planned.get(s))
        ));
    }
    for b in &u.broken {
        out.push_str(&format!("REFUSED: {}\n", b.reason));
    }
    for n in &u.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    for (i, s) in u.steps.iter().enumerate() {
        let text = match s {
            Step::Backup { claim } => {
                format!("back up PanDA's database (pg_dump, Job {}) to the kept claim {claim}", job_name(&u.release, Phase::Backup))
            }
            Step::SchemaPatch { from, to, patches } => format!(
                "patch the schema {from} -> {to} with the new database image's {} (Job {}, each patch once, in one transaction, recorded)",
                patches
                    .iter()
                    .map(|p| {
                        let what = compat::SCHEMA_PATCHES.iter().find(|s| s.version == *p).map_or("", |s| s.what);
                        format!("{p}.patch.sql ({what})")
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                job_name(&u.release, Phase::Patch)
            ),
            Step::Workloads => "upgrade the releases (the workloads change only now)".to_string(),
        };
        out.push_str(&format!("{}. {text}\n", i + 1));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(t: &str) -> Option<Version> {
        Version::parse(t)
    }

    fn pinned(server: &str, db: &str) -> Versions {
        Versions { panda_server: v(server), jedi: v(server), panda_database: v(db), ..Versions::default() }
    }

    #[test]
    fn crossing_the_schema_line_backs_up_and_patches_before_the_workloads() {
        let u = plan(&pinned("1.0.2", "0.1.5-2"), &pinned("1.0.4", "0.1.6"), "test-panda");
        assert!(u.broken.is_empty(), "{:?}", u.broken);
        assert_eq!(
            u.steps,
            [
                Step::Backup { claim: "test-panda-schema-backup".into() },
                Step::SchemaPatch {
                    from: v("0.1.5").unwrap(),
                    to: v("0.1.6").unwrap(),
                    patches: vec![v("0.1.6").unwrap()]
                },
                Step::Workloads,
            ]
        );
        let text = describe(&u);
        assert!(
            text.contains("0.1.6.patch.sql")
                && text.find("back up").unwrap() < text.find("patch the").unwrap()
        );
        // same versions: only the workloads
        assert_eq!(plan(&pinned("1.0.4", "0.1.6"), &pinned("1.0.4", "0.1.6"), "c").steps, [Step::Workloads]);
    }

    #[test]
    fn a_broken_combination_and_a_schema_downgrade_are_refused() {
        let u = plan(&pinned("1.0.2", "0.1.5-2"), &pinned("1.0.4", "0.1.5-2"), "c");
        assert_eq!(u.broken.len(), 1);
        assert!(describe(&u).contains("REFUSED: panda-server/JEDI 1.0.4 needs panda-database schema 0.1.6"));
        let down = plan(&pinned("1.0.4", "0.1.6"), &pinned("1.0.2", "0.1.5-2"), "c");
        assert!(down.broken.iter().any(|b| b.reason.contains("never downgraded")), "{:?}", down.broken);
        // external database: a note, no Job
        let ext = plan(&pinned("1.0.2", "-"), &pinned("1.0.4", "-"), "c");
        assert_eq!(ext.steps, [Step::Workloads]);
        assert!(ext.notes[0].contains("external") && ext.notes[0].contains("0.1.6"));
    }

    #[test]
    fn versions_come_from_the_workloads_images_and_harvesters_config() {
        let docs = crate::settings::yaml::parse_stream(
            "kind: StatefulSet\nmetadata: {name: test-panda-server}\nspec: {template: {spec: {containers: [{image: 'ghcr.io/pandawms/panda-server:1.0.4'}]}}}\n---\n\
             kind: StatefulSet\nmetadata: {name: test-panda-jedi}\nspec: {template: {spec: {containers: [{image: 'ghcr.io/pandawms/panda-server:1.0.2'}]}}}\n---\n\
             kind: StatefulSet\nmetadata: {name: test-panda-postgres}\nspec: {template: {spec: {containers: [{image: 'ghcr.io/pandawms/panda-database:0.1.5-2'}]}}}\n---\n\
             kind: StatefulSet\nmetadata: {name: test-harvester-harvester}\nspec: {template: {spec: {containers: [{image: 'ghcr.io/hsf/harvester:v0.7.5'}]}}}\n---\n\
             kind: StatefulSet\nmetadata: {name: test-idds-daemon, annotations: {panda-install/idds-agents: 'clerk,transceiver', panda-install/idds-prompt-processing: 'true'}}\n\
             spec: {template: {spec: {containers: [{image: 'ghcr.io/hsf/idds:2.6.13'}]}}}\n---\n\
             kind: ConfigMap\nmetadata: {name: test-harvester-harvester-config}\ndata: {panda_harvester_configmap.json: 'job_statistics.json||x'}\n",
            "test",
        )
        .unwrap();
        let got = versions_of(&docs);
        assert_eq!((got.panda_server, got.jedi, got.panda_database), (v("1.0.4"), v("1.0.2"), v("0.1.5-2")));
        assert_eq!(got.harvester, v("v0.7.5"));
        assert_eq!(got.idds_agents, Some((vec!["clerk".to_string(), "transceiver".to_string()], true)));
        // JEDI 1.0.2 with server 1.0.4: the newer decides; Harvester's config lacks the cacher entry;
        // prompt processing on an iDDS that has no transceiver yet
        let broken = compat::broken(&got);
        assert_eq!(
            broken.iter().map(|b| b.software).collect::<Vec<_>>(),
            [Software::PandaServer, Software::Harvester, Software::Idds]
        );
    }

    #[test]
    fn the_job_runs_the_script_with_the_password_from_the_secret() {
        let req = SchemaJob {
            phase: Phase::Patch,
            namespace: "ns".into(),
            host: "test-panda-postgres".into(),
            image: "ghcr.io/pandawms/panda-database:0.1.6".into(),
            release: "test-panda".into(),
            secret: "test-secrets-panda-envs".into(),
            pull_secrets: vec!["regcred".into()],
            claim: "test-panda-schema-backup".into(),
            patches: vec![v("0.1.6").unwrap()],
            deadline_seconds: 900,
        };
        let j = job(&req);
        let c = &j["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["command"][2], SCHEMA_SCRIPT);
        assert_eq!(c["image"], "ghcr.io/pandawms/panda-database:0.1.6");
        let env = c["env"].as_array().unwrap();
        let get = |n: &str| env.iter().find(|e| e["name"] == n).unwrap().clone();
        assert_eq!(get("PATCHES")["value"], "0.1.6");
        assert_eq!(get("DB_PASSWORD")["valueFrom"]["secretKeyRef"]["key"], "POSTGRES_PASSWORD");
        assert!(get("DB_PASSWORD").get("value").is_none());
        assert_eq!(j["metadata"]["name"], "test-panda-schema-patch");
    }

    #[test]
    fn the_job_is_the_schema_upgrade_workload_of_pandas_release_and_pulls_as_the_database_does() {
        let req = SchemaJob {
            phase: Phase::Backup,
            namespace: "ns".into(),
            host: "blah-panda-postgres".into(),
            image: "ghcr.io/pandawms/panda-database:0.1.6".into(),
            release: "blah-panda".into(),
            secret: "blah-secrets-panda-envs".into(),
            pull_secrets: vec!["regcred".into()],
            claim: "blah-panda-schema-backup".into(),
            patches: vec![],
            deadline_seconds: 900,
        };
        let j = job(&req);
        let labels = &j["spec"]["template"]["metadata"]["labels"];
        assert_eq!(labels["app.kubernetes.io/instance"], "blah-panda");
        assert_eq!(labels["app.kubernetes.io/component"], "schema-upgrade");
        assert_eq!(j["spec"]["template"]["spec"]["imagePullSecrets"], json!([{"name": "regcred"}]));
        assert_eq!(j["metadata"]["name"], "blah-panda-schema-backup");
    }

    #[test]
    fn the_database_pod_is_found_with_its_pull_secrets() {
        let sts = json!({"kind": "StatefulSet", "spec": {"template": {"spec": {
            "imagePullSecrets": [{"name": "regcred"}],
            "containers": [{"name": "postgres", "image": "ghcr.io/pandawms/panda-database:0.1.6"}]}}}});
        let server = json!({"kind": "StatefulSet", "spec": {"template": {"spec": {
            "containers": [{"name": "server", "image": "ghcr.io/pandawms/panda-server:1.0.4"}]}}}});
        assert_eq!(
            database_pod([&server, &sts]),
            Some(DatabasePod {
                image: "ghcr.io/pandawms/panda-database:0.1.6".into(),
                pull_secrets: vec!["regcred".into()]
            })
        );
        assert_eq!(database_pod([&server]), None);
    }
}
