//! Data continuity for the stores whose layout differs between upstream and our charts.

/// Which half of the copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Phase {
    Dump,
    Restore,
}

/// A database copied by dump and restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Store {
    HarvesterMariadb,
    IamMariadb,
    IddsPostgres,
}
