//! `panda-install rbac`: print the least-privilege Roles and the optional ClusterRoles
//! (`plan::rbac`) as YAML to apply with `kubectl apply -f -`. Reads nothing, touches nothing.

use crate::cli::RbacArgs;
use crate::error::Result;
use crate::exit_code;
use crate::output;
use crate::plan::rbac;
use crate::settings::target::{ClusterTarget, ProcessEnv};
use crate::settings::yaml;

pub(crate) fn run(args: &RbacArgs) -> Result<i32> {
    let target = ClusterTarget::resolve(&args.cluster, &ProcessEnv)?;
    if let Some(account) = &args.service_account {
        crate::settings::target::check_dns_label(account)
            .map_err(|m| crate::error::Error::usage(format!("--service-account {account:?}: {m}")))?;
    }
    let mut text = String::from(
        "# panda-install's least privileges (README \"Least privilege\"): apply with kubectl apply -f -\n",
    );
    for obj in rbac::objects(&target.namespace, args.service_account.as_deref()) {
        text.push_str("---\n");
        text.push_str(&yaml::to_string(&obj)?);
    }
    output::print(&text)?;
    Ok(exit_code::SUCCESS)
}
