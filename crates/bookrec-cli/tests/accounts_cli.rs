//! `bookrec accounts add|token|revoke` against a real database file: the password comes from
//! stdin, the token alone on the last line of stdout, revocation takes effect.
#![allow(clippy::unwrap_used)]

mod common;

use common::bookrec_with_stdin as bookrec;

#[test]
fn add_token_and_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ratings.sqlite");
    let db = db.to_str().unwrap();

    let out = bookrec(
        &["accounts", "add", "--db", db, "--user", "276847"],
        "short\n",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8"));
    let out = bookrec(
        &["accounts", "add", "--db", db, "--user", "276847"],
        "a long secret\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = bookrec_server::Store::open(std::path::Path::new(db)).unwrap();
    assert!(store.verify_password("276847", "a long secret").unwrap());

    let out = bookrec(&["accounts", "token", "--db", db, "--user", "276847"], "");
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout.lines().last().unwrap();
    assert!(token.starts_with("bkr_") && token.len() == 68, "{stdout}");
    let id = store.token_identity(token).unwrap().unwrap();
    assert_eq!((id.user_id.as_str(), id.admin), ("276847", false));
    let out = bookrec(
        &["accounts", "token", "--db", db, "--user", "ops", "--admin"],
        "",
    );
    let admin = String::from_utf8(out.stdout).unwrap();
    assert!(
        store
            .token_identity(admin.lines().last().unwrap())
            .unwrap()
            .unwrap()
            .admin
    );

    let out = bookrec(
        &["accounts", "revoke", "--db", db, "--token-prefix", "bkr_"],
        "",
    );
    assert!(!out.status.success(), "a short prefix must be refused");
    let out = bookrec(
        &[
            "accounts",
            "revoke",
            "--db",
            db,
            "--token-prefix",
            &token[..12],
        ],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(store.token_identity(token).unwrap(), None);
    let out = bookrec(
        &[
            "accounts",
            "revoke",
            "--db",
            db,
            "--token-prefix",
            &token[..12],
        ],
        "",
    );
    assert!(!out.status.success(), "revoking twice finds nothing");
}
