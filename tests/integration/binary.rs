//! The binary alone, as `cargo install` leaves it: copied into a folder with no checkout around
//! and run from an empty directory with an empty cache, it unpacks the charts embedded in it,
//! renders what the checkout renders, unpacks once for concurrent runs and repairs a damaged cache.

use crate::support::{helm4, panda_install};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The built binary copied into a temporary folder, an empty working directory and cache.
pub(crate) struct Installed {
    _dir: tempfile::TempDir,
    program: PathBuf,
    pub(crate) cwd: PathBuf,
    cache: PathBuf,
}

impl Installed {
    pub(crate) fn new() -> Installed {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        let (cwd, cache) = (dir.path().join("work"), dir.path().join("cache"));
        for d in [&bin, &cwd, &cache] {
            std::fs::create_dir(d).unwrap();
        }
        let program = bin.join("panda-install");
        std::fs::copy(assert_cmd::cargo::cargo_bin("panda-install"), &program).unwrap();
        Installed { _dir: dir, program, cwd, cache }
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(args)
            .current_dir(&self.cwd)
            .env("XDG_CACHE_HOME", &self.cache)
            .env_remove("PANDA_INSTALL_ROOT")
            .env_remove("PANDA_INSTALL_HELM")
            .env_remove("PANDA_INSTALL_LOG")
            .env_remove("PANDA_INSTALL_SITE");
        cmd
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        spawn(&mut self.command(args)).wait_with_output().unwrap()
    }

    /// The one unpacked bundle in the cache.
    fn unpacked(&self) -> PathBuf {
        let parent = self.cache.join("panda-install/charts");
        let dirs: Vec<PathBuf> = std::fs::read_dir(&parent)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect();
        assert_eq!(dirs.len(), 1, "{dirs:?}");
        dirs[0].clone()
    }
}

/// Starts the copied binary, output captured. A test thread that forks while another copies a
/// binary holds the copy open for writing until its exec: "text file busy" (ETXTBSY) then only
/// means "try again".
fn spawn(cmd: &mut Command) -> std::process::Child {
    cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    for _ in 0..100 {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(libc_etxtbsy()) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            other => return other.unwrap(),
        }
    }
    panic!("the copied binary stayed busy")
}

