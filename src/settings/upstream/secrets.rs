//! Upstream's `secrets/values.yaml` (snake_case, read by its templates) onto our secrets chart
//! (camelCase, strict schema). Every upstream key ends up mapped, derived into what the running
//! deployment actually used, or reported with a reason. What upstream's templates computed or
//! hard-coded is carried over as such, so the identities of the running system stay:
//! MariaDB root passwords are `<password>-admin` (Harvester) and `<password>_admin` (IAM), not the
//! `admin_password`/`root_password` keys (read only by Secrets nothing mounts); bin/install's
//! Harvester ID is the release name (`global.deploymentName` wins over `harvesterID`); the IAM
//! keystore is the file upstream mounted; ActiveMQ's account passwords follow from the same
//! base password by the same rule in both charts.

use super::names::Install;
use super::{get, integer, leaf_paths, set, text, truthy, Notes, Outcome};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

/// What upstream kept beside its secrets values that our values carry.
#[derive(Debug, Clone, Default)]
pub(crate) struct Files {
    /// `secrets/files/iam_conf/iam-keystore.jwks`.
    pub(crate) keystore: Option<String>,
    /// `secrets/files/iam_conf/application-oidc.yml` exists (copied as a file, so our chart
    /// renders no provider of its own).
    pub(crate) oidc_file: bool,
}

pub(crate) const SOURCE: &str = "secrets/values.yaml";

/// JEDI's own queues: our broker admits non-admins only on destinations of a channel.
const JEDI_CHANNELS: [&str; 2] = ["jedi_contents_feeder:jedi:jedi", "jedi_job_generator:jedi:jedi"];

struct Mapper<'a> {
    up: &'a Value,
    out: Map<String, Value>,
    notes: Notes,
    used: BTreeSet<String>,
}

impl Mapper<'_> {
    fn value(&mut self, from: &str) -> Option<Value> {
        self.used.insert(from.to_string());
        get(self.up, from).cloned()
    }

    /// A plain rename; `kind` converts upstream's strings ("5432", "true") to our types.
    fn rename(&mut self, from: &str, to: &str, kind: Kind) {
        let Some(v) = self.value(from) else { return };
        match kind.convert(&v) {
            Some(converted) => {
                set(&mut self.out, to, converted);
                self.notes.mapped(from, &format!("secrets: {to}"));
            }
            None => self.notes.not_mapped(from, &format!("not a {} as our {to} needs", kind.name())),
        }
    }

    fn derived(&mut self, key: &str, to: &str, value: Value, reason: &str) {
        set(&mut self.out, to, value);
        self.notes.add(key, Outcome::Derived, &format!("secrets: {to}"), reason);
    }

    fn text(&mut self, from: &str) -> Option<String> {
        self.value(from).as_ref().and_then(text)
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Str,
    Int,
    Bool,
    List,
}

impl Kind {
    fn convert(self, v: &Value) -> Option<Value> {
        match self {
            Kind::Str => text(v).map(Value::String),
            Kind::Int => integer(v).map(Value::from),
            Kind::Bool => Some(Value::Bool(truthy(v))),
            Kind::List => v.is_array().then(|| v.clone()),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Str => "string",
            Kind::Int => "number",
            Kind::Bool => "boolean",
            Kind::List => "list",
        }
    }
}

fn is_fixme(v: Option<&str>) -> bool {
    v.is_some_and(|s| s.trim() == "FIXME")
}

