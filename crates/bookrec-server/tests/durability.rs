//! Durability: a server process is killed with SIGKILL in the middle of a stream of rating
//! writes; after restart every rating it acknowledged (HTTP 201) must be in the database. The
//! restarted server is then stopped with SIGTERM and must exit cleanly.
//!
//! The server runs in a child process: this test binary re-executes itself running only the
//! ignored `child_server` test, which serves the fixture model on a fresh port over the SQLite
//! file named in `BOOKREC_TEST_DB`.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DB_ENV: &str = "BOOKREC_TEST_DB";

/// Entry point of the child process (run only when the parent asks for it).
#[test]
#[ignore = "child process of acknowledged_ratings_survive_kill_9"]
fn child_server() {
    let Ok(db) = std::env::var(DB_ENV) else {
        return;
    };
    let store = bookrec_server::Store::open(std::path::Path::new(&db)).unwrap();
    let state = bookrec_server::AppState::new(
        common::fixture_model(),
        common::fixture_catalog(),
        store,
        bookrec_server::Settings::default(),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("LISTENING {}", listener.local_addr().unwrap());
        std::io::stdout().flush().unwrap();
        bookrec_server::serve_on(state, listener).await.unwrap();
    });
}

fn start_child(db: &std::path::Path) -> (Child, SocketAddr) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "child_server",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DB_ENV, db)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut addr = None;
    while addr.is_none() && Instant::now() < deadline {
        match lines.next() {
            // libtest may print "test child_server ... " on the same line first.
            Some(Ok(line)) => {
                addr = line
                    .split_once("LISTENING ")
                    .and_then(|(_, a)| a.trim().parse().ok())
            }
            _ => break,
        }
    }
    match addr {
        Some(addr) => {
            // Keep reading, so the child's last words (libtest's summary) find an open pipe.
            std::thread::spawn(move || lines.for_each(drop));
            (child, addr)
        }
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("child server did not start");
        }
    }
}

/// One HTTP/1.1 request over a fresh connection; the status code and body, or `None` if the
/// connection failed (e.g. the server was killed).
fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status: u16 = out.split(' ').nth(1)?.parse().ok()?;
    let body = out
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default();
    Some((status, body))
}

#[test]
fn acknowledged_ratings_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ratings.sqlite");
    let (mut child, addr) = start_child(&db);

    let acked: Arc<Mutex<Vec<(String, String, f32)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let (acked, stop) = (Arc::clone(&acked), Arc::clone(&stop));
            std::thread::spawn(move || {
                let books = common::FANTASY.iter().chain(common::CRIME.iter());
                let books: Vec<&str> = books.copied().collect();
                let mut failures = 0;
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) || failures > 20 {
                        break;
                    }
                    let user = format!("writer{t}-{}", i / books.len());
                    let book = books[i % books.len()];
                    let rating = 1 + (i * 7 + t) % 10;
                    let body = format!(r#"{{"book_id":"{book}","rating":{rating}}}"#);
                    match http(addr, "POST", &format!("/api/users/{user}/ratings"), &body) {
                        Some((201, _)) => {
                            acked
                                .lock()
                                .unwrap()
                                .push((user, book.to_string(), rating as f32))
                        }
                        Some((status, body)) => panic!("unexpected answer {status}: {body}"),
                        None => failures += 1,
                    }
                }
            })
        })
        .collect();

    // Let a few hundred writes through, then kill -9 while writes are in flight.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 300 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let acked_at_kill = acked.lock().unwrap().len();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 300,
        "only {} writes acknowledged",
        acked.len()
    );
    assert!(acked.len() >= acked_at_kill);

    // Restart on the same file: the server must come up and answer with every acknowledged
    // rating (fetched per user through the API).
    let (mut child, addr) = start_child(&db);
    let mut by_user: std::collections::BTreeMap<&str, Vec<(&str, f32)>> = Default::default();
    for (u, b, r) in &acked {
        by_user.entry(u).or_default().push((b, *r));
    }
    for (user, want) in &by_user {
        let (status, body) = http(addr, "GET", &format!("/api/users/{user}/ratings"), "").unwrap();
        assert_eq!(status, 200, "{user}: {body}");
        let got: serde_json::Value = serde_json::from_str(&body).unwrap();
        for (book, rating) in want {
            let found =
                got["ratings"].as_array().unwrap().iter().any(|r| {
                    r["book"]["id"] == *book && r["rating"].as_f64() == Some(*rating as f64)
                });
            assert!(found, "acknowledged rating {user}/{book}={rating} lost");
        }
    }
    // Graceful shutdown: SIGTERM ends the server cleanly (exit status 0) within seconds.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("server did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "SIGTERM exit: {exit}");
    assert!(
        http(addr, "GET", "/healthz", "").is_none(),
        "still answering"
    );

    // And directly in the file.
    let store = bookrec_server::Store::open(&db).unwrap();
    assert!(store.count().unwrap() as usize >= acked.len());
    println!(
        "durability: {} acknowledged before kill -9, all {} present after restart ({} rows)",
        acked_at_kill,
        acked.len(),
        store.count().unwrap()
    );
}
