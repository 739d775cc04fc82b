//! `panda-install secrets deploy -f FILE`: install or upgrade the secrets release from a values
//! file (plain, or sops-encrypted: decrypted in memory and given to helm on stdin), refused while a
//! FIXME is left; `--dry-run` prints the helm command and changes nothing.

use crate::cli::args::OutputFormat;
use crate::cli::SecretsDeployArgs;
use crate::commands::apply::{self, Apply};
use crate::commands::inputs::load_secrets;
use crate::commands::Context;
use crate::error::Result;
use crate::exit_code;
use crate::output::documents::PlanDocument;
use crate::output::{self};
use crate::plan::install::{secrets_plan, Mode, Request};
use crate::plan::text;
use crate::run::preflight::{self, Checks};
use crate::settings::instance::Instance;
use crate::settings::selection::Selection;
use crate::settings::target::{ClusterTarget, ProcessEnv};
use crate::settings::wait::Wait;

pub(crate) async fn run(args: &SecretsDeployArgs, ctx: &Context) -> Result<i32> {
    let catalog = ctx.catalog_with_site(&args.root, &args.site)?;
    let file = load_secrets(ctx, &args.file, &args.sops).await?;
    file.refuse_fixme(&catalog.secrets_chart)?;
    let instance = Instance::resolve(args.instance.affix.as_deref(), Some(&file))?;
    let target = ClusterTarget::resolve(&args.cluster, &ProcessEnv)?;
    let wait = Wait::resolve(&args.wait)?;
    let helm = ctx.helm(&args.helm)?.with_secrets(Some(&file));
    let version = helm.version().await?;
    let selection = Selection::none();
    let mode = Mode::Install {
        wait: wait.clone(),
        create_namespace: args.create_namespace,
        rollback_on_failure: false,
    };
    let req = Request {
        instance: &instance,
        selection: &selection,
        target: &target,
        secrets: Some(&file),
        deploy_secrets: true,
        cric_real: file.cric_real()?,
        mode,
    };
    let p = secrets_plan(&req, &catalog, version, &file);
    if args.dry_run {
        match args.output.output {
            OutputFormat::Text => output::print(&text::render(&p, &helm.display()))?,
            OutputFormat::Json => output::json(&PlanDocument::new("secrets-deploy", &p, &helm.display()))?,
        }
        return Ok(exit_code::SUCCESS);
    }
    let checks = Checks {
        plan: &p,
        instance: &instance,
        create_namespace: args.create_namespace,
        deploys_secrets: true,
        recover: false,
        force_recover: false,
        wait: &wait,
    };
    let cleared = preflight::check(&checks, &helm, &ctx.interrupt).await?;
    let interrupt = cleared.lock.interrupt().clone();
    // as every deploy: a foreign release of that name is refused (or adopted), an identical
    // file on a matching cluster is left `unchanged` (no new revision in helm's records)
    let how = Apply {
        command: "secrets-deploy",
        adopt: args.adopt,
        force_upgrade: false,
        concurrency: None,
        output: args.output.output,
        upgrade: None,
    };
    let code = cleared.lock.bound(apply::run(&p, &helm, &cleared, &interrupt, &how)).await;
    let code = cleared.lock.release(code).await;
    let code = code?;
    output::note(
        "components mount their Secrets as volumes and see file changes within a minute; values read as \
         environment variables need a restart: kubectl rollout restart statefulset,deployment -l app.kubernetes.io/part-of=panda",
    );
    Ok(code)
}