/// Maps upstream's secrets values; returns our values (only the keys set) and the notes.
pub(crate) fn map(up: &Value, install: &Install, files: &Files) -> (Value, Notes) {
    let mut m = Mapper { up, out: Map::new(), notes: Notes::new(SOURCE), used: BTreeSet::new() };
    use Kind::*;

    // affix: our releases and the hosts in the Secrets follow it as upstream's refs did
    if let Some(affix) = m.text("affix") {
        match crate::settings::affix::Affix::parse(&affix) {
            Ok(_) => {
                set(&mut m.out, "affix", Value::String(affix));
                m.notes.mapped("affix", "secrets: affix");
            }
            Err(why) => m.notes.not_mapped(
                "affix",
                &format!("{why}; our chart default (test-) applies: set affix in secrets-values.yaml to the one your releases should have (or pass -a to install)"),
            ),
        }
    }

    auth(&mut m);
    msgsvc(&mut m);
    panda(&mut m);
    harvester(&mut m, install);
    idds(&mut m);
    bigmon(&mut m);
    ui(&mut m);
    iam(&mut m, files);
    for (from, to) in [
        ("rucio.rucioHost", "rucio.host"),
        ("rucio.authHost", "rucio.authHost"),
        ("rucio.account", "rucio.account"),
        ("rucio.username", "rucio.username"),
        ("rucio.password", "rucio.password"),
        ("rucio.clientX509Proxy", "rucio.clientX509Proxy"),
        ("rucio.caCert", "rucio.caCert"),
        ("rucio.oidcAudience", "rucio.oidc.audience"),
        ("rucio.oidcScope", "rucio.oidc.scope"),
        ("rucio.oidcIssuer", "rucio.oidc.issuer"),
    ] {
        m.rename(from, to, Str);
    }
    enumerated(&mut m, "rucio.authType", "rucio.authType", &["userpass", "x509_proxy", "oidc"], "userpass");
    m.rename("rucio.oidcRefreshActive", "rucio.oidc.refreshActive", Bool);
    m.rename("rucio.oidcRefreshBeforeExp", "rucio.oidc.refreshBeforeExp", Int);
    m.rename("cric.real", "cric.real", Bool);
    for key in ["costMetrix", "ddmBlackList", "ddmEndpoints", "schedConfig", "sites", "objectStores"] {
        m.rename(&format!("cric.{key}"), &format!("cric.{key}"), Str);
    }
    for key in ["httpProxy", "httpsProxy", "noProxy"] {
        m.rename(&format!("proxy.{key}"), &format!("proxy.{key}"), Str);
    }
    if get(up, "proxy.httpProxy").is_some() && get(up, "proxy.httpsProxy").is_some() {
        m.notes.add(
            "proxy.httpsProxy",
            Outcome::Mapped,
            "secrets: proxy.httpsProxy",
            "upstream wrote httpProxy into https_proxy when both were set; ours uses httpsProxy",
        );
    }
    object_store(&mut m);

    // everything upstream's templates never read
    for path in leaf_paths(up) {
        let used = m.used.iter().any(|u| path == *u || path.starts_with(&format!("{u}.")));
        if !used {
            m.notes.not_mapped(&path, "upstream's templates do not read this key; nothing to carry over");
        }
    }
    (Value::Object(m.out), m.notes)
}

fn auth(m: &mut Mapper) {
    use Kind::*;
    enumerated(m, "auth.auth", "auth.method", &["oidc", "x509"], "oidc");
    m.rename("auth.authIdToken", "auth.idToken", Str);
    m.rename("auth.authVO", "auth.vo", Str);
    m.rename("auth.auth_client_id", "auth.internalClient.clientId", Str);
    m.rename("auth.auth_client_secret", "auth.internalClient.clientSecret", Str);
    m.rename("auth.auth_endpoint", "auth.internalClient.tokenEndpoint", Str);
    if m.value("auth.config_url").is_some() {
        m.notes.not_mapped(
            "auth.config_url",
            "the internal client's OpenID configuration URL; ours takes auth.oidc.configUrl (set that if they differ)",
        );
    }
    m.rename("auth.oidc.audience", "auth.oidc.audience", Str);
    m.rename("auth.oidc.config_url", "auth.oidc.configUrl", Str);
    if let Some(Value::Array(clients)) = m.value("auth.oidc.clients") {
        let mut out = Vec::new();
        for (i, c) in clients.iter().enumerate() {
            let mut client = Map::new();
            for (from, to) in [
                ("name", "name"),
                ("client_id", "clientId"),
                ("client_secret", "clientSecret"),
                ("robot_ids", "robotIds"),
                ("audience", "audience"),
                ("config_url", "configUrl"),
                ("jwt_profile", "jwtProfile"),
            ] {
                let value = c.get(from).and_then(text).unwrap_or_default();
                client.insert(to.into(), Value::String(value));
            }
            let known =
                ["name", "client_id", "client_secret", "robot_ids", "audience", "config_url", "jwt_profile"];
            for key in
                c.as_object().into_iter().flat_map(|o| o.keys()).filter(|k| !known.contains(&k.as_str()))
            {
                m.notes
                    .not_mapped(&format!("auth.oidc.clients[{i}].{key}"), "not read by upstream's templates");
            }
            out.push(Value::Object(client));
        }
        set(&mut m.out, "auth.oidc.clients", Value::Array(out));
        m.notes.add(
            "auth.oidc.clients",
            Outcome::Mapped,
            "secrets: auth.oidc.clients",
            "client_id, client_secret (absent: a public client, \"\"), robot_ids, audience, config_url, jwt_profile \
             become clientId, clientSecret, robotIds, audience, configUrl, jwtProfile",
        );
    }
    for (from, to) in [
        ("client_name", "clientName"),
        ("client_id", "clientId"),
        ("client_secret", "clientSecret"),
        ("endpoint", "endpoint"),
    ] {
        m.rename(&format!("auth.oidc.token_cache.{from}"), &format!("auth.oidc.tokenCache.{to}"), Str);
    }
}

