//! Upstream's experiment files (`helm/<chart>/values/values-<exp>.yaml`) onto our experiment
//! directory: `values/<exp>/<component>.yaml` in our charts' keys, and `experiment.yaml` for what
//! upstream repeated in every workload (the 30 s node-failure tolerations, OpenShift's assigned
//! uids). Only what the files set is carried; our chart defaults do the rest. Upstream's data
//! claims that our workloads can use as they are (PanDA's PostgreSQL, ActiveMQ, the shared logs
//! claim, site data areas) become `existingClaim`; the databases whose layout differs keep new
//! claims and are copied with `migrate-data`.

use super::names::{fullname, Install};
use super::{get, integer, leaf_paths, set, text, truthy, Notes, Outcome};
use crate::settings::component::Component;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// One upstream experiment file to map.
pub(crate) struct Input<'a> {
    pub(crate) component: Component,
    /// Upstream chart (`iam-db` folds into our iam).
    pub(crate) chart: &'a str,
    /// `helm/<chart>/values/values-<exp>.yaml`, for the report.
    pub(crate) source: String,
    pub(crate) values: &'a Value,
}

/// A site file the experiment points at, for the site-file step.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SiteRequest {
    /// `server.configFile`: `helm/panda/charts/server/<name>`.
    ServerConfig(String),
    /// `jedi.configFile`: `helm/panda/charts/jedi/<name>`.
    JediConfig(String),
    /// `harvester.experiment`: queue config, configmap JSON and sandbox files of that name.
    Harvester(String),
}

/// Our experiment, mapped.
#[derive(Debug, Default)]
pub(crate) struct Mapped {
    pub(crate) components: BTreeMap<Component, Map<String, Value>>,
    /// `global` of experiment.yaml.
    pub(crate) global: Map<String, Value>,
    pub(crate) site: BTreeSet<SiteRequest>,
    pub(crate) notes: Vec<super::Note>,
}

/// What a sub-chart's `persistentvolume` holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Storage {
    /// Logs: a named claim (shared or existing) is reused, others start fresh.
    Logs,
    /// A data store our workload reads as it is: its claim is reused.
    Reused,
    /// A database whose layout differs: new claim, data copied with migrate-data.
    Copied,
    /// Upstream created it but never mounted it.
    Unused,
}

/// Where one upstream sub-chart goes in ours.
struct Target {
    sub: &'static str,
    storage: Storage,
    replicas: bool,
}

fn targets(chart: &str, sub: &str) -> Vec<Target> {
    let t = |sub, storage, replicas| Target { sub, storage, replicas };
    match (chart, sub) {
        ("msgsvc", "activemq") => vec![t("activemq", Storage::Reused, false)],
        ("panda", "server") => vec![t("server", Storage::Logs, true)],
        ("panda", "jedi") => vec![t("jedi", Storage::Logs, true)],
        ("panda", "postgres") => vec![t("postgres", Storage::Reused, false)],
        ("harvester", "harvester") => vec![t("harvester", Storage::Logs, true)],
        ("harvester", "mariadb") => vec![t("mariadb", Storage::Copied, false)],
        // upstream's rest pod ran the REST service and every agent: ours splits them
        ("idds", "rest") => vec![t("rest", Storage::Logs, true), t("daemon", Storage::Unused, false)],
        ("idds", "postgres") => vec![t("postgres", Storage::Copied, false)],
        ("bigmon", "main") => vec![t("main", Storage::Logs, true)],
        ("iam", "main") => vec![t("main", Storage::Unused, true)],
        ("iam", "mariadb") | ("iam-db", "mariadb") => vec![t("mariadb", Storage::Copied, false)],
        ("ui", "backend") => vec![t("backend", Storage::Logs, true)],
        ("ui", "frontend") => vec![t("frontend", Storage::Unused, true)],
        _ => vec![],
    }
}

/// Upstream's default of `<sub>.enabled` (the parent charts' values.yaml).
fn enabled_by_default(chart: &str, sub: &str) -> bool {
    !(chart == "iam" && sub == "mariadb")
}

/// Upstream's generic `app.kubernetes.io/name` values in anti-affinity rules, as our components.
fn components_for(name: &str) -> Vec<&'static str> {
    match name {
        "server" => vec!["server"],
        "jedi" => vec!["jedi"],
        "harvester" => vec!["harvester"],
        "rest" => vec!["rest", "daemon"],
        "main" => vec!["main"],
        _ => vec![],
    }
}

struct Ctx<'a> {
    chart: &'a str,
    release: String,
    file: String,
    notes: Notes,
    out: Map<String, Value>,
    global: &'a mut Map<String, Value>,
    site: &'a mut BTreeSet<SiteRequest>,
    used: BTreeSet<String>,
}

