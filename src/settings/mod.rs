//! Validated settings and the model: what the user typed, checked against the catalog of charts
//! and the environment, before anything runs. Every rejection here happens before the first helm
//! call; nothing here starts a program or talks to the API server.

pub(crate) mod affix;
pub(crate) mod catalog;
pub(crate) mod chart_image;
pub(crate) mod compat;
pub(crate) mod component;
pub(crate) mod helm_version;
pub(crate) mod instance;
pub(crate) mod secret_feeds;
pub(crate) mod secrets_file;
pub(crate) mod selection;
pub(crate) mod site;
pub(crate) mod site_files;
pub(crate) mod target;
pub(crate) mod tiers;
pub(crate) mod upstream;
pub(crate) mod wait;
pub(crate) mod yaml;