fn msgsvc(m: &mut Mapper) {
    use Kind::*;
    m.rename("msgsvc.enabled", "msgsvc.enabled", Bool);
    m.rename("msgsvc.basePasswd", "msgsvc.basePassword", Str);
    if m.value("msgsvc.basePasswd").is_some() {
        m.notes.add(
            "msgsvc.basePasswd",
            Outcome::Derived,
            "secrets: msgsvc.basePassword",
            "the account passwords <base>_<account> (panda, jedi, idds, pilot, ...) follow from it in both charts: the broker's users keep their passwords",
        );
    }
    m.rename("msgsvc.accounts", "msgsvc.accounts", List);
    if let Some(Value::Array(channels)) = m.value("msgsvc.channels") {
        let mut list: Vec<Value> = channels.clone();
        let mut added = Vec::new();
        for extra in JEDI_CHANNELS {
            let name = extra.split(':').next().unwrap_or_default();
            let present = list.iter().filter_map(Value::as_str).any(|c| c.split(':').next() == Some(name));
            if !present {
                list.push(Value::String(extra.into()));
                added.push(extra);
            }
        }
        set(&mut m.out, "msgsvc.channels", Value::Array(list));
        m.notes.mapped("msgsvc.channels", "secrets: msgsvc.channels");
        if !added.is_empty() {
            m.notes.add(
                "msgsvc.channels",
                Outcome::Added,
                "secrets: msgsvc.channels",
                &format!(
                    "added {}: our broker admits non-admin accounts only on destinations of a channel, and JEDI uses these queues",
                    added.join(", ")
                ),
            );
        }
    }
}

fn panda(m: &mut Mapper) {
    use Kind::*;
    m.rename("panda.enabled", "panda.enabled", Bool);
    m.rename("panda.existingTlsSecret", "panda.existingTlsSecret", Str);
    m.rename("panda.hostName", "panda.hostName", Str);
    enumerated(m, "panda.verifyHost", "panda.verifyHost", &["on", "off"], "off");
    m.rename("panda.configRoot", "panda.configRoot", Str);
    enumerated(m, "panda.database.backend", "panda.database.backend", &["postgres", "oracle"], "postgres");
    m.rename("panda.database.dbhost", "panda.database.host", Str);
    m.rename("panda.database.dbport", "panda.database.port", Int);
    m.rename("panda.database.name", "panda.database.name", Str);
    m.rename("panda.database.user", "panda.database.user", Str);
    m.rename("panda.database.password", "panda.database.password", Str);
    for (from, to) in [
        ("schemapanda", "schemaPanda"),
        ("schemameta", "schemaMeta"),
        ("schemapandaarch", "schemaPandaArch"),
        ("schemajedi", "schemaJedi"),
        ("schemadeft", "schemaDeft"),
    ] {
        m.rename(&format!("panda.database.{from}"), &format!("panda.database.{to}"), Str);
    }
    let external = m.text("panda.database.dbhost").is_some_and(|h| !h.is_empty());
    let oracle = m.text("panda.database.backend").as_deref() == Some("oracle");
    let (value, reason) = if external || oracle {
        ("", "an external database: no in-cluster superuser")
    } else {
        ("password", "upstream never set POSTGRES_PASSWORD: the running panda-database keeps the image's built-in superuser password; change it after the move")
    };
    m.derived("panda.database", "panda.database.superuserPassword", Value::String(value.into()), reason);
    fixed_port(m, "panda.port", 80, "the server's plain port (Service port 80 in our charts)");
    fixed_port(m, "panda.sslPort", 443, "the server's TLS port (Service port 443 in our charts)");
}