impl Ctx<'_> {
    fn put(&mut self, from: &str, to: &str, value: Value) {
        set(&mut self.out, to, value);
        self.used.insert(from.to_string());
        let target = format!("{}: {to}", self.file);
        self.notes.mapped(from, &target);
    }

    fn derive(&mut self, from: &str, to: &str, value: Value, reason: &str) {
        set(&mut self.out, to, value);
        self.used.insert(from.to_string());
        let target = format!("{}: {to}", self.file);
        self.notes.add(from, Outcome::Derived, &target, reason);
    }

    fn skip(&mut self, from: &str, reason: &str) {
        self.used.insert(from.to_string());
        self.notes.not_mapped(from, reason);
    }

    fn global(&mut self, from: &str, to: &str, value: Value, reason: &str) {
        set(self.global, to, value);
        self.used.insert(from.to_string());
        self.notes.add(from, Outcome::Derived, &format!("experiment.yaml: global.{to}"), reason);
    }
}

/// Maps the files of one experiment. `name` is our experiment's name.
pub(crate) fn map(name: &str, inputs: &[Input], install: &Install) -> Mapped {
    let mut mapped = Mapped::default();
    for input in inputs {
        let file = format!("values/{name}/{}.yaml", input.component);
        let mut ctx = Ctx {
            chart: input.chart,
            release: install.release(input.chart),
            file,
            notes: Notes::new(input.source.clone()),
            out: mapped.components.remove(&input.component).unwrap_or_default(),
            global: &mut mapped.global,
            site: &mut mapped.site,
            used: BTreeSet::new(),
        };
        let Some(top) = input.values.as_object() else { continue };
        for (key, value) in top {
            match (input.chart, key.as_str()) {
                ("panda", "nodeRecovery") => node_recovery(&mut ctx, value),
                ("ui", "global") => ui_global(&mut ctx, value),
                (_, "global") => ctx.skip("global", "upstream's global (secret, deploymentName) is set by panda-install"),
                ("iam-db", "backup") => ctx.skip(
                    "backup",
                    "our iam chart backs MariaDB up itself: mariadb.backup (a CronJob writing dumps to a claim of its own)",
                ),
                (_, "autoscaling") => ctx.skip("autoscaling", "upstream's autoscalers never worked (StatefulSets, v2beta1) and our charts have none"),
                (chart, sub) => {
                    let targets = targets(chart, sub);
                    if targets.is_empty() {
                        ctx.skip(key, "no sub-chart of that name in our chart");
                        continue;
                    }
                    workload(&mut ctx, sub, value, &targets);
                }
            }
        }
        reused_stores(&mut ctx, input.values);
        health_monitor(&mut ctx, input.values);
        for path in leaf_paths(input.values) {
            let done = ctx.used.iter().any(|u| path == *u || path.starts_with(&format!("{u}.")));
            if !done {
                ctx.notes.not_mapped(&path, "no equivalent in our chart");
            }
        }
        mapped.notes.extend(ctx.notes.list);
        if !ctx.out.is_empty() {
            mapped.components.insert(input.component, ctx.out);
        }
    }
    mapped
}

/// PanDA's PostgreSQL and ActiveMQ keep their claims even where the experiment file says nothing
/// about them (upstream's defaults created them).
fn reused_stores(ctx: &mut Ctx, values: &Value) {
    let harvester = fullname(&ctx.release, "harvester");
    let wanted: Vec<(&str, String, String)> = match ctx.chart {
        "msgsvc" => vec![("activemq", "activemq.data".into(), fullname(&ctx.release, "activemq"))],
        "panda" => vec![("postgres", "postgres.data".into(), fullname(&ctx.release, "postgres"))],
        "harvester" => vec![
            ("harvester", "harvester.wdirs".into(), format!("{harvester}-wdirs")),
            ("harvester", "harvester.condorLogs".into(), format!("{harvester}-condor-logs")),
        ],
        _ => return,
    };
    for (sub, to, claim) in wanted {
        if !deploys(ctx.chart, sub, values) || get(&Value::Object(ctx.out.clone()), &to).is_some() {
            continue;
        }
        set(&mut ctx.out, &to, json!({"type": "existingClaim", "existingClaim": claim}));
        let target = format!("{}: {to}", ctx.file);
        ctx.notes.add(
            &format!("({sub} claim {claim})"),
            Outcome::Derived,
            &target,
            &format!("upstream's default claim {claim} holds data our workload reads as it is: reused"),
        );
    }
}

