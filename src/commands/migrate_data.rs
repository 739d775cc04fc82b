//! `panda-install migrate-data`.

use super::Context;
use crate::cli::MigrateDataArgs;
use crate::error::Result;

pub(crate) async fn run(_args: &MigrateDataArgs, _ctx: &Context) -> Result<i32> {
    Err(crate::error::Error::usage("not yet"))
}
