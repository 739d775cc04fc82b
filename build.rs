//! Embeds the charts (helm/, secrets/) and the bundled experiments (values/) into the binary:
//! writes `$OUT_DIR/bundle.rs` with every file (sorted by path, `include_bytes!`) and the SHA-256
//! of the whole content, so that the binary carries exactly the charts it was built with
//! (src/bundle/ unpacks them into the user's cache, named by that digest).
//!
//! What is left out (src/bundle/rules.rs) is what `.gitignore`/`.helmignore` keep out of the
//! repository and the charts: packed dependencies and their stamps, an operator's private files in
//! `secrets/files/`, the secrets chart's test fixtures (`secrets/ci/`), editor/VCS leftovers.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[path = "src/bundle/rules.rs"]
mod rules;

use rules::{ships, SKIP_DIRS};

const TOP: [&str; 3] = ["helm", "secrets", "values"];

/// Every shipped file under `dir` (relative paths), and the folders whose whole content ships
/// (cargo watches those for new files; the others are watched file by file).
fn walk(root: &Path, rel: &str, files: &mut Vec<String>, clean_dirs: &mut Vec<String>) -> bool {
    let mut clean = true;
    let mut entries: Vec<_> = std::fs::read_dir(root.join(rel))
        .unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
        .map(|e| e.unwrap_or_else(|e| panic!("cannot read {rel}: {e}")))
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().into_string().unwrap_or_else(|n| panic!("{rel}/{n:?}: not UTF-8"));
        let path = format!("{rel}/{name}");
        let kind = entry.file_type().unwrap_or_else(|e| panic!("{path}: {e}"));
        if kind.is_symlink() {
            panic!("{path}: a symbolic link; the embedded charts take regular files only");
        } else if kind.is_dir() {
            if SKIP_DIRS.contains(&name.as_str()) || (path == "secrets/ci") {
                clean = false;
            } else {
                clean &= walk(root, &path, files, clean_dirs);
            }
        } else if ships(&path) {
            files.push(path);
        } else {
            clean = false;
        }
    }
    if clean {
        clean_dirs.push(rel.to_string());
    }
    clean
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    let mut clean_dirs = Vec::new();
    for top in TOP {
        walk(&root, top, &mut files, &mut clean_dirs);
    }
    files.sort();
    let mut contents = Vec::new();
    let mut table = String::new();
    for rel in &files {
        let abs = root.join(rel);
        contents.push(std::fs::read(&abs).unwrap_or_else(|e| panic!("cannot read {rel}: {e}")));
        writeln!(table, "    ({rel:?}, include_bytes!({:?})),", abs.to_str().expect("UTF-8 path")).unwrap();
    }
    let digest =
        rules::content_digest(files.iter().map(String::as_str).zip(contents.iter().map(Vec::as_slice)));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("bundle.rs");
    let text = format!(
        "/// SHA-256 of the embedded files (path, NUL, length, content; sorted by path).\n\
         pub(crate) const DIGEST: &str = {digest:?};\n\
         /// The embedded files: path relative to the project, content.\n\
         pub(crate) static FILES: &[(&str, &[u8])] = &[\n{table}];\n"
    );
    std::fs::write(&out, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/bundle/rules.rs");
    for dir in &clean_dirs {
        println!("cargo:rerun-if-changed={dir}");
    }
    for rel in &files {
        println!("cargo:rerun-if-changed={rel}");
    }
    // folders that hold a left-out file are watched for added files through their Chart.yaml
    // (a new sub-chart is declared there) and, for helm/<chart>/charts, file by file above
}