/// Upstream's Harvester ran its health monitor in every experiment (the chart's common
/// `run-harvester-crons`, not a value): ours is on wherever the experiment deploys Harvester.
fn health_monitor(ctx: &mut Ctx, values: &Value) {
    if ctx.chart != "harvester" || !deploys("harvester", "harvester", values) {
        return;
    }
    let to = "harvester.healthMonitor.enabled";
    set(&mut ctx.out, to, json!(true));
    let target = format!("{}: {to}", ctx.file);
    ctx.notes.add(
        "(harvester health monitor)",
        Outcome::Derived,
        &target,
        "upstream's run-harvester-crons ran health_monitor.py every 600 s in every experiment; set healthMonitor.mail to be mailed",
    );
}

fn node_recovery(ctx: &mut Ctx, v: &Value) {
    if let Some(e) = v.get("enabled") {
        ctx.put("nodeRecovery.enabled", "nodeRecovery.enabled", Value::Bool(truthy(e)));
    }
    if v.get("image").is_some() {
        ctx.skip(
            "nodeRecovery.image",
            "our chart pins registry.k8s.io/kubectl (upstream: bitnami/kubectl:latest)",
        );
    }
}

fn ui_global(ctx: &mut Ctx, v: &Value) {
    if let Some(vo) = v.get("vo").and_then(text) {
        ctx.put("global.vo", "backend.vo", json!(vo));
        set(&mut ctx.out, "frontend.appConfig.vo", json!(vo));
    }
    if let Some(host) = v.get("hostOverwrite").and_then(text) {
        ctx.put("global.hostOverwrite", "backend.ingress.host", json!(host));
        set(&mut ctx.out, "backend.ingress.enabled", json!(true));
        set(&mut ctx.out, "frontend.ingress.enabled", json!(true));
        set(&mut ctx.out, "frontend.ingress.host", json!(host));
    }
    if let Some(level) = v.get("logLevel").and_then(text) {
        let ours = match level.to_ascii_uppercase().as_str() {
            "WARN" | "WARNING" => Some("WARNING"),
            l @ ("DEBUG" | "INFO" | "ERROR" | "CRITICAL") => Some(match l {
                "DEBUG" => "DEBUG",
                "INFO" => "INFO",
                "ERROR" => "ERROR",
                _ => "CRITICAL",
            }),
            _ => None,
        };
        match ours {
            Some(l) => ctx.put("global.logLevel", "backend.logLevel", json!(l)),
            None => ctx.skip("global.logLevel", "not a Python logging level our backend accepts"),
        }
    }
    for key in v.as_object().into_iter().flat_map(|o| o.keys()) {
        if !["vo", "hostOverwrite", "logLevel"].contains(&key.as_str()) {
            ctx.skip(&format!("global.{key}"), "set by panda-install or not read by upstream's templates");
        }
    }
}

