//! A lock whose renewals stall: a run talking to the API server through a loopback proxy that
//! starts holding every request stops with "lost the lock" (75) before the lease could expire for
//! others, and a second run against the API server itself is refused while the first renews and
//! takes the lease over only after the first ended: never two holders at once. Every wait has a
//! hang guard; a run still going at its guard is killed.

use crate::charts::prepare_charts;
use crate::lifecycle::{delay_values, wait_for_status};
use crate::stall_proxy::StallProxy;
use crate::support::{deploy, helm4, root, testbed, yaml, Namespace};
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const PREFLIGHT: i32 = 75;
/// What the test's own measurements may lag behind the events they time (a poll of the Lease, a
/// stderr line read): the bounds below come from the lock's constants plus this.
const MEASURING: Duration = Duration::from_secs(2);
/// Hang guard added to every computed wait: a run still going then is killed and the test fails.
const GUARD: Duration = Duration::from_secs(60);

/// A duration constant of src/kube/lock.rs (`const NAME: ... = ...N...;`), in seconds.
fn lock_constant(name: &str) -> Duration {
    let source = std::fs::read_to_string(root().join("src/kube/lock.rs")).unwrap();
    let line = source
        .lines()
        .find(|l| l.contains(&format!("const {name}:")))
        .unwrap_or_else(|| panic!("no constant {name} in src/kube/lock.rs"));
    let digits: String = line.split_once('=').unwrap().1.chars().filter(char::is_ascii_digit).collect();
    Duration::from_secs(digits.parse().unwrap())
}

