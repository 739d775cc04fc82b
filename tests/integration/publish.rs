//! `package --push` against a registry that already has the version: the published archive is
//! pulled and compared by content; the same chart is skipped, a changed one refused (exit 75,
//! nothing pushed) unless --force. The registry is played by a helm wrapper (`show` finds every
//! version, `pull` hands out the archives of an earlier `package`, `push` is recorded); packaging
//! is real helm.

use crate::support::{helm4, make_executable, panda_install, project_copy};
use std::path::Path;

const REPO: &str = "oci://registry.example/charts";

fn fake_registry_helm(dir: &Path, real: &Path, published: &Path, log: &Path) -> std::path::PathBuf {
    let program = dir.join("helm");
    std::fs::write(
        &program,
        format!(
            "#!/bin/sh\ncase \"$1\" in\n  show) exit 0 ;;\n  pull) name=${{2##*/}}; cp '{published}'/\"$name-$4.tgz\" \"$6/\" ;;\n  push) echo \"$*\" >> '{log}'; echo 'Digest: sha256:0' ;;\n  *) exec '{real}' \"$@\" ;;\nesac\n",
            published = published.display(),
            log = log.display(),
            real = real.display()
        ),
    )
    .unwrap();
    make_executable(&program);
    program
}

#[test]
#[ignore = "needs helm (scripts/tools)"]
fn a_published_version_is_compared_by_content_never_overwritten_silently() {
    let real = helm4();
    let project = project_copy();
    let work = tempfile::tempdir().unwrap();
    let (published, dist, log) =
        (work.path().join("published"), work.path().join("dist"), work.path().join("pushes"));
    let package = |helm: &Path, out: &Path, extra: &[&str]| {
        panda_install()
            .args(["package", "-c", "msgsvc", "--root"])
            .arg(project.path())
            .arg("--out")
            .arg(out)
            .arg("--helm")
            .arg(helm)
            .args(extra)
            .output()
            .unwrap()
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let out = package(&real, &published, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let helm = fake_registry_helm(work.path(), &real, &published, &log);
    let version = env!("CARGO_PKG_VERSION");

    // packed again (other times in the archives), same content: skipped, nothing pushed
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = package(&helm, &dist, &["--push", REPO]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("skipped {REPO}/msgsvc:{version}: already published with the same content")),
        "{stdout}"
    );
    assert!(!log.exists(), "pushed: {}", std::fs::read_to_string(&log).unwrap_or_default());

    // a template changed under the same version: refused, naming the chart and the file
    let templates = project.path().join("helm/msgsvc/templates");
    let file =
        std::fs::read_dir(&templates).unwrap().flatten().map(|e| e.path()).find(|p| p.is_file()).unwrap();
    let mut body = std::fs::read_to_string(&file).unwrap();
    body.push_str("\n{{- /* changed */}}\n");
    std::fs::write(&file, body).unwrap();
    let out = package(&helm, &dist, &["--push", REPO]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{stderr}");
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        stderr.contains(&format!("{REPO}/msgsvc:{version} (differs in msgsvc/templates/{name})"))
            && stderr.contains("nothing was pushed"),
        "{stderr}"
    );
    assert!(!stderr.contains("panda-lib:"), "the library did not change: {stderr}");
    assert!(!log.exists());

    let out = package(&helm, &dist, &["--push", REPO, "--force"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(std::fs::read_to_string(&log).unwrap().contains("msgsvc"));
    assert!(!dist.join(".published").exists(), "the pulled copies are removed");
}