/// One upstream sub-chart block into each of its targets.
fn workload(ctx: &mut Ctx, sub: &str, v: &Value, targets: &[Target]) {
    let Some(block) = v.as_object() else { return };
    let first = &targets[0];
    let fn_name = fullname(&ctx.release, sub);
    for (key, value) in block {
        let from = format!("{sub}.{key}");
        match key.as_str() {
            "enabled" => ctx.put(&from, &format!("{}.enabled", first.sub), json!(truthy(value))),
            "replicaCount" if first.replicas => {
                if let Some(n) = integer(value) {
                    ctx.put(&from, &format!("{}.replicaCount", first.sub), json!(n));
                }
            }
            "replicaCount" => ctx.skip(&from, "a single-instance database or broker in our charts"),
            "image" => image(ctx, &from, value, targets),
            "resources" => {
                for t in targets {
                    ctx.put(&from, &format!("{}.resources", t.sub), value.clone());
                }
            }
            "nodeSelector" => {
                for t in targets {
                    ctx.put(&from, &format!("{}.nodeSelector", t.sub), value.clone());
                }
            }
            "tolerations" => tolerations(ctx, &from, value, targets),
            "affinity" => affinity(ctx, &from, value, targets),
            "noRoot" if truthy(value) => ctx.global(
                &from,
                "platformAssignsIds",
                json!(true),
                "our pods never run as root; upstream's noRoot marked its OpenShift deployment, where the SCC assigns the uids",
            ),
            "noRoot" => ctx.skip(&from, "our pods never run as root"),
            "podSecurityContext" | "securityContext" => {
                ctx.skip(&from, "our charts fix the user per image (restricted Pod Security); see migrate-data for the MariaDB uid change")
            }
            "persistentvolume" => storage(ctx, &from, value, first, &fn_name),
            "persistentvolumewdir" => claim(ctx, &from, value, "harvester.wdirs", &format!("{fn_name}-wdirs")),
            "persistentvolumecondor" => {
                claim(ctx, &from, value, "harvester.condorLogs", &format!("{fn_name}-condor-logs"))
            }
            "persistentvolumespecial" => special(ctx, &from, value, &fn_name),
            "persistentvolumerequests" => requests(ctx, &from, value, block, &fn_name),
            "sharedLogs" => {
                let name = value.get("name").and_then(text).unwrap_or_else(|| "panda-shared-logs".into());
                ctx.skip(&from, &format!(
                    "our charts create no shared claim; the existing claim {name} is kept and used through existingClaim by the workloads that used it (keep it when removing the old release or Application)"
                ));
            }
            "cvmfs" => cvmfs(ctx, &from, value, targets),
            "ingress" => ingress(ctx, &from, value, first),
            "ingress_big" => ctx.skip(&from, "our server has one Ingress (upstream's second one was disabled everywhere)"),
            "route" => route(ctx, &from, value, first, block),
            "hostName" if block.get("route").is_some_and(|r| truthy(r.get("enabled").unwrap_or(&Value::Null))) => {
                ctx.put(&from, &format!("{}.route.host", first.sub), value.clone())
            }
            "hostName" => ctx.skip(&from, "used by upstream's Route only, which is off here"),
            "extraEnv" => ctx.put(&from, &format!("{}.extraEnv", first.sub), value.clone()),
            "configFile" => config_file(ctx, &from, sub, value),
            "sharedCache" if truthy(value) => {
                let create = block.get("persistentvolume").and_then(|p| p.get("create")).is_some_and(truthy);
                if create {
                    ctx.skip(&from, "upstream kept the cache on the logs volume here");
                } else {
                    let to = format!("{}.cache", first.sub);
                    ctx.derive(
                        &from,
                        &to,
                        json!({"enabled": true, "type": "existingClaim", "existingClaim": fn_name}),
                        &format!("upstream's shared cache claim {fn_name} is reused"),
                    );
                }
            }
            "sharedCache" => ctx.skip(&from, "off"),
            "experiment" if ctx.chart == "harvester" => {
                if let Some(x) = text(value) {
                    ctx.site.insert(SiteRequest::Harvester(x));
                }
                ctx.skip(&from, "EXPERIMENT comes from the secrets values (harvester.experiment); the queue config and sandbox files of this name are imported as site files");
            }
            "serverConf" => {
                let mut conf = Map::new();
                for (k, x) in value.as_object().into_iter().flatten() {
                    conf.insert(k.clone(), integer(x).map_or_else(|| x.clone(), Value::from));
                }
                ctx.put(&from, &format!("{}.serverConf", first.sub), Value::Object(conf));
            }
            "restHost" | "bigmonURL" => {
                let to = if key == "bigmonURL" { "bigmonUrl" } else { "restHost" };
                for t in targets {
                    ctx.put(&from, &format!("{}.{to}", t.sub), value.clone());
                }
            }
            "installedAppsList" => ctx.put(&from, &format!("{}.installedAppsList", first.sub), value.clone()),
            "panda" => ctx.skip(&from, "upstream read panda.host only for its proxy settings; ours computes no_proxy"),
            "iddsServer" | "pilotcerts" | "persistentvolumerequests_test" | "initContainers" => {
                ctx.skip(&from, "read by no upstream template")
            }
            _ => {}
        }
    }
}

fn image(ctx: &mut Ctx, from: &str, v: &Value, targets: &[Target]) {
    for field in ["repository", "tag", "pullPolicy"] {
        let Some(x) = v.get(field).and_then(text) else { continue };
        let key = format!("{from}.{field}");
        if field == "tag" && (x.is_empty() || x == "latest") {
            ctx.skip(&key, "our charts refuse an unpinned tag: the chart's pinned tag stays (pin a build with image.digest, which Argo CD Image Updater's digest strategy writes)");
            continue;
        }
        for t in targets {
            ctx.put(&key, &format!("{}.image.{field}", t.sub), json!(x));
        }
    }
}

/// Upstream's two NoExecute tolerations of every heavy pod become the experiment's setting.
fn tolerations(ctx: &mut Ctx, from: &str, v: &Value, targets: &[Target]) {
    let list = v.as_array().cloned().unwrap_or_default();
    let node_failure = |t: &Value| {
        matches!(
            t.get("key").and_then(Value::as_str),
            Some("node.kubernetes.io/not-ready" | "node.kubernetes.io/unreachable")
        ) && t.get("effect").and_then(Value::as_str) == Some("NoExecute")
    };
    let (failure, other): (Vec<Value>, Vec<Value>) = list.into_iter().partition(node_failure);
    if let Some(seconds) = failure.first().and_then(|t| t.get("tolerationSeconds")).and_then(integer) {
        ctx.global(
            from,
            "nodeFailureTolerations",
            json!({"enabled": true, "tolerationSeconds": seconds}),
            "the not-ready/unreachable NoExecute pair: every pod of the experiment gets it",
        );
    }
    if !other.is_empty() {
        for t in targets {
            ctx.put(from, &format!("{}.tolerations", t.sub), Value::Array(other.clone()));
        }
    }
}

