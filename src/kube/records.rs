//! helm's release records, read from where helm stores them (Secrets of type
//! `helm.sh/release.v1` labelled `owner=helm`, the payload base64 + gzip + JSON) instead of one
//! `helm list`/`helm get` process per question: one metadata list gives every revision's status,
//! and one get per release its latest record (manifest and values). helm 3 and helm 4 write the
//! same format. Anything that cannot be read or decoded is an error naming the Secret.

use super::{failed, Cluster};
use crate::error::{Error, Result};
use base64::Engine;
use futures::future::try_join_all;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;

/// The status and revision of one stored revision of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Revision {
    pub(crate) revision: u64,
    pub(crate) status: String,
}

/// The latest record of one release.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) name: String,
    pub(crate) revision: u64,
    pub(crate) status: String,
    pub(crate) chart_name: String,
    pub(crate) chart_version: String,
    /// The manifests helm applied for this revision.
    pub(crate) manifest: String,
    /// The values supplied at install/upgrade (may hold secrets: inspect, never print).
    pub(crate) config: Value,
    /// The chart's own default values.
    pub(crate) chart_values: Value,
    /// When helm last wrote this record (Unix seconds): its Secret's `modifiedAt` label, else
    /// `createdAt` (helm sets the first on an update, the second when it creates a revision).
    pub(crate) written_at: Option<u64>,
}

impl Record {
    /// Whether panda-install's charts made this release: each component chart's values have
    /// `global.secretsRelease`, the secrets chart's `auth.method`; upstream panda-k8s's have
    /// neither (`global.secret`, `auth.auth`).
    pub(crate) fn made_by_panda_install(&self) -> bool {
        self.chart_values.pointer("/global/secretsRelease").is_some()
            || self.chart_values.pointer("/auth/method").is_some()
    }

    pub(crate) fn is_pending(&self) -> bool {
        self.status.starts_with("pending-")
    }

    /// The chart's defaults with the supplied values merged over them (what `helm get values
    /// --all` shows).
    pub(crate) fn computed_values(&self) -> Value {
        let mut merged = self.chart_values.clone();
        crate::settings::yaml::merge(&mut merged, &self.config);
        merged
    }
}

/// Every release of the namespace: its history (statuses by revision) and its latest record.
#[derive(Debug, Clone, Default)]
pub(crate) struct Releases {
    pub(crate) history: BTreeMap<String, Vec<Revision>>,
    pub(crate) latest: BTreeMap<String, Record>,
}

impl Releases {
    pub(crate) fn get(&self, name: &str) -> Option<&Record> {
        self.latest.get(name)
    }

    /// The newest revision that was deployed or superseded (where a rollback can go).
    pub(crate) fn last_good(&self, name: &str) -> Option<u64> {
        self.history
            .get(name)?
            .iter()
            .filter(|r| matches!(r.status.as_str(), "deployed" | "superseded"))
            .map(|r| r.revision)
            .max()
    }
}

#[derive(Deserialize)]
struct Stored {
    name: String,
    version: u64,
    info: StoredInfo,
    #[serde(default)]
    chart: Option<StoredChart>,
    #[serde(default)]
    config: Option<Value>,
    #[serde(default)]
    manifest: String,
}

#[derive(Deserialize)]
struct StoredInfo {
    status: String,
}

#[derive(Deserialize)]
struct StoredChart {
    metadata: StoredChartMeta,
    #[serde(default)]
    values: Option<Value>,
}

#[derive(Deserialize)]
struct StoredChartMeta {
    name: String,
    version: String,
}

/// Refuses a storage driver other than Secrets, which is all panda-install reads.
pub(crate) fn check_driver() -> Result<()> {
    match std::env::var("HELM_DRIVER").ok().as_deref() {
        None | Some("") | Some("secret") | Some("secrets") => Ok(()),
        Some(other) => Err(Error::Preflight(format!(
            "HELM_DRIVER={other}: panda-install reads helm's release records from Secrets (helm's default \
             storage); unset HELM_DRIVER or use the secret driver"
        ))),
    }
}

impl Cluster {
    /// Every helm release of the namespace with its history, and the latest record of each.
    pub(crate) async fn releases(&self) -> Result<Releases> {
        check_driver()?;
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        let what = format!("list helm's release records in namespace {}", self.namespace);
        let list = api
            .list_metadata(&ListParams::default().labels("owner=helm"))
            .await
            .map_err(|e| failed(&what, e))?;
        let mut history: BTreeMap<String, Vec<Revision>> = BTreeMap::new();
        let mut newest: BTreeMap<String, (u64, String)> = BTreeMap::new();
        for item in list.items {
            let secret = item.metadata.name.clone().unwrap_or_default();
            let labels = item.metadata.labels.unwrap_or_default();
            let (Some(name), Some(status), Some(version)) =
                (labels.get("name"), labels.get("status"), labels.get("version"))
            else {
                return Err(Error::Preflight(format!(
                    "helm release record {secret} lacks its name/status/version labels"
                )));
            };
            let revision: u64 = version.parse().map_err(|_| {
                Error::Preflight(format!("helm release record {secret} has version label {version:?}"))
            })?;
            history.entry(name.clone()).or_default().push(Revision { revision, status: status.clone() });
            if newest.get(name).is_none_or(|(r, _)| revision > *r) {
                newest.insert(name.clone(), (revision, secret));
            }
        }
        for revisions in history.values_mut() {
            revisions.sort_by_key(|r| r.revision);
        }
        let records = try_join_all(newest.into_values().map(|(_, secret)| {
            let api = api.clone();
            async move {
                let what = format!("read helm's release record {secret}");
                let s = api.get(&secret).await.map_err(|e| failed(&what, e))?;
                decode(&secret, &s)
            }
        }))
        .await?;
        let latest = records.into_iter().map(|r| (r.name.clone(), r)).collect();
        Ok(Releases { history, latest })
    }
}