fn harvester(m: &mut Mapper, install: &Install) {
    use Kind::*;
    m.rename("harvester.enabled", "harvester.enabled", Bool);
    m.rename("harvester.experiment", "harvester.experiment", Str);
    m.rename("harvester.condorChannel", "harvester.condorChannel", Str);
    m.rename("harvester.replicaCount", "harvester.replicaCount", Int);
    let configured = m.text("harvester.harvesterID");
    match install {
        Install::BinInstall { .. } => {
            let release = install.release("harvester");
            m.derived(
                "harvester.harvesterID",
                "harvester.harvesterId",
                Value::String(release.clone()),
                &format!(
                    "bin/install set global.deploymentName, so the running Harvester's HARVESTER_ID is its release name {release} (harvesterID was overridden): PanDA's harvester_instances row and worker ownership carry over"
                ),
            );
        }
        Install::ArgoCd => {
            if let Some(id) = configured {
                set(&mut m.out, "harvester.harvesterId", Value::String(id));
                m.notes.mapped("harvester.harvesterID", "secrets: harvester.harvesterId");
            }
        }
    }
    m.rename("harvester.database.name", "harvester.database.name", Str);
    m.rename("harvester.database.user", "harvester.database.user", Str);
    m.rename("harvester.database.password", "harvester.database.password", Str);
    m.rename("harvester.database.dbhost", "harvester.database.host", Str);
    m.rename("harvester.database.dbhost_add_index", "harvester.database.hostAddIndex", Bool);
    m.rename("harvester.database.dbhost_prefix", "harvester.database.hostPrefix", Str);
    m.rename("harvester.database.dbhost_domain", "harvester.database.hostDomain", Str);
    m.rename("harvester.database.db_add_index", "harvester.database.dbAddIndex", Bool);
    m.rename("harvester.database.name_prefix", "harvester.database.namePrefix", Str);
    root_password(m, "harvester", "-admin", "admin_password", "harvester-envs", "harvester-db");
}

fn idds(m: &mut Mapper) {
    use Kind::*;
    m.rename("idds.enabled", "idds.enabled", Bool);
    enumerated(m, "idds.database.backend", "idds.database.backend", &["postgres", "oracle"], "postgres");
    m.rename("idds.database.name", "idds.database.name", Str);
    m.rename("idds.database.user", "idds.database.user", Str);
    m.rename("idds.database.password", "idds.database.password", Str);
    m.rename("idds.database.schema", "idds.database.schema", Str);
    m.rename("idds.database.port", "idds.database.port", Int);
    // dbhost (a TNS alias) wins over host where upstream's template reads both
    let dbhost = m.text("idds.database.dbhost").filter(|h| !h.is_empty());
    let host = m.text("idds.database.host");
    if let Some(h) = dbhost.or(host) {
        set(&mut m.out, "idds.database.host", Value::String(h));
        m.notes.mapped("idds.database.host", "secrets: idds.database.host (dbhost wins, as upstream)");
    }
    fixed_port(m, "idds.restPort", 8443, "the iDDS REST port (8443 in our charts)");
}