/// Node affinity is copied; upstream's anti-affinity on generic `app.kubernetes.io/name` values
/// becomes our spread rule over `app.kubernetes.io/component`.
fn affinity(ctx: &mut Ctx, from: &str, v: &Value, targets: &[Target]) {
    let mut rest = v.as_object().cloned().unwrap_or_default();
    if let Some(node) = rest.remove("nodeAffinity") {
        for t in targets {
            ctx.put(from, &format!("{}.affinity.nodeAffinity", t.sub), node.clone());
        }
    }
    if let Some(anti) = rest.remove("podAntiAffinity") {
        let terms = anti.get("preferredDuringSchedulingIgnoredDuringExecution").and_then(Value::as_array);
        let mut components = BTreeSet::new();
        let (mut weight, mut topology) = (0, None);
        for term in terms.into_iter().flatten() {
            weight = weight.max(term.get("weight").and_then(integer).unwrap_or(0));
            let inner = &term["podAffinityTerm"];
            topology = topology.or_else(|| inner.get("topologyKey").and_then(text));
            if let Some(name) =
                inner["labelSelector"]["matchLabels"].get("app.kubernetes.io/name").and_then(Value::as_str)
            {
                components.extend(components_for(name));
            }
        }
        if components.is_empty() || anti.get("requiredDuringSchedulingIgnoredDuringExecution").is_some() {
            ctx.skip(&format!("{from}.podAntiAffinity"), "selects upstream's labels, which our pods do not carry; express it with podAntiAffinity.components");
        } else {
            let rule = json!({
                "enabled": true,
                "weight": weight.clamp(1, 100),
                "topologyKey": topology.unwrap_or_else(|| "kubernetes.io/hostname".into()),
                "components": components.into_iter().collect::<Vec<_>>(),
            });
            for t in targets {
                ctx.derive(from, &format!("{}.podAntiAffinity", t.sub), rule.clone(), "upstream's rules on app.kubernetes.io/name become our spread rule on app.kubernetes.io/component");
            }
        }
    }
    if !rest.is_empty() {
        for t in targets {
            let mut left = Map::new();
            for (k, x) in &rest {
                left.insert(k.clone(), x.clone());
            }
            ctx.put(from, &format!("{}.affinity", t.sub), Value::Object(left));
        }
    }
}

/// `persistentvolume` of a workload.
fn storage(ctx: &mut Ctx, from: &str, v: &Value, target: &Target, fn_name: &str) {
    let key = match target.sub {
        "activemq" | "postgres" | "mariadb" => "data",
        _ => "logs",
    };
    let to = format!("{}.{key}", target.sub);
    let named =
        v.get("existingClaim").or_else(|| v.get("sharedPvcName")).and_then(text).filter(|s| !s.is_empty());
    let sub_path = v.get("subPath").and_then(text).filter(|s| !s.is_empty());
    for dead in ["create", "selector", "path", "reclaimPolicy"] {
        if v.get(dead).is_some() {
            ctx.skip(
                &format!("{from}.{dead}"),
                "our charts create no hostPath volumes and select no static ones",
            );
        }
    }
    match target.storage {
        Storage::Unused => {
            ctx.skip(from, "upstream created this claim but never mounted it");
        }
        Storage::Copied => {
            let mut spec = Map::new();
            spec.insert("type".into(), json!("claimTemplate"));
            class_and_size(ctx, from, v, &mut spec);
            let old = named.clone().unwrap_or_else(|| fn_name.to_string());
            ctx.derive(
                from,
                &to,
                Value::Object(spec),
                &format!(
                    "a new claim: this database's layout differs from upstream's (see migrate-data); the old claim {old}{} is kept and copied from",
                    sub_path.as_deref().map(|s| format!(" (subPath {s})")).unwrap_or_default()
                ),
            );
        }
        Storage::Reused | Storage::Logs => {
            let claim = match (target.storage, named) {
                (_, Some(n)) => Some(n),
                (Storage::Reused, None) => Some(fn_name.to_string()),
                _ => None,
            };
            match claim {
                Some(claim) => {
                    let mut spec = json!({"type": "existingClaim", "existingClaim": claim});
                    if let Some(s) = &sub_path {
                        spec["subPath"] = json!(s);
                    }
                    for extra in ["class", "size"] {
                        if v.get(extra).is_some() {
                            ctx.skip(
                                &format!("{from}.{extra}"),
                                "the existing claim keeps its class and size",
                            );
                        }
                    }
                    ctx.derive(from, &to, spec, &format!("upstream's claim {claim} is reused as it is (never deleted: panda-install --adopt marks it helm.sh/resource-policy: keep)"));
                }
                None => {
                    let mut spec = Map::new();
                    spec.insert("type".into(), json!("claimTemplate"));
                    class_and_size(ctx, from, v, &mut spec);
                    ctx.derive(from, &to, Value::Object(spec), "per-pod claims; upstream's own logs claims are not reused (logs start fresh, the old claims are kept)");
                }
            }
        }
    }
}

