//! indicatif progress bars behind the core's `Progress` trait. Bars draw on stderr only when it is
//! a terminal, so piped output stays clean.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bookrec_core::progress::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Bars {
    current: Mutex<Option<(ProgressBar, String, Instant)>>,
}

impl Bars {
    pub fn new() -> Self {
        Bars {
            current: Mutex::new(None),
        }
    }
}

impl Progress for Bars {
    fn start(&self, stage: &str, total: u64) {
        let bar = if total == 0 {
            let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.enable_steady_tick(Duration::from_millis(120));
            b
        } else {
            let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template(
                    "{msg:>16} [{bar:30}] {pos}/{len} {elapsed} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b
        };
        bar.set_message(stage.to_string());
        if let Ok(mut cur) = self.current.lock() {
            if let Some((old, _, _)) = cur.take() {
                old.finish_and_clear();
            }
            *cur = Some((bar, stage.to_string(), Instant::now()));
        }
    }

    fn inc(&self, n: u64) {
        if let Ok(cur) = self.current.lock() {
            if let Some((bar, _, _)) = cur.as_ref() {
                bar.inc(n);
            }
        }
    }

    fn message(&self, msg: &str) {
        if let Ok(cur) = self.current.lock() {
            if let Some((bar, stage, _)) = cur.as_ref() {
                bar.set_message(format!("{stage}: {msg}"));
            }
        }
    }

    fn finish(&self, summary: &str) {
        if let Ok(mut cur) = self.current.lock() {
            if let Some((bar, stage, started)) = cur.take() {
                bar.finish_and_clear();
                tracing::info!(
                    "{stage}: {:.3}s{}{summary}",
                    started.elapsed().as_secs_f64(),
                    if summary.is_empty() { "" } else { ", " }
                );
            }
        }
    }
}
