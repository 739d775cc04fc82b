//! The one integration-test binary: CLI behaviour, charts rendered with real helm, and end-to-end
//! runs against the loopback test bed (scripts/cluster) when KUBECONFIG points at it.

mod charts;
mod cli;
mod e2e;
mod engines;
mod lifecycle;
mod recovery;
mod gitops;
mod support;
mod testbed;
