//! `panda-install secrets init|deploy`.

pub(crate) mod deploy;
pub(crate) mod init;
