//! Progress of a run on stderr: on a terminal, one line per release redrawn in place (waiting,
//! installing, ready, failed, skipped, with elapsed time); otherwise plain timestamped lines.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum State {
    Waiting,
    Running(Instant),
    Done(Duration),
    Unchanged(Duration),
    Repaired(Duration),
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
pub(crate) struct Progress {
    start: Instant,
    live: bool,
    verb: &'static str,
    rows: Arc<Mutex<Vec<Row>>>,
    drawn: Arc<Mutex<usize>>,
    ticker: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Progress {
    /// `releases`: every release of the plan with its tier, in plan order.
    pub(crate) fn new(releases: Vec<(usize, String)>, verb: &'static str) -> Progress {
        let rows = releases
            .into_iter()
            .map(|(tier, release)| Row { tier, release, state: State::Waiting })
            .collect();
        let live = std::io::stderr().is_terminal() && std::env::var_os("TERM").is_some_and(|t| t != "dumb");
        let progress = Progress {
            start: Instant::now(),
            live,
            verb,
            rows: Arc::new(Mutex::new(rows)),
            drawn: Arc::default(),
            ticker: Arc::default(),
        };
        if live {
            let ticker = progress.clone();
            let handle = tokio::spawn(async move {
                loop {
                    ticker.redraw();
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            });
            *progress.ticker.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        }
        progress
    }

    pub(crate) fn start(&self) -> Instant {
        self.start
    }

    pub(crate) fn set(&self, release: &str, state: State) {
        let line = {
            let mut rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
            let Some(row) = rows.iter_mut().find(|r| r.release == release) else { return };
            row.state = state;
            self.describe(row)
        };
        if self.live {
            self.redraw();
        } else {
            let _ = writeln!(std::io::stderr(), "[{:>7.1}s] {line}", self.start.elapsed().as_secs_f64());
        }
    }

    /// Prints a line above the live table (or as a plain line).
    pub(crate) fn note(&self, text: &str) {
        if self.live {
            self.clear();
        }
        let _ = writeln!(std::io::stderr(), "{text}");
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
            State::Repaired(took) => format!("repaired ({:.1}s)", took.as_secs_f64()),
            State::Failed(took) => format!("FAILED ({:.1}s)", took.as_secs_f64()),
            State::Skipped => "skipped".to_string(),
        };
        format!("tier {}: {} {state}", row.tier, row.release)
    }

    fn clear(&self) {
        let mut drawn = self.drawn.lock().unwrap_or_else(|p| p.into_inner());
        if *drawn > 0 {
            let _ = write!(std::io::stderr(), "\x1b[{}A\x1b[J", *drawn);
            *drawn = 0;
        }
    }

    fn redraw(&self) {
        let lines: Vec<String> =
            self.rows.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|r| self.describe(r)).collect();
        self.clear();
        let mut err = std::io::stderr().lock();
        for line in &lines {
            let _ = writeln!(err, "\x1b[2K{line}");
        }
        *self.drawn.lock().unwrap_or_else(|p| p.into_inner()) = lines.len();
    }

    /// Stops the redraw ticker and leaves the final table on screen.
    pub(crate) fn finish(&self) {
        if let Some(ticker) = self.ticker.lock().unwrap_or_else(|p| p.into_inner()).take() {
            ticker.abort();
        }
        if self.live {
            self.redraw();
            *self.drawn.lock().unwrap_or_else(|p| p.into_inner()) = 0;
        }
    }
}