fn bigmon(m: &mut Mapper) {
    use Kind::*;
    m.rename("bigmon.enabled", "bigmon.enabled", Bool);
    m.rename("bigmon.existingTlsSecret", "bigmon.existingTlsSecret", Str);
    m.rename("bigmon.base_url", "bigmon.baseUrl", Str);
    m.rename("bigmon.hostname", "bigmon.hostName", Str);
    enumerated(
        m,
        "bigmon.deployment",
        "bigmon.deployment",
        &["", "POSTGRES", "ORACLE_ATLAS", "ORACLE_DOMA"],
        "",
    );
    enumerated(
        m,
        "bigmon.dbaccess",
        "bigmon.dbAccess",
        &["", "dbaccess_postgres", "dbaccess_oracle_atlas", "dbaccess_oracle_doma"],
        "",
    );
    let legacy = m.text("bigmon.dbBackend");
    if get(m.up, "bigmon.database.backend").is_some() {
        enumerated(m, "bigmon.database.backend", "bigmon.database.backend", &["", "postgres", "oracle"], "");
    } else if let Some(b) = legacy.filter(|b| b == "postgres" || b == "oracle") {
        set(&mut m.out, "bigmon.database.backend", Value::String(b));
        m.notes.mapped("bigmon.dbBackend", "secrets: bigmon.database.backend");
    }
    m.rename("bigmon.database.dbhost", "bigmon.database.host", Str);
    m.rename("bigmon.database.dbport", "bigmon.database.port", Int);
    m.rename("bigmon.database.name", "bigmon.database.name", Str);
    m.rename("bigmon.database.user", "bigmon.database.user", Str);
    m.rename("bigmon.database.password", "bigmon.database.password", Str);
    if get(m.up, "bigmon.database").is_some() && get(m.up, "bigmon.database.name").is_none() {
        m.notes.add(
            "bigmon.database",
            Outcome::Mapped,
            "secrets: bigmon.database",
            "upstream used the bigmon.database block as soon as it existed (empty PANDA_DB_NAME/HOST then); ours takes each field left empty from panda.database",
        );
    }
    m.rename("bigmon.numWSGI", "bigmon.numWsgi", Int);
    m.rename("bigmon.vo", "bigmon.vo", Str);
    m.rename("bigmon.secretKey", "bigmon.secretKey", Str);
    m.rename("bigmon.debugMode", "bigmon.debugMode", Bool);
    enumerated(m, "bigmon.logs_provider", "bigmon.logsProvider", &["rucio", "cric"], "rucio");
    m.rename("bigmon.bigmon_extra", "bigmon.installedApps", Str);
    m.rename("bigmon.prmonLocation", "bigmon.prmonLocation", Str);
    if let Some(Value::Object(providers)) = m.value("bigmon.auth.providers") {
        for (name, p) in &providers {
            let ours = match name.to_ascii_lowercase().as_str() {
                "cern" | "cernoidc" => Some("cern"),
                "google" | "google-oauth2" | "google_oauth2" => Some("google"),
                "github" => Some("github"),
                "indigoiam" => Some("indigoiam"),
                _ => None,
            };
            let key = format!("bigmon.auth.providers.{name}");
            let Some(ours) = ours else {
                m.notes.not_mapped(
                    &key,
                    "BigMon of our charts knows the providers cern, google, github and indigoiam only",
                );
                continue;
            };
            let target = format!("bigmon.auth.providers.{ours}");
            set(&mut m.out, &format!("{target}.enabled"), Value::Bool(true));
            let mut fields = vec!["key", "secret"];
            if ours == "indigoiam" {
                fields.push("basePath");
            }
            for field in fields {
                let value = p.get(field).and_then(text).unwrap_or_default();
                set(&mut m.out, &format!("{target}.{field}"), Value::String(value));
            }
            m.notes.add(
                &key,
                Outcome::Mapped,
                &format!("secrets: {target}"),
                "listed in BIGMON_AUTH_PROVIDER_LIST upstream, so enabled",
            );
            for extra in p.as_object().into_iter().flat_map(|o| o.keys()) {
                if !["key", "secret", "basePath"].contains(&extra.as_str())
                    || (extra == "basePath" && ours != "indigoiam")
                {
                    m.notes.not_mapped(&format!("{key}.{extra}"), "our chart has no such provider setting");
                }
            }
        }
    }
}

fn ui(m: &mut Mapper) {
    use Kind::*;
    let credentials = ["ui.secret", "ui.database.pandaui.password", "ui.iam.secret"];
    let never_configured = credentials.iter().all(|k| is_fixme(get(m.up, k).and_then(Value::as_str)));
    if let Some(enabled) = m.value("ui.enabled") {
        if truthy(&enabled) && never_configured {
            m.derived(
                "ui.enabled",
                "ui.enabled",
                Value::Bool(false),
                "every UI credential is still FIXME: the UI was never configured, so its Secrets are not created (enable it when you deploy the ui component)",
            );
            // its placeholders stay out, so that nothing is left to fill for an instance without the UI
            for key in leaf_paths(get(m.up, "ui").unwrap_or(&Value::Null)) {
                if key != "enabled" {
                    m.value(&format!("ui.{key}"));
                    m.notes.not_mapped(&format!("ui.{key}"), "the UI was never configured (every credential FIXME): left at our chart's empty default");
                }
            }
            return;
        } else {
            m.rename("ui.enabled", "ui.enabled", Bool);
        }
    }
    m.rename("ui.secret", "ui.secretKey", Str);
    m.rename("ui.numWSGI", "ui.numWsgi", Int);
    enumerated(m, "ui.database.pandaui.vendor", "ui.database.vendor", &["oracle", "postgresql"], "oracle");
    m.rename("ui.database.pandaui.host", "ui.database.host", Str);
    if let Some(port) = m.value("ui.database.pandaui.port") {
        if let Some(p) = integer(&port) {
            set(&mut m.out, "ui.database.port", Value::from(p));
            m.notes.mapped("ui.database.pandaui.port", "secrets: ui.database.port");
        } else {
            m.notes.not_mapped(
                "ui.database.pandaui.port",
                "empty: the chart's default (5432, or tnsnames.ora for Oracle) applies",
            );
        }
    }
    m.rename("ui.database.pandaui.service", "ui.database.name", Str);
    m.rename("ui.database.pandaui.user", "ui.database.user", Str);
    m.rename("ui.database.pandaui.password", "ui.database.password", Str);
    m.rename("ui.database.schema.panda", "ui.database.schemaPanda", Str);
    m.rename("ui.database.schema.pandaui", "ui.database.schemaPandaui", Str);
    m.rename("ui.iam.endpoint", "ui.iam.endpoint", Str);
    m.rename("ui.iam.client", "ui.iam.clientId", Str);
    m.rename("ui.iam.secret", "ui.iam.clientSecret", Str);
}