fn class_and_size(ctx: &mut Ctx, from: &str, v: &Value, spec: &mut Map<String, Value>) {
    if let Some(class) = v.get("class").and_then(text) {
        if class == "manual" || class.is_empty() {
            ctx.skip(
                &format!("{from}.class"),
                "upstream's hostPath class; the cluster's default class (or global.storageClass) applies",
            );
        } else {
            spec.insert("storageClass".into(), json!(class));
            ctx.used.insert(format!("{from}.class"));
        }
    }
    if let Some(size) = v.get("size").and_then(text) {
        spec.insert("size".into(), json!(size));
        ctx.used.insert(format!("{from}.size"));
    }
}

/// Harvester's work-dir and condor-logs volumes: upstream always had a claim (named, or its own).
fn claim(ctx: &mut Ctx, from: &str, v: &Value, to: &str, upstream_claim: &str) {
    let named = v.get("existingClaim").and_then(text).filter(|s| !s.is_empty());
    for dead in ["create", "selector", "path"] {
        if v.get(dead).is_some() {
            ctx.skip(
                &format!("{from}.{dead}"),
                "our charts create no hostPath volumes and select no static ones",
            );
        }
    }
    match named {
        Some(claim) => {
            let mut spec = json!({"type": "existingClaim", "existingClaim": claim});
            if let Some(s) = v.get("subPath").and_then(text).filter(|s| !s.is_empty()) {
                spec["subPath"] = json!(s);
            }
            ctx.derive(from, to, spec, &format!("upstream's claim {claim} is reused as it is"));
        }
        None => {
            for extra in ["class", "size"] {
                if v.get(extra).is_some() {
                    ctx.skip(&format!("{from}.{extra}"), "the existing claim keeps its class and size");
                }
            }
            let spec = json!({"type": "existingClaim", "existingClaim": upstream_claim});
            ctx.derive(from, to, spec, &format!("upstream's claim {upstream_claim} (always created) is reused: in-flight workers keep their files"));
        }
    }
}

fn special(ctx: &mut Ctx, from: &str, v: &Value, fn_name: &str) {
    if !v.get("mount").is_some_and(truthy) {
        ctx.skip(from, "off");
        return;
    }
    let claim = format!("{fn_name}-special-data");
    let mut spec = json!({"enabled": true, "volume": {"type": "existingClaim", "existingClaim": claim}});
    if let Some(p) = v.get("path").and_then(text) {
        spec["mountPath"] = json!(p);
    }
    if let Some(p) = v.get("logpath").and_then(text) {
        spec["logPath"] = json!(p);
    }
    ctx.derive(
        from,
        "harvester.specialData",
        spec,
        &format!("the site data area: upstream's claim {claim} is reused"),
    );
    if v.get("limit").is_some() {
        ctx.skip(&format!("{from}.limit"), "read by no upstream template");
    }
}

fn requests(ctx: &mut Ctx, from: &str, v: &Value, block: &Map<String, Value>, fn_name: &str) {
    if let Some(p) = v.get("path").and_then(text) {
        ctx.put(&format!("{from}.path"), "rest.requestsPath", json!(p));
    }
    if v.get("requestpath").is_some() {
        ctx.skip(&format!("{from}.requestpath"), "read by no upstream template");
    }
    let spec = if v.get("reuseLogsVolume").is_some_and(truthy) {
        let logs = block.get("persistentvolume");
        let claim = logs
            .and_then(|p| p.get("sharedPvcName").or_else(|| p.get("existingClaim")))
            .and_then(text)
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| fn_name.to_string());
        let mut spec = json!({"type": "existingClaim", "existingClaim": claim});
        if let Some(s) = v.get("subPath").and_then(text) {
            spec["subPath"] = json!(s);
        }
        spec
    } else {
        json!({"type": "existingClaim", "existingClaim": format!("{fn_name}-requests")})
    };
    let claim = spec["existingClaim"].as_str().unwrap_or_default().to_string();
    ctx.derive(from, "rest.requests", spec, &format!("large iDDS requests stay on upstream's claim {claim}"));
}

fn cvmfs(ctx: &mut Ctx, from: &str, v: &Value, targets: &[Target]) {
    let repositories: Vec<Value> = v
        .get("repositories")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("repository").and_then(text).map(Value::String))
        .collect();
    let enabled = v.get("enabled").is_some_and(truthy);
    for t in targets {
        ctx.put(from, &format!("{}.cvmfs", t.sub), json!({"enabled": enabled, "repositories": repositories}));
    }
}