/// Secret data `release`: base64 text of gzip of the release JSON.
fn decode(secret: &str, s: &Secret) -> Result<Record> {
    let bad = |why: String| Error::Preflight(format!("cannot decode helm's release record {secret}: {why}"));
    let data =
        s.data.as_ref().and_then(|d| d.get("release")).ok_or_else(|| bad("no `release` key".into()))?;
    let packed =
        base64::engine::general_purpose::STANDARD.decode(&data.0).map_err(|e| bad(format!("base64: {e}")))?;
    let json = if packed.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(packed.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| bad(format!("gzip: {e}")))?;
        out
    } else {
        packed
    };
    let stored: Stored = serde_json::from_slice(&json).map_err(|e| bad(format!("JSON: {e}")))?;
    let chart = stored.chart.ok_or_else(|| bad("no chart".into()))?;
    Ok(Record {
        name: stored.name,
        revision: stored.version,
        status: stored.info.status,
        chart_name: chart.metadata.name,
        chart_version: chart.metadata.version,
        manifest: stored.manifest,
        config: stored.config.unwrap_or(Value::Null),
        chart_values: chart.values.unwrap_or(Value::Null),
        written_at: written_at(s),
    })
}

/// This host's clock in Unix seconds, to compare with the times helm writes into its records.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The newest of the record Secret's `modifiedAt` and `createdAt` labels.
fn written_at(s: &Secret) -> Option<u64> {
    let labels = s.metadata.labels.as_ref()?;
    ["modifiedAt", "createdAt"].iter().filter_map(|k| labels.get(*k)?.parse::<u64>().ok()).max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn stored(json: &str) -> Secret {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(json.as_bytes()).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
        Secret {
            data: Some([("release".to_string(), k8s_openapi::ByteString(b64.into_bytes()))].into()),
            ..Default::default()
        }
    }

    #[test]
    fn decodes_what_helm_stores() {
        let s = stored(
            r#"{"name":"t-panda","version":3,"info":{"status":"deployed"},"chart":{"metadata":{"name":"panda","version":"0.1.0"},
               "values":{"a":{"b":1,"c":2},"d":"x"}},"config":{"a":{"b":5,"c":null}},"manifest":"---\nkind: A\n"}"#,
        );
        let r = decode("sh.helm.release.v1.t-panda.v3", &s).unwrap();
        assert_eq!((r.name.as_str(), r.revision, r.status.as_str()), ("t-panda", 3, "deployed"));
        assert_eq!((r.chart_name.as_str(), r.chart_version.as_str()), ("panda", "0.1.0"));
        assert_eq!(r.computed_values(), serde_json::json!({"a": {"b": 5}, "d": "x"}));
        assert!(r.manifest.contains("kind: A"));
        assert_eq!(r.written_at, None);
        let mut labelled = s.clone();
        labelled.metadata.labels =
            Some([("createdAt".into(), "100".into()), ("modifiedAt".into(), "250".into())].into());
        assert_eq!(decode("x", &labelled).unwrap().written_at, Some(250));
    }

    #[test]
    fn garbage_is_an_error_naming_the_secret() {
        let s = Secret {
            data: Some([("release".to_string(), k8s_openapi::ByteString(b"%%%".to_vec()))].into()),
            ..Default::default()
        };
        let err = decode("sh.helm.release.v1.x.v1", &s).unwrap_err().to_string();
        assert!(err.contains("sh.helm.release.v1.x.v1") && err.contains("base64"), "{err}");
        assert!(decode("y", &Secret::default()).is_err());
    }

    #[test]
    fn last_good_skips_failed_and_pending() {
        let mut r = Releases::default();
        r.history.insert(
            "x".into(),
            vec![
                Revision { revision: 1, status: "superseded".into() },
                Revision { revision: 2, status: "failed".into() },
                Revision { revision: 3, status: "pending-upgrade".into() },
            ],
        );
        r.history.insert("y".into(), vec![Revision { revision: 1, status: "pending-install".into() }]);
        assert_eq!(r.last_good("x"), Some(1));
        assert_eq!(r.last_good("y"), None);
    }
}