fn iam(m: &mut Mapper, files: &Files) {
    use Kind::*;
    m.rename("iam.enabled", "iam.enabled", Bool);
    m.rename("iam.profiles", "iam.profiles", Str);
    m.rename("iam.base_url", "iam.baseUrl", Str);
    m.rename("iam.port", "iam.port", Int);
    m.rename("iam.database.host", "iam.database.host", Str);
    m.rename("iam.database.name", "iam.database.name", Str);
    m.rename("iam.database.user", "iam.database.user", Str);
    m.rename("iam.database.password", "iam.database.password", Str);
    root_password(m, "iam", "_admin", "root_password", "iam-db-envs", "iam-db");
    m.rename("iam.cilogon.client_id", "iam.oidcProvider.clientId", Str);
    m.rename("iam.cilogon.client_secret", "iam.oidcProvider.clientSecret", Str);
    // what upstream's iam-envs hard-coded: the running IAM's face and mail
    for (to, value) in [
        ("iam.organisationName", json!("Rubin")),
        ("iam.topbarTitle", json!("PanDA Rubin")),
        ("iam.logoUrl", json!("https://atlpan.web.cern.ch/atlpan/PanDA-rev-logo-300.jpg")),
        ("iam.registrationOidcIssuer", json!("https://cilogon.org")),
        ("iam.mail.host", json!("smtp.cern.ch")),
        ("iam.mail.port", json!(587)),
        ("iam.notification.from", json!("panda-doma-no-reply@cern.ch")),
        ("iam.notification.adminAddress", json!("panda-doma-admins@cern.ch")),
        ("iam.extraEnv.IAM_LOGO_HEIGHT", json!("200")),
        ("iam.extraEnv.IAM_LOGO_WIDTH", json!("200")),
    ] {
        set(&mut m.out, to, value);
        m.notes.add(
            "(iam-envs template)",
            Outcome::Derived,
            &format!("secrets: {to}"),
            "hard-coded in upstream's iam-envs: the running IAM keeps it",
        );
    }
    for (key, value) in [
        ("IAM_ACCESS_TOKEN_INCLUDE_AUTHN_INFO", "true"),
        ("IAM_LOCAL_AUTHN_LOGIN_PAGE_VISIBILITY", "hidden"),
        ("IAM_CLIENT_REGISTRATION_ALLOW_FOR", "REGISTERED_USERS"),
        ("IAM_LOCAL_AUTHN_ENABLED_FOR", "vo-admins"),
        ("IAM_REGISTRATION_REQUIRE_EXTERNAL_AUTHENTICATION", "true"),
        ("IAM_FORWARD_HEADERS_STRATEGY", "native"),
    ] {
        set(&mut m.out, &format!("iam.extraEnv.{key}"), json!(value));
    }
    m.notes.add(
        "(iam-envs template)",
        Outcome::Derived,
        "secrets: iam.extraEnv",
        "upstream's hard-coded IAM policy variables (token authn info, login page, registration, forwarded headers)",
    );
    match &files.keystore {
        Some(jwks) => m.derived(
            "files/iam_conf/iam-keystore.jwks",
            "iam.keystore",
            Value::String(jwks.clone()),
            "the key set that signed the running IAM's tokens: issued tokens stay valid",
        ),
        None => m.notes.not_mapped(
            "files/iam_conf/iam-keystore.jwks",
            "not found: set iam.keystore to the running IAM's key set, or every token it issued becomes invalid",
        ),
    }
    if files.oidc_file {
        m.notes.add(
            "files/iam_conf/application-oidc.yml",
            Outcome::Mapped,
            "secrets/files/iam_conf/application-oidc.yml",
            "copied: our chart renders no provider file of its own when it exists",
        );
    }
}