fn ingress(ctx: &mut Ctx, from: &str, v: &Value, target: &Target) {
    let to = format!("{}.ingress", target.sub);
    let enabled = v.get("enabled").is_some_and(truthy);
    let host = v["hosts"][0].get("hostOverride").and_then(text).or_else(|| {
        v["hosts"][0]
            .get("domain")
            .and_then(text)
            .map(|d| format!("{}.{d}", fullname(&ctx.release, target.sub)))
    });
    if target.sub == "harvester" {
        ctx.skip(from, "our Harvester has no Ingress: publish /condor_logs through BigMon's host (main.condorLogs.enabled in bigmon.yaml)");
        return;
    }
    ctx.put(&format!("{from}.enabled"), &format!("{to}.enabled"), json!(enabled));
    if !enabled {
        ctx.used.insert(from.to_string());
        return;
    }
    if let Some(h) = host {
        ctx.put(&format!("{from}.hosts"), &format!("{to}.host"), json!(h));
    }
    ctx.derive(
        &format!("{from}.className"),
        &format!("{to}.className"),
        json!("nginx"),
        "upstream assumed ingress-nginx (kubernetes.io/ingress.class annotation)",
    );
    let paths: Vec<&Value> = v["hosts"][0]["paths"].as_array().into_iter().flatten().collect();
    if target.sub == "main"
        && ctx.chart == "bigmon"
        && paths.iter().any(|p| p.get("path").and_then(Value::as_str) == Some("/condor_logs"))
    {
        ctx.derive(
            &format!("{from}.hosts.paths"),
            "main.condorLogs.enabled",
            json!(true),
            "upstream routed /condor_logs on BigMon's host to Harvester: ours computes the Harvester Service (http port)",
        );
    }
    let annotations = v.get("annotations").and_then(Value::as_object).cloned().unwrap_or_default();
    for (k, x) in &annotations {
        let key = format!("{from}.annotations.{k}");
        if k == "nginx.ingress.kubernetes.io/ssl-passthrough" {
            ctx.put(&key, &format!("{to}.sslPassthrough"), json!(truthy(x)));
        } else {
            ctx.skip(
                &key,
                "our charts set their own ingress-nginx annotations (no class annotation, no snippets)",
            );
        }
    }
    if v.get("tls").is_some() {
        ctx.skip(&format!("{from}.tls"), "upstream ignored secretName and used <secrets>-<component>-tls-certs, as ours does (or ingress.existingTlsSecret)");
    }
    ctx.used.insert(from.to_string());
}

fn route(ctx: &mut Ctx, from: &str, v: &Value, target: &Target, block: &Map<String, Value>) {
    let enabled = v.get("enabled").is_some_and(truthy);
    ctx.put(&format!("{from}.enabled"), &format!("{}.route.enabled", target.sub), json!(enabled));
    if let Some(h) = v.get("hostName").and_then(text) {
        ctx.put(&format!("{from}.hostName"), &format!("{}.route.host", target.sub), json!(h));
    } else if enabled && block.get("hostName").is_none() {
        ctx.notes.add(from, Outcome::NotMapped, "", "no host given: set route.host");
    }
    ctx.used.insert(from.to_string());
}

fn config_file(ctx: &mut Ctx, from: &str, sub: &str, v: &Value) {
    let Some(name) = text(v) else { return };
    let default = if sub == "server" { "panda_server_config.json" } else { "panda_jedi_config.json" };
    if name == default {
        ctx.skip(from, "upstream's generic file: our chart renders the configuration from its values");
        return;
    }
    let request =
        if sub == "server" { SiteRequest::ServerConfig(name) } else { SiteRequest::JediConfig(name) };
    ctx.site.insert(request);
    ctx.used.insert(from.to_string());
    ctx.notes.add(from, Outcome::Mapped, &format!("files/panda/{default}"), "imported as a site file");
}