/// The API server's address in a kubeconfig (its only cluster).
fn api_server(kubeconfig: &Path) -> SocketAddr {
    let config = yaml(&std::fs::read_to_string(kubeconfig).unwrap());
    let clusters = config["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 1, "the test bed's kubeconfig has one cluster");
    let server = clusters[0]["cluster"]["server"].as_str().unwrap();
    server.strip_prefix("https://").unwrap().parse().unwrap()
}

/// A copy of `kubeconfig` whose server is `proxy` (same host, so the certificate still matches).
fn proxied_kubeconfig(dir: &Path, kubeconfig: &Path, proxy: SocketAddr) -> PathBuf {
    let mut config = yaml(&std::fs::read_to_string(kubeconfig).unwrap());
    config["clusters"][0]["cluster"]["server"] = format!("https://{proxy}").into();
    let path = dir.join("proxied-kubeconfig");
    std::fs::write(&path, serde_json::to_string(&config).unwrap()).unwrap();
    path
}

/// A running panda-install whose stderr lines are timed as they arrive; killed when dropped.
struct Run {
    name: &'static str,
    child: Child,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
    read_all: Arc<AtomicBool>,
}

impl Run {
    fn spawn(name: &'static str, mut cmd: Command) -> Run {
        let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let read_all = Arc::new(AtomicBool::new(false));
        let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let (l, done) = (lines.clone(), read_all.clone());
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                l.lock().unwrap().push((Instant::now(), line));
            }
            done.store(true, Ordering::SeqCst);
        });
        Run { name, child, lines, read_all }
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Its exit code and when the exit was seen, once it exited.
    fn exited(&mut self) -> Option<(Option<i32>, Instant)> {
        let status = self.child.try_wait().unwrap()?;
        let at = Instant::now();
        // the last lines (a grandchild holding the pipe open must not hang the test)
        while !self.read_all.load(Ordering::SeqCst) && at.elapsed() < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_millis(20));
        }
        Some((status.code(), at))
    }

    /// Waits at most `limit` for the exit (else kills it and fails).
    fn wait(&mut self, limit: Duration) -> (Option<i32>, Instant) {
        let start = Instant::now();
        loop {
            if let Some(exit) = self.exited() {
                return exit;
            }
            assert!(start.elapsed() <= limit, "{} still ran after {limit:?}:\n{}", self.name, self.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stderr(&self) -> String {
        self.lines.lock().unwrap().iter().map(|(_, l)| format!("{l}\n")).collect()
    }

    /// When the first stderr line containing `needle` arrived.
    fn line_at(&self, needle: &str) -> Option<Instant> {
        self.lines.lock().unwrap().iter().find(|(_, l)| l.contains(needle)).map(|(at, _)| *at)
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if self.running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Every change of the namespace's Lease as seen through the API server itself: when it was seen,
/// its holder and resourceVersion (`None`: no Lease).
type LeaseRecord = (Instant, Option<(String, String)>);

struct LeaseWatch {
    history: Arc<Mutex<Vec<LeaseRecord>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl LeaseWatch {
    fn start(ns: &str) -> LeaseWatch {
        let history = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s, ns) = (history.clone(), stop.clone(), ns.to_string());
        let thread = std::thread::spawn(move || {
            let mut last: Option<Option<(String, String)>> = None;
            while !s.load(Ordering::SeqCst) {
                let now = read_lease(&ns);
                if last.as_ref() != Some(&now) {
                    h.lock().unwrap().push((Instant::now(), now.clone()));
                    last = Some(now);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        LeaseWatch { history, stop, thread: Some(thread) }
    }

    fn holder(&self) -> Option<String> {
        self.history.lock().unwrap().last().and_then(|(_, r)| r.as_ref().map(|(h, _)| h.clone()))
    }

    fn finish(mut self) -> Vec<LeaseRecord> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap();
        self.history.lock().unwrap().clone()
    }
}

impl Drop for LeaseWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The Lease's holder and resourceVersion (each kubectl call bounded by its request timeout).
fn read_lease(ns: &str) -> Option<(String, String)> {
    let out = Command::new("kubectl")
        .args(["get", "lease", "panda-install-lock", "-n", ns, "--ignore-not-found", "--request-timeout=5s"])
        .args(["-o", "jsonpath={.spec.holderIdentity} {.metadata.resourceVersion}"])
        .output()
        .unwrap();
    assert!(out.status.success(), "kubectl get lease: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let (holder, version) = text.trim().split_once(' ')?;
    Some((holder.to_string(), version.to_string()))
}

#[test]
#[ignore = "needs the test bed and its tools: run scripts/test"]
fn a_stalled_renewal_stops_the_run_before_another_can_take_the_lock() {
    let kubeconfig = testbed();
    let helm = helm4();
    prepare_charts(&helm);
    let lease = lock_constant("LEASE_SECONDS");
    let safety = lock_constant("SAFETY");
    let abandon = lock_constant("ABANDON");
    let renew_every = lock_constant("RENEW_EVERY");
    let ns = Namespace::new("stall");
    let dir = tempfile::tempdir().unwrap();
    let proxy = StallProxy::start(api_server(&kubeconfig));
    let proxied = proxied_kubeconfig(dir.path(), &kubeconfig, proxy.addr);
    let watch = LeaseWatch::start(&ns.0);

    // the first run goes through the proxy; its msgsvc pods become ready only after 10 minutes
    let slow = format!("msgsvc={}", delay_values(dir.path(), "msgsvc", "600s").display());
    let mut cmd = deploy(&helm, &ns.0, "dev", &["-c", "msgsvc", "--values", &slow]);
    cmd.env("KUBECONFIG", &proxied);
    let mut first = Run::spawn("the first run", cmd);
    wait_for_status(&helm, &ns.0, "test-msgsvc", "pending-install", Duration::from_secs(90));
    let holder = watch.holder().expect("the first run holds the Lease while its helm runs");

    // while it renews, a run against the API server itself is refused as busy
    let mut busy = Run::spawn("the busy run", deploy(&helm, &ns.0, "dev", &["-c", "iam"]));
    let (code, _) = busy.wait(renew_every + GUARD);
    assert_eq!(code, Some(PREFLIGHT), "{}", busy.stderr());
    assert!(busy.stderr().contains(&format!("locked by {holder}")), "{}", busy.stderr());
    assert!(first.running(), "the first run ended early:\n{}", first.stderr());

    // the proxy now holds every request: renewals get no answer
    proxy.hold();
    let stalled = Instant::now();
    let mut second = Run::spawn("the second run", deploy(&helm, &ns.0, "dev", &["-c", "iam"]));
    // both end; while the first runs, the Lease names it (read before the first's state is)
    let limit = lease + GUARD + Duration::from_secs(120);
    let (mut first_exit, mut second_exit) = (None, None);
    while first_exit.is_none() || second_exit.is_none() {
        let now_held_by = watch.holder();
        if first_exit.is_none() {
            first_exit = first.exited();
            if let Some(other) = now_held_by.filter(|h| *h != holder && first_exit.is_none()) {
                panic!("{other} holds the lock while the first run still runs:\n{}", first.stderr());
            }
        }
        if second_exit.is_none() {
            second_exit = second.exited();
        }
        assert!(stalled.elapsed() <= limit, "still running after {limit:?}:\n{}", first.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    let ((code, first_ended), (second_code, _)) = (first_exit.unwrap(), second_exit.unwrap());
    let stderr = first.stderr();
    assert_eq!(code, Some(PREFLIGHT), "{stderr}");
    let lost = first.line_at("lost the lock").unwrap_or_else(|| panic!("no 'lost the lock':\n{stderr}"));
    assert_eq!(second_code, Some(0), "{}", second.stderr());
    assert!(second.stderr().contains(&format!("locked by {holder}")), "{}", second.stderr());
    let history = watch.finish();
    drop(proxy);

    // the holders, in order: the first run, then the second one, never both
    let mut holders: Vec<&str> = Vec::new();
    for (_, record) in &history {
        if let Some((h, _)) = record {
            if holders.last() != Some(&h.as_str()) {
                holders.push(h);
            }
        }
    }
    assert_eq!(holders.len(), 2, "{history:?}");
    assert_eq!(holders[0], holder, "{history:?}");
    let renewed = history
        .iter()
        .filter(|(_, r)| r.as_ref().is_some_and(|(h, _)| *h == holder))
        .map(|(at, _)| *at)
        .next_back()
        .unwrap();
    let taken = history
        .iter()
        .find(|(_, r)| r.as_ref().is_some_and(|(h, _)| *h != holder))
        .map(|(at, _)| *at)
        .unwrap();
    assert_eq!(read_lease(&ns.0), None, "the second run left its Lease");
    let secs = |d: Duration| d.as_secs_f64();
    println!(
        "stalled after the last renewal seen: {:.1}s; 'lost the lock' {:.1}s and exit {:.1}s after it; \
         taken over {:.1}s after it ({:.1}s after the stall); lease {}s, safety {}s, abandon {}s",
        secs(stalled - renewed),
        secs(lost - renewed),
        secs(first_ended - renewed),
        secs(taken - renewed),
        secs(taken - stalled),
        lease.as_secs(),
        safety.as_secs(),
        abandon.as_secs()
    );
    // the run gave up before others could see the lease expire, and ended before it could be taken
    assert!(lost > stalled, "lost the lock before the stall:\n{stderr}");
    assert!(lost - renewed <= lease - safety + MEASURING, "gave up too late:\n{stderr}");
    assert!(first_ended - renewed <= lease - safety + abandon + MEASURING, "ended too late:\n{stderr}");
    assert!(first_ended - renewed < lease, "still running when the lease could expire:\n{stderr}");
    assert!(taken > first_ended, "taken over while the first run still ran: {history:?}");
    assert!(taken - stalled >= lease, "taken over before it stayed unchanged for the lease: {history:?}");
}
