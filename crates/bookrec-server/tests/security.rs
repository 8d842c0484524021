//! Security rules over real HTTP (a server on a loopback port, raw HTTP/1.1 requests): the
//! 401/403 matrix of `accounts` mode, sign-up / sign-in / sign-out with session cookies, token
//! revocation, CSRF and cross-origin writes, the Host allow-list, security headers, 413/414/431,
//! the write rate limit (429), a locked database (503), and the connection limits (idle and
//! slow-header sockets closed while a normal request is still answered quickly).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use bookrec_server::connections::Limits;
use bookrec_server::security::{AuthMode, SecurityConfig, WriteLimit};
use bookrec_server::AppState;

/// One answer: status, headers (lower-case names; repeated ones joined by "\n"), body.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    /// The value of cookie `name` set by this answer.
    fn set_cookie(&self, name: &str) -> Option<String> {
        self.header("set-cookie")
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .map(|v| v.split(';').next().unwrap().to_string())
    }
}

/// Sends one request (`Connection: close`) with `headers` and `body`.
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let out = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut map: HashMap<String, String> = HashMap::new();
    let mut chunked = false;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            chunked |= k == "transfer-encoding" && v.contains("chunked");
            map.entry(k)
                .and_modify(|e| {
                    e.push('\n');
                    e.push_str(v.trim())
                })
                .or_insert_with(|| v.trim().to_string());
        }
    }
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Reply {
        status,
        headers: map,
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

/// A server over the fixture model with `security` and `limits`, on a fresh loopback port
/// (or `bind`); stops when the returned sender is dropped.
struct Server {
    addr: SocketAddr,
    state: AppState,
    _stop: tokio::sync::oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

async fn server(bind: &str, security: SecurityConfig, limits: Limits) -> Option<Server> {
    let dir = tempfile::tempdir().unwrap();
    let state = common::state_in(dir.path());
    let listener = tokio::net::TcpListener::bind(bind).await.ok()?;
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bookrec_server::serve_until(
        state.clone(),
        listener,
        security,
        limits,
        async move {
            let _ = stopped.await;
        },
    ));
    Some(Server {
        addr,
        state,
        _stop: stop,
        _dir: dir,
    })
}

fn config(auth: AuthMode) -> SecurityConfig {
    SecurityConfig {
        auth,
        ..SecurityConfig::default()
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_mode_401_403_matrix_and_token_revocation() {
    let srv = server("127.0.0.1:0", config(AuthMode::Accounts), Limits::default())
        .await
        .unwrap();
    let store = srv.state.store();
    let reader1 = store.create_token("1", false).unwrap();
    let reader2 = store.create_token("2", false).unwrap();
    let admin = store.create_token("ops", true).unwrap();
    let addr = srv.addr;
    blocking(move || {
        let bearer = |t: &str| format!("Bearer {t}");
        let json = ("Content-Type", "application/json");
        let rating = r#"{"book_id": "F1", "rating": 8}"#;
        // (who, expected status) for each reader route of reader "1".
        let who: [(&str, Option<String>, [u16; 3]); 4] = [
            ("anonymous", None, [401, 401, 401]),
            ("other reader", Some(bearer(&reader2)), [403, 403, 403]),
            ("the reader", Some(bearer(&reader1)), [200, 200, 201]),
            ("admin", Some(bearer(&admin)), [200, 200, 201]),
        ];
        for (name, auth, want) in &who {
            let mut h: Vec<(&str, &str)> = vec![json];
            if let Some(a) = auth {
                h.push(("Authorization", a));
            }
            let got = [
                request(addr, "GET", "/api/users/1/recommendations", &h, ""),
                request(addr, "GET", "/api/users/1/ratings", &h, ""),
                request(addr, "POST", "/api/users/1/ratings", &h, rating),
            ];
            for (g, w) in got.iter().zip(want) {
                assert_eq!(g.status, *w, "{name}: {}", g.body);
                if *w >= 400 {
                    assert!(!g.json()["error"].as_str().unwrap().is_empty());
                }
                if *w == 401 {
                    assert!(g.header("www-authenticate").starts_with("Bearer"));
                }
            }
        }
        // Public routes stay public.
        for path in [
            "/api/books/F0",
            "/api/books/F0/similar",
            "/api/books?q=hobbit",
            "/healthz",
            "/openapi.json",
            "/docs",
            "/books/F0",
            "/search?q=mort",
        ] {
            assert_eq!(request(addr, "GET", path, &[], "").status, 200, "{path}");
        }
        let ready = request(addr, "GET", "/readyz", &[], "");
        assert_eq!(ready.json()["auth"], "accounts");
        // Reader pages: anonymous → 401 page with a sign-in link.
        let page = request(addr, "GET", "/?user=1", &[], "");
        assert_eq!(page.status, 401);
        assert!(
            page.header("content-type").starts_with("text/html") && page.body.contains("/signin")
        );
        // Admin: anonymous 401, a reader's token 403, an admin token passes the check (the
        // in-memory model then has no file to reload: 422).
        let a1 = bearer(&reader1);
        let aa = bearer(&admin);
        assert_eq!(request(addr, "POST", "/admin/reload", &[], "").status, 401);
        assert_eq!(
            request(addr, "POST", "/admin/reload", &[("Authorization", &a1)], "").status,
            403
        );
        assert_eq!(
            request(addr, "POST", "/admin/reload", &[("Authorization", &aa)], "").status,
            422
        );
        // Revocation: the token stops working at once; an unknown token is a 401 too.
        assert_eq!(store.revoke_tokens(&reader1[..12]).unwrap(), 1);
        let r = request(
            addr,
            "GET",
            "/api/users/1/ratings",
            &[("Authorization", &a1)],
            "",
        );
        assert_eq!(r.status, 401, "{}", r.body);
        assert!(r.body.contains("revoked"));
        let r = request(
            addr,
            "GET",
            "/api/users/1/ratings",
            &[("Authorization", "Bearer bkr_nonsense")],
            "",
        );
        assert_eq!(r.status, 401);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_sign_in_sessions_and_csrf() {
    let mut cfg = config(AuthMode::Accounts);
    cfg.secure_cookies = true;
    let srv = server("127.0.0.1:0", cfg, Limits::default()).await.unwrap();
    let addr = srv.addr;
    blocking(move || {
        let form = ("Content-Type", "application/x-www-form-urlencoded");
        let page = request(addr, "GET", "/signup", &[], "");
        assert_eq!(page.status, 200);
        let csrf = page.set_cookie("bookrec_csrf").expect("CSRF cookie");
        assert!(page
            .body
            .contains(&format!(r#"name="csrf" value="{csrf}""#)));
        let csrf_cookie = format!("bookrec_csrf={csrf}");
        let post = |path: &str, cookie: &str, body: &str| {
            request(addr, "POST", path, &[form, ("Cookie", cookie)], body)
        };
        // Refused: a reader ID the model knows, a short password, a missing CSRF field.
        let r = post(
            "/signup",
            &csrf_cookie,
            &format!("user=1&password=longenough&csrf={csrf}"),
        );
        assert_eq!(r.status, 422, "{}", r.body);
        let r = post(
            "/signup",
            &csrf_cookie,
            &format!("user=newbie&password=short&csrf={csrf}"),
        );
        assert_eq!(r.status, 422);
        assert!(r.body.contains("at least 8"));
        assert_eq!(
            post("/signup", &csrf_cookie, "user=newbie&password=longenough").status,
            403
        );
        let r = post(
            "/signup",
            &csrf_cookie,
            &format!("user=newbie&password=longenough&csrf={csrf}"),
        );
        assert_eq!(r.status, 303, "{}", r.body);
        let set = r.header("set-cookie").to_string();
        assert!(
            set.contains("HttpOnly")
                && set.contains("SameSite=Lax")
                && set.contains("Secure")
                && set.contains("Max-Age="),
            "{set}"
        );
        let session = r.set_cookie("bookrec_session").unwrap();
        let both = format!("bookrec_session={session}; {csrf_cookie}");
        // The same ID again is taken.
        let r = post(
            "/signup",
            &csrf_cookie,
            &format!("user=newbie&password=longenough&csrf={csrf}"),
        );
        assert_eq!(r.status, 422);

        // Own page: 200; another reader's: 403; without the cookie: 401.
        let own = request(addr, "GET", "/", &[("Cookie", &both)], "");
        assert_eq!(own.status, 200);
        assert!(own.body.contains(r#"id="signed-in">newbie"#));
        assert_eq!(
            request(addr, "GET", "/?user=1", &[("Cookie", &both)], "").status,
            403
        );
        assert_eq!(
            request(addr, "GET", "/api/users/newbie/ratings", &[], "").status,
            401
        );

        // Rating through the page form: needs the CSRF field, refused from a foreign origin.
        let rate = format!("book_id=F1&rating=9&csrf={csrf}");
        let r = post("/rate", &both, "book_id=F1&rating=9");
        assert_eq!(r.status, 403, "{}", r.body);
        let r = request(
            addr,
            "POST",
            "/rate",
            &[form, ("Cookie", &both), ("Origin", "http://evil.example")],
            &rate,
        );
        assert_eq!(r.status, 403);
        let r = post("/rate", &both, &rate);
        assert_eq!(r.status, 303, "{}", r.body);
        // Cookie-authenticated JSON writes must carry this site's Origin.
        let json = ("Content-Type", "application/json");
        let body = r#"{"book_id": "F2", "rating": 7}"#;
        let r = request(
            addr,
            "POST",
            "/api/users/newbie/ratings",
            &[json, ("Cookie", &both)],
            body,
        );
        assert_eq!(r.status, 403);
        let origin = format!("http://{addr}");
        let r = request(
            addr,
            "POST",
            "/api/users/newbie/ratings",
            &[json, ("Cookie", &both), ("Origin", &origin)],
            body,
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let mine = request(
            addr,
            "GET",
            "/api/users/newbie/ratings",
            &[("Cookie", &both)],
            "",
        );
        assert_eq!(mine.json()["ratings"].as_array().unwrap().len(), 2);

        // Sign out ends the session; sign in starts a new one; a wrong password is a 401.
        let r = post("/signout", &both, &format!("csrf={csrf}"));
        assert_eq!(r.status, 303);
        assert_eq!(
            request(
                addr,
                "GET",
                "/api/users/newbie/ratings",
                &[("Cookie", &both)],
                ""
            )
            .status,
            401
        );
        let r = post(
            "/signin",
            &csrf_cookie,
            &format!("user=newbie&password=wrongpassword&csrf={csrf}"),
        );
        assert_eq!(r.status, 401);
        let r = post(
            "/signin",
            &csrf_cookie,
            &format!("user=newbie&password=longenough&csrf={csrf}&next=/start"),
        );
        assert_eq!(r.status, 303);
        assert_eq!(r.header("location"), "/start");
        let again = format!(
            "bookrec_session={}",
            r.set_cookie("bookrec_session").unwrap()
        );
        assert_eq!(
            request(
                addr,
                "GET",
                "/api/users/newbie/ratings",
                &[("Cookie", &again)],
                ""
            )
            .status,
            200
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_mode_headers_hosts_csrf_sizes_and_rate_limit() {
    let mut cfg = config(AuthMode::Open);
    cfg.write_limit = Some(WriteLimit {
        per_minute: NonZeroU32::new(4).unwrap(),
        burst: NonZeroU32::new(4).unwrap(),
    });
    let srv = server("127.0.0.1:0", cfg, Limits::default()).await.unwrap();
    let addr = srv.addr;
    let store = srv.state.store();
    blocking(move || {
        // Headers on pages, API answers and errors alike.
        for path in [
            "/",
            "/books/F0",
            "/start",
            "/docs",
            "/api/books/F0",
            "/no/such/page",
        ] {
            let r = request(addr, "GET", path, &[], "");
            let csp = r.header("content-security-policy");
            assert!(
                csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"),
                "{path}: {csp}"
            );
            assert!(!csp.contains("unsafe-inline"), "{csp}");
            assert_eq!(r.header("x-content-type-options"), "nosniff");
            assert_eq!(r.header("x-frame-options"), "DENY");
            assert!(!r.header("referrer-policy").is_empty());
            if r.header("content-type").starts_with("text/html") {
                assert!(
                    !r.body.contains("<script>") && !r.body.contains("<style>"),
                    "{path}: inline script or style"
                );
                assert!(
                    !r.body.contains("onerror=") && !r.body.contains("onload="),
                    "{path}: inline event handler"
                );
            }
        }
        // Open mode: no accounts pages; /readyz says so.
        assert_eq!(request(addr, "GET", "/signup", &[], "").status, 404);
        assert_eq!(
            request(addr, "GET", "/readyz", &[], "").json()["auth"],
            "open"
        );

        // Host allow-list (DNS rebinding): 421 with a message; loopback names pass.
        let r = request(addr, "GET", "/healthz", &[("Host", "evil.example")], "");
        assert_eq!(r.status, 421);
        assert!(r.json()["error"].as_str().unwrap().contains("evil.example"));
        let local = format!("localhost:{}", addr.port());
        assert_eq!(
            request(addr, "GET", "/healthz", &[("Host", &local)], "").status,
            200
        );

        // The rating form: CSRF field required, foreign origin refused, nothing stored.
        let page = request(addr, "GET", "/books/F0?user=1", &[], "");
        let csrf = page.set_cookie("bookrec_csrf").unwrap();
        assert!(page
            .body
            .contains(&format!(r#"name="csrf" value="{csrf}""#)));
        let cookie = format!("bookrec_csrf={csrf}");
        let form = ("Content-Type", "application/x-www-form-urlencoded");
        let body = format!("user=77&book_id=F0&rating=9&csrf={csrf}");
        let r = request(
            addr,
            "POST",
            "/rate",
            &[form, ("Cookie", &cookie), ("Origin", "http://evil.example")],
            &body,
        );
        assert_eq!(r.status, 403);
        let r = request(
            addr,
            "POST",
            "/rate",
            &[
                form,
                ("Cookie", &cookie),
                ("Referer", "http://evil.example/x"),
            ],
            &body,
        );
        assert_eq!(r.status, 403);
        let r = request(
            addr,
            "POST",
            "/rate",
            &[form, ("Origin", "http://evil.example")],
            "user=77&book_id=F0&rating=9",
        );
        assert_eq!(r.status, 403);
        assert!(store.ratings_for("77").unwrap().is_empty());
        let same = format!("http://{addr}");
        let r = request(
            addr,
            "POST",
            "/rate",
            &[form, ("Cookie", &cookie), ("Origin", &same)],
            &body,
        );
        assert_eq!(r.status, 303, "{}", r.body);
        // A foreign-origin JSON write is refused too.
        let json = ("Content-Type", "application/json");
        let r = request(
            addr,
            "POST",
            "/api/users/77/ratings",
            &[json, ("Origin", "http://evil.example")],
            r#"{"book_id":"F1","rating":5}"#,
        );
        assert_eq!(r.status, 403);

        // Sizes: 413 (body over 2 MB), 414 (URI), 431 (headers), each with a JSON message.
        let big = format!(
            r#"{{"book_id":"F1","rating":5,"pad":"{}"}}"#,
            "x".repeat(3 << 20)
        );
        let r = request(addr, "POST", "/api/users/77/ratings", &[json], &big);
        assert_eq!(r.status, 413, "{}", &r.body[..r.body.len().min(200)]);
        assert!(r.json()["error"].as_str().unwrap().contains("too large"));
        let long = format!("/api/books?q={}", "a".repeat(10_000));
        let r = request(addr, "GET", &long, &[], "");
        assert_eq!(r.status, 414);
        assert!(r.json()["error"].as_str().unwrap().contains("URI"));
        let fat = "x".repeat(40_000);
        let r = request(addr, "GET", "/healthz", &[("X-Padding", &fat)], "");
        assert_eq!(r.status, 431);
        assert!(r.json()["error"].as_str().unwrap().contains("headers"));

        // Write rate limit: one /rate and one refused 413 already counted; the budget of 4
        // runs out, then 429 with Retry-After.
        let mut statuses = Vec::new();
        for _ in 0..4 {
            let r = request(
                addr,
                "POST",
                "/api/users/78/ratings",
                &[json],
                r#"{"book_id":"F1","rating":5}"#,
            );
            statuses.push(r.status);
            if r.status == 429 {
                assert!(r.header("retry-after").parse::<u64>().unwrap() >= 1);
                assert!(r.json()["error"].as_str().unwrap().contains("too many"));
            }
        }
        assert!(
            statuses.contains(&201) && statuses.ends_with(&[429]),
            "{statuses:?}"
        );
        // Reads are not limited.
        assert_eq!(
            request(addr, "GET", "/api/users/78/ratings", &[], "").status,
            200
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_mode_admin_accepts_ipv4_mapped_loopback() {
    // A dual-stack [::] socket sees an IPv4 client as ::ffff:127.0.0.1.
    let Some(srv) = server("[::]:0", config(AuthMode::Open), Limits::default()).await else {
        eprintln!("SKIPPED: cannot bind [::] here");
        return;
    };
    let v4 = SocketAddr::from(([127, 0, 0, 1], srv.addr.port()));
    let r = blocking(move || request(v4, "POST", "/admin/reload", &[], "")).await;
    // Past the loopback check: the in-memory model has no file to reload (422), not 403.
    assert_eq!(r.status, 422, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_database_is_503_with_retry_after() {
    let srv = server("127.0.0.1:0", config(AuthMode::Open), Limits::default())
        .await
        .unwrap();
    let path = srv.state.store().path().to_path_buf();
    let addr = srv.addr;
    blocking(move || {
        let other = rusqlite::Connection::open(&path).unwrap();
        other.execute_batch("BEGIN EXCLUSIVE").unwrap();
        let json = ("Content-Type", "application/json");
        let r = request(
            addr,
            "POST",
            "/api/users/5/ratings",
            &[json],
            r#"{"book_id":"F1","rating":5}"#,
        );
        assert_eq!(r.status, 503, "{}", r.body);
        assert!(r.header("retry-after").parse::<u64>().unwrap() >= 1);
        assert!(r.json()["error"].as_str().unwrap().contains("busy"));
        other.execute_batch("COMMIT").unwrap();
        let r = request(
            addr,
            "POST",
            "/api/users/5/ratings",
            &[json],
            r#"{"book_id":"F1","rating":5}"#,
        );
        assert_eq!(r.status, 201);
    })
    .await;
}

/// The soft limit on open files of this process.
fn fd_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        })
        .unwrap_or(1024)
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// With many idle sockets and sockets sending headers a byte at a time, a normal request is
/// still answered quickly, and the server closes the idle and slow sockets after its
/// header-read timeout. Counts: BOOKREC_TEST_IDLE (default 2,000) and BOOKREC_TEST_SLOW (300),
/// lowered to fit the descriptor limit (each socket costs one descriptor on each side).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_header_sockets_are_closed_and_do_not_block_others() {
    let budget = fd_limit().saturating_sub(300) / 2;
    let idle_n = env_usize("BOOKREC_TEST_IDLE", 2000).min(budget * 7 / 8);
    let slow_n = env_usize("BOOKREC_TEST_SLOW", 300).min(budget / 8);
    let header_timeout = Duration::from_millis(1500);
    let limits = Limits {
        header_read_timeout: header_timeout,
        idle_timeout: Duration::from_secs(3),
        max_connections: idle_n + slow_n + 64,
    };
    let srv = server("127.0.0.1:0", config(AuthMode::Open), limits)
        .await
        .unwrap();
    let addr = srv.addr;
    let outcome = blocking(move || {
        // In batches, so the listen backlog (1,024) never overflows: a connection dropped from
        // a full backlog is only accepted seconds later, when the kernel retries it.
        let idle: Vec<TcpStream> = (0..idle_n)
            .map(|i| {
                if i % 256 == 255 {
                    std::thread::sleep(Duration::from_millis(20));
                }
                TcpStream::connect(addr).unwrap()
            })
            .collect();
        let opened = Instant::now();
        let mut slow: Vec<TcpStream> = (0..slow_n).map(|_| TcpStream::connect(addr).unwrap()).collect();
        let head = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n");
        // A normal request while all of them are open.
        let start = Instant::now();
        let r = request(addr, "GET", "/healthz", &[], "");
        let normal = start.elapsed();
        assert_eq!(r.status, 200);
        // Slow sockets trickle their headers, one byte per socket every 100 ms, until the
        // server closes them (a write fails) or the test gives up.
        let mut sent = 0;
        let mut slow_closed_at = vec![None; slow.len()];
        while opened.elapsed() < header_timeout * 4 && slow_closed_at.iter().any(Option::is_none) {
            for (s, closed) in slow.iter_mut().zip(slow_closed_at.iter_mut()) {
                if closed.is_none() && s.write_all(&head.as_bytes()[sent % head.len()..][..1]).is_err() {
                    *closed = Some(opened.elapsed());
                }
            }
            sent += 1;
            std::thread::sleep(Duration::from_millis(100));
        }
        // Idle sockets: the server closes them (read sees end-of-file or a reset). The
        // kernel queues connections before the server accepts them, and the timer starts at
        // accept, so the last ones may be closed a little later: wait up to 4 timeouts.
        let deadline = opened + header_timeout * 4;
        let mut idle_closed = 0;
        for mut s in idle {
            let left = deadline.saturating_duration_since(Instant::now());
            s.set_read_timeout(Some(left.max(Duration::from_millis(50)))).unwrap();
            let mut buf = [0u8; 64];
            match s.read(&mut buf) {
                Ok(0) => idle_closed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => idle_closed += 1,
                _ => {}
            }
        }
        (normal, idle_closed, slow_closed_at, idle_n)
    })
    .await;
    let (normal, idle_closed, slow_closed_at, idle_n) = outcome;
    assert!(
        normal < Duration::from_millis(500),
        "normal request took {normal:?}"
    );
    assert_eq!(idle_closed, idle_n, "idle sockets still open");
    let open_slow = slow_closed_at.iter().filter(|c| c.is_none()).count();
    assert_eq!(open_slow, 0, "{open_slow} slow-header sockets still open");
    eprintln!(
        "{idle_n} idle + {} slow sockets: normal request in {normal:?}; all closed by the server",
        slow_closed_at.len()
    );
}

/// `name{labels} value` lines of a Prometheus text exposition.
fn samples(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').unwrap();
            (
                name.to_string(),
                value.parse().unwrap_or_else(|_| panic!("bad sample: {l}")),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_ratings_fold_ins_and_connections() {
    let srv = server("127.0.0.1:0", config(AuthMode::Open), Limits::default())
        .await
        .unwrap();
    let addr = srv.addr;
    let accounts = server("127.0.0.1:0", config(AuthMode::Accounts), Limits::default())
        .await
        .unwrap();
    let admin = accounts.state.store().create_token("ops", true).unwrap();
    let reader = accounts.state.store().create_token("1", false).unwrap();
    let acc = accounts.addr;
    blocking(move || {
        let json = ("Content-Type", "application/json");
        for _ in 0..3 {
            assert_eq!(request(addr, "GET", "/healthz", &[], "").status, 200);
        }
        let r = request(
            addr,
            "POST",
            "/api/users/m1/ratings",
            &[json],
            r#"{"book_id":"F1","rating":9}"#,
        );
        assert_eq!(r.status, 201);
        assert!(!r.header("x-request-id").is_empty());
        let recs = request(addr, "GET", "/api/users/m1/recommendations", &[], "");
        assert_eq!(recs.json()["source"], "fold_in");
        let m = request(addr, "GET", "/metrics", &[], "");
        assert_eq!(m.status, 200, "{}", m.body);
        assert!(m.header("content-type").contains("text"));
        let s = samples(&m.body);
        let value = |name: &str, labels: &[&str]| {
            s.iter()
                .filter(|(n, _)| n.starts_with(name) && labels.iter().all(|l| n.contains(l)))
                .map(|(_, v)| *v)
                .sum::<f64>()
        };
        assert!(
            value(
                "bookrec_http_requests_total{",
                &["route=\"/healthz\"", "status=\"200\"", "method=\"GET\""]
            ) >= 3.0,
            "{}",
            m.body
        );
        assert!(
            value(
                "bookrec_http_requests_total{",
                &["route=\"/api/users/{id}/ratings\"", "status=\"201\""]
            ) >= 1.0
        );
        assert!(
            value(
                "bookrec_http_request_duration_seconds_count{",
                &["route=\"/healthz\""]
            ) >= 3.0
        );
        assert!(s.iter().any(|(n, _)| n
            .starts_with("bookrec_http_request_duration_seconds_bucket{")
            && n.contains("le=\"+Inf\"")));
        assert!(value("bookrec_ratings_stored", &[]) >= 1.0);
        assert!(value("bookrec_fold_ins_total", &[]) >= 1.0);
        assert!(value("bookrec_open_connections", &[]) >= 1.0);
        assert!(s.iter().any(|(n, _)| n == "bookrec_model_age_seconds"));
        assert!(s.iter().any(|(n, _)| n == "bookrec_model_load_seconds"));
        assert!(s
            .iter()
            .any(|(n, _)| n == "bookrec_model_reload_failures_total"));
        // Accounts mode: an admin token is needed.
        assert_eq!(request(acc, "GET", "/metrics", &[], "").status, 401);
        let b = format!("Bearer {reader}");
        assert_eq!(
            request(acc, "GET", "/metrics", &[("Authorization", &b)], "").status,
            403
        );
        let b = format!("Bearer {admin}");
        assert_eq!(
            request(acc, "GET", "/metrics", &[("Authorization", &b)], "").status,
            200
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_describes_bearer_auth_error_answers_and_constraints() {
    let srv = server("127.0.0.1:0", config(AuthMode::Open), Limits::default())
        .await
        .unwrap();
    let addr = srv.addr;
    let doc = blocking(move || request(addr, "GET", "/openapi.json", &[], "").json()).await;
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    let recs = &doc["paths"]["/api/users/{id}/recommendations"]["get"];
    for code in ["401", "403", "503"] {
        assert!(
            recs["responses"][code].is_object(),
            "recommendations lacks {code}"
        );
    }
    let add = &doc["paths"]["/api/users/{id}/ratings"]["post"];
    for code in ["401", "403", "413", "429", "503"] {
        assert!(
            add["responses"][code].is_object(),
            "add rating lacks {code}"
        );
    }
    assert!(recs["security"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s.get("bearer").is_some()));
    let params = recs["parameters"].as_array().unwrap();
    let param = |name: &str| params.iter().find(|p| p["name"] == name).unwrap()["schema"].clone();
    assert_eq!(param("id")["maxLength"], 64);
    assert_eq!(param("n")["maximum"], 100);
    assert_eq!(param("n")["minimum"], 1);
    let search = doc["paths"]["/api/books"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .clone();
    let q = search.iter().find(|p| p["name"] == "q").unwrap();
    assert_eq!(q["schema"]["maxLength"], 200);
}