/// Which upstream sub-charts of a chart an experiment deploys: upstream's defaults, then the
/// experiment file's `<sub>.enabled`.
pub(crate) fn deploys(chart: &str, sub: &str, values: &Value) -> bool {
    get(values, &format!("{sub}.enabled")).map_or(enabled_by_default(chart, sub), truthy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Value {
        crate::settings::yaml::parse(text, std::path::Path::new("x")).unwrap()
    }

    fn mapped(chart: &str, component: Component, text: &str, install: &Install) -> Mapped {
        let values = parse(text);
        let input =
            Input { component, chart, source: format!("helm/{chart}/values/values-x.yaml"), values: &values };
        map("x", &[input], install)
    }

    #[test]
    fn shared_logs_and_data_claims_are_reused() {
        let m = mapped(
            "panda",
            Component::Panda,
            "server:\n  persistentvolume: {create: false, sharedPvcName: panda-shared-logs, subPath: server-logs, size: 50Gi}\n  configFile: panda_server_config.cern.json\npostgres:\n  enabled: true\n  persistentvolume: {class: manual}\n",
            &Install::bin_install("test-"),
        );
        let panda = Value::Object(m.components[&Component::Panda].clone());
        assert_eq!(
            get(&panda, "server.logs"),
            Some(
                &json!({"type": "existingClaim", "existingClaim": "panda-shared-logs", "subPath": "server-logs"})
            )
        );
        assert_eq!(
            get(&panda, "postgres.data"),
            Some(&json!({"type": "existingClaim", "existingClaim": "test-panda-postgres"}))
        );
        assert!(m.site.contains(&SiteRequest::ServerConfig("panda_server_config.cern.json".into())));
        assert!(m
            .notes
            .iter()
            .any(|n| n.key == "server.persistentvolume.create" && n.outcome == Outcome::NotMapped));
    }

    #[test]
    fn tolerations_anti_affinity_latest_and_databases() {
        let m = mapped(
            "harvester",
            Component::Harvester,
            r#"
harvester:
  image: {tag: latest}
  tolerations:
    - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 30}
    - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 30}
  affinity:
    podAntiAffinity:
      preferredDuringSchedulingIgnoredDuringExecution:
        - {weight: 100, podAffinityTerm: {labelSelector: {matchLabels: {app.kubernetes.io/name: rest}}, topologyKey: kubernetes.io/hostname}}
  noRoot: true
mariadb:
  podSecurityContext: {fsGroup: 1001}
  persistentvolume: {existingClaim: panda-shared-logs, subPath: mariadb-data, class: ceph, size: 9Gi}
"#,
            &Install::ArgoCd,
        );
        let h = Value::Object(m.components[&Component::Harvester].clone());
        assert_eq!(
            get(&Value::Object(m.global.clone()), "nodeFailureTolerations.tolerationSeconds"),
            Some(&json!(30))
        );
        assert_eq!(get(&Value::Object(m.global.clone()), "platformAssignsIds"), Some(&json!(true)));
        assert_eq!(get(&h, "harvester.podAntiAffinity.components"), Some(&json!(["daemon", "rest"])));
        assert_eq!(get(&h, "harvester.image"), None, "latest is not carried");
        assert_eq!(
            get(&h, "harvester.healthMonitor.enabled"),
            Some(&json!(true)),
            "upstream ran it everywhere"
        );
        assert_eq!(
            get(&h, "mariadb.data"),
            Some(&json!({"type": "claimTemplate", "storageClass": "ceph", "size": "9Gi"}))
        );
        assert!(m
            .notes
            .iter()
            .any(|n| n.key == "mariadb.podSecurityContext" && n.outcome == Outcome::NotMapped));
    }

    #[test]
    fn the_health_monitor_follows_harvester() {
        let off =
            mapped("harvester", Component::Harvester, "harvester:\n  enabled: false\n", &Install::ArgoCd);
        let h = Value::Object(off.components[&Component::Harvester].clone());
        assert_eq!(get(&h, "harvester.healthMonitor"), None);
        let on = mapped("harvester", Component::Harvester, "mariadb:\n  enabled: true\n", &Install::ArgoCd);
        let h = Value::Object(on.components[&Component::Harvester].clone());
        assert_eq!(get(&h, "harvester.healthMonitor.enabled"), Some(&json!(true)));
        assert!(on
            .notes
            .iter()
            .any(|n| n.key == "(harvester health monitor)" && n.outcome == Outcome::Derived));
    }

    #[test]
    fn every_key_is_accounted_for() {
        let m = mapped("bigmon", Component::Bigmon, "main:\n  weird: 1\n  ingress: {enabled: true, hosts: [{domain: cern.ch, hostOverride: b.cern.ch, paths: [{path: /condor_logs}]}], tls: [{secretName: default}]}\nextra: {a: 1}\n", &Install::ArgoCd);
        let keys: Vec<(&str, Outcome)> = m.notes.iter().map(|n| (n.key.as_str(), n.outcome)).collect();
        assert!(keys.contains(&("main.weird", Outcome::NotMapped)), "{keys:?}");
        assert!(keys.contains(&("extra", Outcome::NotMapped)), "{keys:?}");
        let b = Value::Object(m.components[&Component::Bigmon].clone());
        assert_eq!(get(&b, "main.ingress.host"), Some(&json!("b.cern.ch")));
        assert_eq!(get(&b, "main.condorLogs.enabled"), Some(&json!(true)));
    }
}
