//! What panda-install writes: results to stdout (a closed pipe, as in `status | head -1`, ends
//! the output quietly), notes to stderr, and the `--output json` documents ([`documents`]).

pub(crate) mod documents;

use crate::error::{Error, Result};
use std::io::Write;

/// Writes `text` to stdout. A reader that went away (EPIPE) is not an error: nothing more is
/// written and the command keeps its own exit code.
pub(crate) fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Internal(anyhow::anyhow!("cannot write to stdout: {e}"))),
    }
}

/// One document as pretty JSON on stdout.
pub(crate) fn json<T: serde::Serialize>(doc: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(doc).map_err(|e| Error::Internal(e.into()))?;
    print(&format!("{text}\n"))
}

/// A line on stderr; a closed stderr is ignored.
pub(crate) fn note(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}
