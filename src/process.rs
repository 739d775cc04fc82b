//! The only module that starts programs: an argument vector (never a shell string), optional bytes
//! on standard input, captured output. Each child runs in its own process group, so a terminal's
//! Ctrl-C or hangup reaches only panda-install, which forwards it: on an interrupt the children
//! get SIGTERM and finish their own cancellation (for helm: the release ends in a final state);
//! only a second interrupt SIGKILLs them.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// How one run ended.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    /// The exit code, or `None` when the program was ended by a signal.
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Outcome {
    pub(crate) fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// What the program said went wrong: from its first `Error:` line to the end (helm's schema
    /// errors list the offending keys on the lines after it), else its last line; and how it exited.
    pub(crate) fn reason(&self) -> String {
        let lines: Vec<&str> = self.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        let from = lines.iter().position(|l| l.trim_start().starts_with("Error:"));
        let text = match from {
            Some(i) => Some(lines[i..].iter().take(20).map(|l| l.trim_end()).collect::<Vec<_>>().join("\n")),
            None => lines.last().map(|l| l.trim().to_string()),
        };
        let line = text.as_deref();
        match (line, self.code) {
            (Some(l), Some(code)) => format!("exited {code}: {}", l.trim()),
            (Some(l), None) => format!("was ended by a signal: {}", l.trim()),
            (None, Some(code)) => format!("exited {code}"),
            (None, None) => "was ended by a signal".to_string(),
        }
    }
}

/// Starts programs and remembers the ones running, so that an interrupt can reach them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Runner {
    running: Arc<Mutex<Vec<u32>>>,
}

impl Runner {
    /// Runs `program args...` to completion. `stdin` is written to the child's standard input
    /// (then closed); without it the child reads /dev/null.
    pub(crate) async fn run(
        &self,
        program: &Path,
        args: &[String],
        stdin: Option<&[u8]>,
    ) -> std::io::Result<Outcome> {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd.spawn()?;
        let pid = child.id();
        if let Some(pid) = pid {
            self.running.lock().unwrap_or_else(|p| p.into_inner()).push(pid);
        }
        // written beside the readers of its output: a child that writes much before it reads all
        // its input cannot block on a full output pipe while we block on a full input pipe
        let pipe = child.stdin.take();
        let writer = async {
            if let (Some(bytes), Some(mut pipe)) = (stdin, pipe) {
                // a child that exits without reading gets EPIPE here; its exit status tells why
                let _ = pipe.write_all(bytes).await;
            }
        };
        let (_, output) = tokio::join!(writer, collect(&mut child));
        if let Some(pid) = pid {
            self.running.lock().unwrap_or_else(|p| p.into_inner()).retain(|p| *p != pid);
        }
        output
    }

    /// Runs `program args...` on the caller's terminal (standard input, output and error
    /// inherited), for a program the user interacts with (`sops edit` and its editor). It is not
    /// registered for cancellation: the terminal's own signals reach it. Returns its exit code
    /// (`None`: ended by a signal).
    pub(crate) async fn run_interactive(
        &self,
        program: &Path,
        args: &[String],
    ) -> std::io::Result<Option<i32>> {
        let status = Command::new(program)
            .args(args)
            .stdin(Stdio::inherit())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .status()
            .await?;
        Ok(status.code())
    }

    /// Asks every running child (and its process group) to cancel (SIGTERM).
    pub(crate) fn cancel_running(&self) {
        for pid in self.running.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            signal_group(*pid, libc::SIGTERM);
        }
    }

    /// Kills every running child and its process group (SIGKILL): a second interrupt.
    pub(crate) fn kill_running(&self) {
        for pid in self.running.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            signal_group(*pid, libc::SIGKILL);
        }
    }
}

/// Reads the child's output and error streams together until it exits.
async fn collect(child: &mut tokio::process::Child) -> std::io::Result<Outcome> {
    use tokio::io::AsyncReadExt;
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let (mut o, mut e) = (child.stdout.take(), child.stderr.take());
    let read_out = async {
        match o.as_mut() {
            Some(p) => p.read_to_end(&mut out).await.map(drop),
            None => Ok(()),
        }
    };
    let read_err = async {
        match e.as_mut() {
            Some(p) => p.read_to_end(&mut err).await.map(drop),
            None => Ok(()),
        }
    };
    let (r1, r2, status) = tokio::join!(read_out, read_err, child.wait());
    r1?;
    r2?;
    Ok(Outcome {
        code: status?.code(),
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr: String::from_utf8_lossy(&err).into_owned(),
    })
}

#[allow(unsafe_code)]
fn signal_group(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) of the process group led by a child we spawned with process_group(0) and
    // have not yet reaped (it is still in `running`); no memory is shared.
    unsafe {
        libc::kill(-(pid as libc::pid_t), signal);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn make_executable(path: &Path) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[tokio::test]
    async fn captures_output_and_feeds_stdin() {
        let r = Runner::default();
        let out = r
            .run(Path::new("/bin/sh"), &["-c".into(), "cat; echo oops >&2; exit 3".into()], Some(b"in"))
            .await
            .unwrap();
        assert_eq!((out.code, out.stdout.as_str()), (Some(3), "in"));
        assert_eq!(out.reason(), "exited 3: oops");
        assert!(r.running.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_child_that_writes_much_before_reading_its_input_does_not_deadlock() {
        let r = Runner::default();
        let input = vec![b'x'; 1 << 20];
        // writes 1 MiB (more than a pipe holds) before it reads anything
        let script = "head -c 1048576 /dev/zero; cat >/dev/null; echo done >&2";
        let args = ["-c".to_string(), script.to_string()];
        let run = r.run(Path::new("/bin/sh"), &args, Some(&input));
        let out =
            tokio::time::timeout(std::time::Duration::from_secs(20), run).await.expect("deadlocked").unwrap();
        assert_eq!((out.code, out.stdout.len(), out.stderr.as_str()), (Some(0), 1 << 20, "done\n"));
    }

    #[tokio::test]
    async fn children_run_in_their_own_process_group() {
        let r = Runner::default();
        let out =
            r.run(Path::new("/bin/sh"), &["-c".into(), "ps -o pgid= -p $$".into()], None).await.unwrap();
        let ours = std::process::id();
        let theirs: u32 = out.stdout.trim().parse().unwrap();
        assert_ne!(theirs, ours);
        assert_ne!(theirs, 0);
    }

    #[tokio::test]
    async fn interactive_runs_report_the_exit_code() {
        let r = Runner::default();
        let code = r.run_interactive(Path::new("/bin/sh"), &["-c".into(), "exit 7".into()]).await.unwrap();
        assert_eq!(code, Some(7));
    }
}
