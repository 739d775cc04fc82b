//! Progress of a run on stderr: on a terminal, one line per release redrawn in place (waiting,
//! installing, ready, failed, skipped, with elapsed time); otherwise plain timestamped lines.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Waiting,
    Running(Instant),
    Done(Duration),
    Unchanged(Duration),
    Failed(Duration),
    Skipped,
}

#[derive(Debug, Clone)]
struct Row {
    tier: usize,
    release: String,
    state: State,
}

/// Shared by the executor's tasks; cheap to clone.
#[derive(Clone)]
pub struct Progress {
    start: Instant,
    live: bool,
    verb: &'static str,
    rows: Arc<Mutex<Vec<Row>>>,
    drawn: Arc<Mutex<usize>>,
}

fn stderr_is_terminal() -> bool {
    // SAFETY: isatty only inspects the file descriptor.
    unsafe { libc::isatty(2) == 1 }
}

impl Progress {
    /// `releases`: every release of the plan with its tier, in plan order.
    pub fn new(releases: Vec<(usize, String)>, verb: &'static str) -> Progress {
        let rows = releases.into_iter().map(|(tier, release)| Row { tier, release, state: State::Waiting }).collect();
        let live = stderr_is_terminal() && std::env::var_os("TERM").is_some_and(|t| t != "dumb");
        let progress = Progress { start: Instant::now(), live, verb, rows: Arc::new(Mutex::new(rows)), drawn: Arc::default() };
        if live {
            let ticker = progress.clone();
            tokio::spawn(async move {
                loop {
                    ticker.redraw();
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            });
        }
        progress
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    pub fn set(&self, release: &str, state: State) {
        let line = {
            let mut rows = self.rows.lock().unwrap();
            let Some(row) = rows.iter_mut().find(|r| r.release == release) else { return };
            row.state = state;
            self.describe(row)
        };
        if self.live {
            self.redraw();
        } else {
            eprintln!("[{:>7.1}s] {line}", self.start.elapsed().as_secs_f64());
        }
    }

    /// Prints a line above the live table (or as a plain line).
    pub fn note(&self, text: &str) {
        if self.live {
            self.clear();
        }
        eprintln!("{text}");
        if self.live {
            self.redraw();
        }
    }

    fn describe(&self, row: &Row) -> String {
        let state = match &row.state {
            State::Waiting => "waiting".to_string(),
            State::Running(since) => format!("{} {:.1}s", self.verb, since.elapsed().as_secs_f64()),
            State::Done(took) => format!("done ({:.1}s)", took.as_secs_f64()),
            State::Unchanged(took) => format!("unchanged ({:.1}s)", took.as_secs_f64()),
            State::Failed(took) => format!("FAILED ({:.1}s)", took.as_secs_f64()),
            State::Skipped => "skipped".to_string(),
        };
        format!("tier {}: {} {state}", row.tier, row.release)
    }

    fn clear(&self) {
        let mut drawn = self.drawn.lock().unwrap();
        if *drawn > 0 {
            eprint!("\x1b[{}A\x1b[J", *drawn);
            *drawn = 0;
        }
    }

    fn redraw(&self) {
        let lines: Vec<String> = self.rows.lock().unwrap().iter().map(|r| self.describe(r)).collect();
        self.clear();
        let mut err = std::io::stderr().lock();
        for line in &lines {
            let _ = writeln!(err, "\x1b[2K{line}");
        }
        *self.drawn.lock().unwrap() = lines.len();
    }

    /// Leaves the final table on screen.
    pub fn finish(&self) {
        if self.live {
            self.redraw();
            *self.drawn.lock().unwrap() = 0;
        }
    }
}
