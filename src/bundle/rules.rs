//! Which files of the project belong to the charts: shared by build.rs (what the binary embeds),
//! the checkout's packed-library stamps and staged charts (src/bundle/), so all three agree.

/// Folders that never belong to a chart (VCS, caches, editors).
pub(crate) const SKIP_DIRS: [&str; 5] = [".git", "__pycache__", ".vscode", ".idea", ".pytest_cache"];
const SKIP_SUFFIXES: [&str; 7] = [".pyc", ".orig", ".rej", ".swp", "~", ".bak", ".tmp"];

/// Whether the file `rel` (relative to the project, `/`-separated) belongs to the charts: not
/// packed dependencies or their stamps (`helm/<chart>/charts/<file>`; sub-charts are folders), not
/// an operator's private files (`secrets/files/`: only the README placeholders), not the secrets
/// chart's test fixtures (`secrets/ci/`), not editor or VCS leftovers.
pub(crate) fn ships(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    if name == ".DS_Store" || SKIP_SUFFIXES.iter().any(|s| name.ends_with(s)) {
        return false;
    }
    let parts: Vec<&str> = rel.split('/').collect();
    if parts.iter().any(|p| SKIP_DIRS.contains(p)) {
        return false;
    }
    if parts.len() == 4 && parts[0] == "helm" && parts[2] == "charts" {
        return false;
    }
    if let Some(rest) = rel.strip_prefix("secrets/files/") {
        return name == "README" || rest == ".gitignore";
    }
    !rel.starts_with("secrets/ci/")
}

/// SHA-256 (hex) of files given as (path, content) in the order given: path, NUL, length (u64
/// little-endian), content, so that no two different sets of files hash the same stream.
pub(crate) fn content_digest<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (path, bytes) in files {
        hasher.update(path.as_bytes());
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
