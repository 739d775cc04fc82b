//! The only module that starts processes: helm, located once, run with argument vectors.
//! Children are never SIGKILLed: on an interrupt they get SIGTERM and finish their own cancellation.

use crate::error::{Error, Result};
use crate::helm::HelmVersion;
use crate::plan::Invocation;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::process::Command;

/// How one helm run ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The exit code, or `None` when helm was ended by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// A located helm binary and the process ids of the runs in flight (for forwarding signals).
#[derive(Debug, Clone)]
pub struct Helm {
    program: PathBuf,
    running: Arc<Mutex<Vec<u32>>>,
}

impl Helm {
    /// `--helm` / `PANDA_INSTALL_HELM` if given, else `helm` on PATH.
    pub fn locate(explicit: Option<&Path>) -> Result<Helm> {
        let program = match explicit {
            Some(p) if p.components().count() > 1 => {
                if !p.is_file() {
                    return Err(Error::HelmUnavailable(format!("helm not found at {}", p.display())));
                }
                p.to_path_buf()
            }
            Some(name) => which::which(name).map_err(|_| Error::HelmUnavailable(format!("{} is not on PATH", name.display())))?,
            None => which::which("helm").map_err(|_| {
                Error::HelmUnavailable("helm is not on PATH: install helm 4 (or 3.15+), or pass --helm PATH / set PANDA_INSTALL_HELM".into())
            })?,
        };
        Ok(Helm { program, running: Arc::default() })
    }

    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Asks helm for its version, once per run, and checks that it is supported.
    pub async fn version(&self) -> Result<HelmVersion> {
        let inv = Invocation { args: vec!["version".into(), "--template".into(), "{{.Version}}".into()] };
        let out = self.run(&inv).await.map_err(|e| Error::HelmUnavailable(format!("cannot run {}: {e}", self.program.display())))?;
        if !out.success() {
            return Err(Error::HelmUnavailable(format!("`{} version` failed: {}", self.program.display(), out.stderr.trim())));
        }
        HelmVersion::parse(&out.stdout)?.check_supported()
    }

    /// Runs one helm command to completion, capturing its output.
    pub async fn run(&self, inv: &Invocation) -> std::io::Result<Outcome> {
        let start = Instant::now();
        let mut cmd = Command::new(&self.program);
        cmd.args(&inv.args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = cmd.spawn()?;
        let pid = child.id();
        if let Some(pid) = pid {
            self.running.lock().unwrap().push(pid);
        }
        let output = child.wait_with_output().await;
        if let Some(pid) = pid {
            self.running.lock().unwrap().retain(|p| *p != pid);
        }
        let output = output?;
        Ok(Outcome {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            elapsed: start.elapsed(),
        })
    }

    /// Asks every running helm to cancel (SIGTERM: helm rolls its own operation into a final state).
    pub fn cancel_running(&self) {
        for pid in self.running.lock().unwrap().iter() {
            // SAFETY: kill(2) with a pid we spawned and have not yet reaped; no memory is shared.
            unsafe {
                libc::kill(*pid as libc::pid_t, libc::SIGTERM);
            }
        }
    }
}
