//! The only module that prints. Everything user-facing leaves through [`Ui`]; engine events
//! become progress bars on a terminal and plain lines elsewhere.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::engine::{Event, Hooks};
use crate::plan::Action;

#[derive(Debug, Clone, Copy)]
pub struct Ui {
    pub color: bool,
    pub quiet: bool,
    /// `-v`: each finished resource also shows its API requests and pauses.
    pub verbose: bool,
    pub tty: bool,
}

impl Ui {
    pub fn new(no_color: bool, quiet: bool, verbose: bool) -> Self {
        let tty = std::io::stderr().is_terminal();
        let color = !no_color
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::io::stdout().is_terminal();
        Self {
            color,
            quiet,
            verbose,
            tty,
        }
    }

    /// Results: always printed (plan text, JSON, outputs).
    pub fn out(&self, text: &str) {
        print!("{text}");
        if !text.ends_with('\n') {
            println!();
        }
    }

    /// Progress and notes: on stderr, silenced by `-q`.
    pub fn note(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    /// Errors: on stderr, always.
    pub fn error(&self, text: &str) {
        eprintln!(
            "{}{text}",
            if self.color {
                "\x1b[31merror:\x1b[0m "
            } else {
                "error: "
            }
        );
    }

    pub fn warn(&self, text: &str) {
        eprintln!(
            "{}{text}",
            if self.color {
                "\x1b[33mwarning:\x1b[0m "
            } else {
                "warning: "
            }
        );
    }

    /// Asks on the terminal; the caller has checked that stdin is one.
    pub fn confirm(&self, question: &str) -> std::io::Result<bool> {
        eprint!("{question} Only 'yes' will be accepted: ");
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Ok(line.trim() == "yes")
    }

    pub fn progress(&self) -> Progress {
        Progress {
            ui: *self,
            bars: self.tty.then(MultiProgress::new),
            live: Mutex::new(BTreeMap::new()),
            said: Mutex::new(BTreeMap::new()),
        }
    }
}

fn ing(action: Action) -> &'static str {
    match action {
        Action::Create | Action::Replace => "creating",
        Action::Update => "updating",
        Action::Delete => "destroying",
        Action::NoOp => "reading",
    }
}

/// Turns engine events into output: a spinner per resource in flight on a TTY, lines otherwise.
pub struct Progress {
    ui: Ui,
    bars: Option<MultiProgress>,
    live: Mutex<BTreeMap<String, ProgressBar>>,
    /// The last progress line printed per resource (without a terminal).
    said: Mutex<BTreeMap<String, String>>,
}

impl Progress {
    fn line(&self, text: String) {
        if self.ui.quiet {
            return;
        }
        match &self.bars {
            Some(m) => {
                let _ = m.println(text);
            }
            None => eprintln!("{text}"),
        }
    }
}

impl Hooks for Progress {
    fn event(&self, e: Event) {
        match e {
            Event::Started { address, action } => match &self.bars {
                Some(m) if !self.ui.quiet => {
                    let bar = m.add(ProgressBar::new_spinner());
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                            .expect("valid template"),
                    );
                    bar.set_message(format!("{address}: {}…", ing(action)));
                    bar.enable_steady_tick(Duration::from_millis(120));
                    self.live.lock().expect("poisoned").insert(address, bar);
                }
                _ => self.line(format!("{address}: {}…", ing(action))),
            },
            Event::Finished {
                address,
                action,
                id,
                elapsed,
                tally,
            } => {
                if let Some(bar) = self.live.lock().expect("poisoned").remove(&address) {
                    bar.finish_and_clear();
                }
                let id = id.map(|i| format!(" ({i})")).unwrap_or_default();
                let verb = if action == Action::Replace {
                    "created"
                } else {
                    action.verb()
                };
                let tally = if self.ui.verbose {
                    format!(
                        " ({} API calls in flight {:.1}s, paused {:.1}s)",
                        tally.calls,
                        tally.api.as_secs_f64(),
                        tally.paused.as_secs_f64()
                    )
                } else {
                    String::new()
                };
                self.line(format!(
                    "{address}: {verb}{id} after {:.1}s{tally}",
                    elapsed.as_secs_f64()
                ));
            }
            Event::Failed {
                address,
                action,
                error,
            } => {
                if let Some(bar) = self.live.lock().expect("poisoned").remove(&address) {
                    bar.finish_and_clear();
                }
                self.line(format!("{address}: {} failed: {error}", ing(action)));
            }
            Event::Retrying {
                address,
                attempt,
                delay,
                error,
            } => {
                self.line(format!(
                    "{address}: retry {attempt} in {:.1}s after: {error}",
                    delay.as_secs_f64()
                ));
            }
            Event::Skipped { address, action } => {
                self.line(format!("{address}: not {} (skipped)", action.verb()))
            }
            Event::Progress { address, message } => {
                match self.live.lock().expect("poisoned").get(&address) {
                    Some(bar) => bar.set_message(format!("{address}: {message}")),
                    None => {
                        // Lines only when something moved, not at every poll.
                        let mut said = self.said.lock().expect("poisoned");
                        if said.get(&address) != Some(&message) {
                            self.line(format!("{address}: {message}"));
                            said.insert(address, message);
                        }
                    }
                }
            }
            Event::Swept { kind, id } => self.line(format!(
                "{kind} {id}: destroyed (found by its wxinfra tags; the state had lost it)"
            )),
        }
    }
}