fn object_store(m: &mut Mapper) {
    // upstream's template read host/bucket/accesskey/secretkey while its values file has
    // host_name/bucket_name/access_key/secret_key: the running BigMon got what the template read
    let pairs = [
        ("host", "host_name", "bigmon.objectStore.host"),
        ("bucket", "bucket_name", "bigmon.objectStore.bucket"),
        ("accesskey", "access_key", "bigmon.objectStore.accessKey"),
        ("secretkey", "secret_key", "bigmon.objectStore.secretKey"),
    ];
    for (read, documented, to) in pairs {
        let live = m.text(&format!("object_store.{read}"));
        let meant = m.text(&format!("object_store.{documented}"));
        match (live, meant) {
            (Some(v), _) => {
                set(&mut m.out, to, Value::String(v));
                m.notes.mapped(&format!("object_store.{read}"), &format!("secrets: {to}"));
            }
            (None, Some(v)) if !is_fixme(Some(&v)) && !v.is_empty() => {
                set(&mut m.out, to, Value::String(v));
                m.notes.add(
                    &format!("object_store.{documented}"),
                    Outcome::Mapped,
                    &format!("secrets: {to}"),
                    "upstream's template never read this key (it read another name), so the running BigMon had no object store: this enables it",
                );
            }
            (None, Some(_)) => {
                set(&mut m.out, to, Value::String(String::new()));
                m.notes.add(
                    &format!("object_store.{documented}"),
                    Outcome::Derived,
                    &format!("secrets: {to}"),
                    "a placeholder upstream's template never read: the running BigMon had no object store, and neither does this",
                );
            }
            (None, None) => {}
        }
    }
    if let Some(port) = m.value("object_store.port") {
        if let Some(p) = integer(&port) {
            set(&mut m.out, "bigmon.objectStore.port", Value::from(p));
            m.notes.mapped("object_store.port", "secrets: bigmon.objectStore.port");
        }
    }
}

/// The MariaDB root password upstream's env Secret actually gave the server: the user's password
/// with a suffix; its own root-password key fed only a Secret nothing mounts.
fn root_password(m: &mut Mapper, component: &str, suffix: &str, unused: &str, live: &str, dead: &str) {
    let password_key = format!("{component}.database.password");
    if let Some(password) = m.text(&password_key) {
        let root = if is_fixme(Some(&password)) { password } else { format!("{password}{suffix}") };
        m.derived(
            &password_key,
            &format!("{component}.database.rootPassword"),
            Value::String(root),
            &format!("upstream's MARIADB_ROOT_PASSWORD ({live}) was <password>{suffix}: the running MariaDB's root password"),
        );
    }
    let unused_key = format!("{component}.database.{unused}");
    if m.value(&unused_key).is_some() {
        m.notes.not_mapped(
            &unused_key,
            &format!("read only by the Secret {dead}, which nothing mounts; the live root password is <password>{suffix} (derived)"),
        );
    }
}

/// A key whose values our schema enumerates; FIXME or an unknown value falls back to `default`.
fn enumerated(m: &mut Mapper, from: &str, to: &str, allowed: &[&str], default: &str) {
    let Some(v) = m.text(from) else { return };
    if allowed.contains(&v.as_str()) {
        set(&mut m.out, to, Value::String(v));
        m.notes.mapped(from, &format!("secrets: {to}"));
    } else {
        set(&mut m.out, to, Value::String(default.into()));
        let shown = if default.is_empty() {
            "\"\" (computed from the backend)".to_string()
        } else {
            default.to_string()
        };
        m.notes.add(
            from,
            Outcome::Derived,
            &format!("secrets: {to}"),
            &format!(
                "not one of {}: {shown}, what upstream's template fell back to or computed",
                allowed.join(", ")
            ),
        );
    }
}