/// ETXTBSY on Linux.
const fn libc_etxtbsy() -> i32 {
    26
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn unpack_count(out: &Output) -> usize {
    text(&out.stderr).matches("unpacked the embedded charts into").count()
}

#[test]
fn version_says_where_the_charts_come_from() {
    let bin = Installed::new();
    let out = bin.run(&["version"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let version = env!("CARGO_PKG_VERSION");
    assert!(stdout.starts_with(&format!("panda-install {version}\n")), "{stdout}");
    assert!(stdout.contains("embedded charts: sha256:"), "{stdout}");
    let dir = bin.unpacked();
    assert!(
        stdout.contains(&format!("charts read from: {} (embedded in this binary)", dir.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("panda {version}")) && stdout.contains(&format!("secrets {version}")),
        "{stdout}"
    );
    assert_eq!(text(&bin.run(&["-V", "-v"]).stdout), stdout, "-V -v is `version`");
    assert_eq!(text(&bin.run(&["-V"]).stdout), format!("panda-install {version}\n"));

    // in the checkout, the checkout's charts
    let here = panda_install().arg("version").assert().success();
    let stdout = text(&here.get_output().stdout);
    assert!(stdout.contains("charts read from: . (the checkout around the current directory)"), "{stdout}");
}

#[test]
fn concurrent_first_runs_unpack_once() {
    let bin = Installed::new();
    let children: Vec<_> = (0..4)
        .map(|_| {
            bin.command(&["version", "-vv"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Output> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    for out in &outputs {
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let unpacks: usize = outputs.iter().map(unpack_count).sum();
    assert_eq!(unpacks, 1, "{:?}", outputs.iter().map(|o| text(&o.stderr)).collect::<Vec<_>>());
    let dir = bin.unpacked();
    assert!(dir.join("helm/panda/charts/panda-lib/Chart.yaml").is_file());
    assert_eq!(unpack_count(&bin.run(&["version", "-vv"])), 0, "a finished cache is reused");
}

#[test]
fn a_damaged_cache_is_detected_and_replaced() {
    let bin = Installed::new();
    assert!(bin.run(&["version"]).status.success());
    let dir = bin.unpacked();
    let template = dir.join("helm/msgsvc/templates");
    let victim = std::fs::read_dir(&template).unwrap().flatten().next().unwrap().path();
    let original = std::fs::read(&victim).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!((mode(&template), mode(&victim)), (0o555, 0o444), "the cache is read-only");
    for path in [&template, &victim] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::write(&victim, &original[..original.len() / 2]).unwrap();

    let out = bin.run(&["version", "-vv"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is damaged or incomplete: unpacking it again"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(unpack_count(&out), 1);
    assert_eq!(std::fs::read(&victim).unwrap(), original, "restored");
    assert_eq!(mode(&victim), 0o444);
}

fn template(cmd: &mut Command, helm: &Path) -> String {
    let out = spawn(cmd.args(["-e", "lsst", "--template", "--helm"]).arg(helm)).wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
#[ignore = "needs helm (scripts/tools)"]
fn the_binary_alone_renders_what_the_checkout_renders() {
    let helm = helm4();
    let bin = Installed::new();
    let embedded = template(&mut bin.command(&[]), &helm);
    let mut checkout = Command::new(assert_cmd::cargo::cargo_bin("panda-install"));
    checkout.current_dir(crate::support::root()).env_remove("PANDA_INSTALL_ROOT");
    let expected = template(&mut checkout, &helm);
    assert!(embedded.contains("kind: StatefulSet"), "{embedded}");
    assert!(embedded == expected, "the embedded charts render differently from the checkout's");
    // nothing was written anywhere but the cache
    assert_eq!(std::fs::read_dir(&bin.cwd).unwrap().count(), 0);
}

#[test]
fn gitops_outputs_default_to_the_charts_of_this_binary() {
    let version = env!("CARGO_PKG_VERSION");
    let out = panda_install()
        .args(["flux", "-e", "doma", "-c", "msgsvc", "-n", "ns", "--oci", "oci://registry.example/charts"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let docs = crate::support::yaml_documents(&text(&out.stdout));
    let repo = docs.iter().find(|d| d["kind"] == "OCIRepository").expect("an OCIRepository");
    assert_eq!(repo["spec"]["ref"]["tag"], version);

    let apps = tempfile::tempdir().unwrap();
    let out = panda_install()
        .args(["argocd", "-e", "doma", "-c", "msgsvc", "-n", "ns", "--oci", "oci://registry.example/charts"])
        .args([
            "--repo-url",
            "https://git.example/site.git",
            "--target-revision",
            "main",
            "--no-parent",
            "--out",
        ])
        .arg(apps.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written: String = std::fs::read_dir(apps.path())
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    assert!(written.contains(&format!("targetRevision: \"{version}\"")), "{written}");
}

/// File names and contents under every `helm/*/charts/` of a project copy.
fn packed_state(project: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for chart in std::fs::read_dir(project.join("helm")).unwrap().flatten() {
        for entry in std::fs::read_dir(chart.path().join("charts")).into_iter().flatten().flatten() {
            if entry.path().is_file() {
                out.push((entry.path(), std::fs::read(entry.path()).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
#[ignore = "needs helm (scripts/tools)"]
fn reading_commands_never_write_into_the_checkout_and_freshness_follows_content() {
    let helm = helm4();
    let project = crate::support::project_copy();
    let cache = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = panda_install()
            .env("XDG_CACHE_HOME", cache.path())
            .args(args)
            .arg("--root")
            .arg(project.path())
            .arg("--helm")
            .arg(&helm)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let before = packed_state(project.path());
    let rendered = run(&["-e", "lsst", "--template"]);
    assert!(rendered.contains("kind: StatefulSet"));
    assert_eq!(packed_state(project.path()), before, "--template wrote into the checkout");

    // packed by hand (no stamp) and newer than its source: still not trusted
    let msgsvc = project.path().join("helm/msgsvc");
    let out = Command::new(&helm).args(["dependency", "build"]).arg(&msgsvc).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let future = Command::new("touch")
        .args(["-d", "+1 hour"])
        .arg(msgsvc.join("charts").join(format!("panda-lib-{}.tgz", env!("CARGO_PKG_VERSION"))))
        .status()
        .unwrap();
    assert!(future.success());
    let build = format!("dependency build {}", msgsvc.display());
    assert!(run(&["-c", "msgsvc", "--dry-run"]).contains(&build), "a pack without a stamp is rebuilt");

    // packed by panda-install (package): stamped, fresh
    let dist = tempfile::tempdir().unwrap();
    run(&["package", "-c", "msgsvc", "--out", dist.path().to_str().unwrap()]);
    assert!(!run(&["-c", "msgsvc", "--dry-run"]).contains(&build), "a stamped pack is used");

    // the library edited: stale again, whatever the times say
    let lib = project.path().join("helm/lib/templates");
    let tpl = std::fs::read_dir(&lib).unwrap().flatten().map(|e| e.path()).find(|p| p.is_file()).unwrap();
    let mut body = std::fs::read_to_string(&tpl).unwrap();
    body.push_str("\n{{- /* edited */}}\n");
    std::fs::write(&tpl, body).unwrap();
    assert!(Command::new("touch").args(["-d", "-1 hour"]).arg(&tpl).status().unwrap().success());
    assert!(run(&["-c", "msgsvc", "--dry-run"]).contains(&build), "an edited library makes the pack stale");
}
