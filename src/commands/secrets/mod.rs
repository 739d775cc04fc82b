//! `panda-install secrets init|deploy|edit|rotate`.

pub(crate) mod deploy;
pub(crate) mod edit;
pub(crate) mod init;
pub(crate) mod rotate;