/// A port upstream let you change and our charts fix.
fn fixed_port(m: &mut Mapper, from: &str, fixed: i64, what: &str) {
    let Some(v) = m.value(from) else { return };
    if integer(&v) == Some(fixed) {
        m.notes.add(from, Outcome::Mapped, "(fixed in the charts)", &format!("{what}; the same value"));
    } else {
        m.notes.not_mapped(
            from,
            &format!("{what} is fixed at {fixed}; a client using another port must change"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream() -> Value {
        crate::settings::yaml::parse(
            r#"
affix: "test-"
auth:
  auth: oidc
  authIdToken: "canary-token"
  authVO: panda_dev
  oidc:
    audience: "https://a"
    config_url: "https://c"
    clients:
      - name: panda_dev
        client_id: id
        robot_ids: r
    token_cache: {client_name: pilot_server, client_id: x, client_secret: canary-tc, endpoint: "https://t"}
msgsvc: {enabled: true, basePasswd: canary-base, accounts: [panda, jedi, idds], channels: ["a:b:c"]}
panda:
  database: {backend: postgres, password: canary-panda, dbhost: "", dbport: "5432", name: panda_db, user: panda}
  port: "80"
  sslPort: "8443"
harvester:
  harvesterID: my-harvester
  database: {password: canary-hv, admin_password: unused, dbhost_add_index: "false"}
bigmon:
  deployment: FIXME
  database: {backend: FIXME}
  auth: {providers: {CERNOIDC: {key: k, secret: s}, weird: {key: k}}}
ui: {enabled: true, secret: FIXME, database: {pandaui: {password: FIXME}}, iam: {secret: FIXME}}
iam: {database: {password: canary-iam, root_password: r}}
object_store: {host_name: FIXME, port: 443, bucket_name: FIXME, access_key: FIXME, secret_key: FIXME}
stray: {x: 1}
"#,
            std::path::Path::new("u.yaml"),
        )
        .unwrap()
    }

    #[test]
    fn derived_identities_carry_over() {
        let files = Files { keystore: Some("{\"keys\": []}".into()), oidc_file: false };
        let (v, _) = map(&upstream(), &Install::bin_install("test-"), &files);
        assert_eq!(get(&v, "harvester.harvesterId"), Some(&json!("test-harvester")));
        assert_eq!(get(&v, "harvester.database.rootPassword"), Some(&json!("canary-hv-admin")));
        assert_eq!(get(&v, "iam.database.rootPassword"), Some(&json!("canary-iam_admin")));
        assert_eq!(get(&v, "msgsvc.basePassword"), Some(&json!("canary-base")));
        assert_eq!(get(&v, "iam.keystore"), Some(&json!("{\"keys\": []}")));
        assert_eq!(get(&v, "panda.database.port"), Some(&json!(5432)));
        assert_eq!(get(&v, "panda.database.superuserPassword"), Some(&json!("password")));
        assert_eq!(get(&v, "harvester.database.hostAddIndex"), Some(&json!(false)));
        let (argo, _) = map(&upstream(), &Install::ArgoCd, &files);
        assert_eq!(get(&argo, "harvester.harvesterId"), Some(&json!("my-harvester")));
    }

    #[test]
    fn quirks_and_unknown_keys_are_reported_never_valued() {
        let (v, notes) = map(&upstream(), &Install::ArgoCd, &Files::default());
        assert_eq!(get(&v, "bigmon.deployment"), Some(&json!("")));
        assert_eq!(get(&v, "bigmon.database.backend"), Some(&json!("")));
        assert_eq!(get(&v, "bigmon.auth.providers.cern.enabled"), Some(&json!(true)));
        assert_eq!(get(&v, "ui.enabled"), Some(&json!(false)));
        assert_eq!(get(&v, "bigmon.objectStore.host"), Some(&json!("")));
        let channels = get(&v, "msgsvc.channels").unwrap().as_array().unwrap();
        assert_eq!(channels.len(), 3);
        let not: Vec<&str> =
            notes.list.iter().filter(|n| n.outcome == Outcome::NotMapped).map(|n| n.key.as_str()).collect();
        for key in [
            "stray.x",
            "panda.sslPort",
            "bigmon.auth.providers.weird",
            "harvester.database.admin_password",
            "files/iam_conf/iam-keystore.jwks",
        ] {
            assert!(not.contains(&key), "{key} not reported: {not:?}");
        }
        let all = format!("{:?}", notes.list);
        assert!(!all.contains("canary"), "a value leaked into the notes: {all}");
    }
}
