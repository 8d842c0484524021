//! What every end-to-end test of the `bookrec` binary needs: run it, expect success or a clear
//! error, and the demo files. Each test binary uses a part of it.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Runs `bookrec ARGS` (with no `BOOKREC_LOG` from the caller's environment).
pub fn bookrec(args: &[&str]) -> Output {
    bookrec_with_stdin(args, "")
}

/// Runs `bookrec ARGS` with `stdin` on its standard input.
pub fn bookrec_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bookrec"))
        .args(args)
        .env_remove("BOOKREC_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Standard output of `bookrec ARGS`, which must succeed.
pub fn ok(args: &[&str]) -> String {
    let out = bookrec(args);
    assert!(
        out.status.success(),
        "bookrec {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Standard error of `bookrec ARGS`, which must fail with one `error: …` message, no panic.
pub fn fails(args: &[&str]) -> String {
    let out = bookrec(args);
    assert!(!out.status.success(), "bookrec {args:?} should fail");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// The demo ratings and books files, written into `dir`.
pub fn demo_files(dir: &Path) -> (PathBuf, PathBuf) {
    bookrec_core::datasets::demo::write_demo_files(dir, bookrec_core::datasets::demo::DEMO_SEED)
        .unwrap()
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
