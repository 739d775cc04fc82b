//! The one integration-test binary: CLI behaviour, charts rendered with real helm, and end-to-end
//! runs against the loopback test bed (scripts/cluster).
//!
//! Tests that need real tools or the test bed are `#[ignore = "needs the test bed ..."]`, so that a
//! plain `cargo test` reports them as ignored, never as passed; scripts/test runs them with
//! `--include-ignored`, and there they fail when what they need is missing.
#![allow(unreachable_pub)]

mod binary;
mod chart_versions;
mod charts;
mod cli;
mod converge;
mod doctor;
mod e2e;
mod engines;
mod envelope;
mod gitops;
mod health;
mod lifecycle;
mod lock_signals;
mod lock_stall;
mod moving_in;
mod publish;
mod recovery;
mod rights;
mod site;
mod sops;
mod stall_proxy;
mod support;
mod testbed;
mod truth;
mod upgrade;
