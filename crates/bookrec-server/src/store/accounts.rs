//! Reader accounts, browser sessions and API tokens, in the same SQLite file as the ratings
//! (one file to back up; the same durability settings).
//!
//! - Passwords are stored only as Argon2id PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$…`,
//!   the `argon2` crate's defaults, which follow the OWASP recommendation). Hashing takes tens
//!   of milliseconds on purpose: callers run it on the blocking pool.
//! - Session ids and API tokens are 32 random bytes from the OS (`getrandom`). Only their
//!   SHA-256 is stored: they carry 256 bits of entropy, so a fast hash is enough to make a
//!   stolen database useless for signing in, and lookups stay one indexed query per request.
//! - A token is shown once (`bkr_` + 64 hex digits); its first 12 characters are kept in clear
//!   so an operator can name it for revocation.
//! - Verified tokens are remembered in memory for [`TOKEN_CACHE_TTL`], so an API request with
//!   a bearer token costs no SQLite query (the query and the hop to the blocking pool cost
//!   about 11% of the recommendation endpoint's throughput). Revoking through this [`Store`]
//!   takes effect at once; `bookrec accounts revoke` runs in another process, whose revocation
//!   a running server sees within [`TOKEN_CACHE_TTL`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};

use super::{Store, StoreError};

/// Schema version 2 (appended to [`super::MIGRATIONS`]).
pub const MIGRATION: &str = "
    CREATE TABLE accounts (
        user_id        TEXT    NOT NULL PRIMARY KEY,
        password_hash  TEXT    NOT NULL,  -- Argon2id PHC string
        created_at     INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE api_tokens (
        token_hash  TEXT    NOT NULL PRIMARY KEY,  -- hex SHA-256 of the whole token
        prefix      TEXT    NOT NULL,              -- first 12 characters, for revocation
        user_id     TEXT    NOT NULL,
        admin       INTEGER NOT NULL,
        created_at  INTEGER NOT NULL,
        revoked_at  INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX api_tokens_by_prefix ON api_tokens (prefix);
    CREATE TABLE sessions (
        session_hash  TEXT    NOT NULL PRIMARY KEY,  -- hex SHA-256 of the cookie value
        user_id       TEXT    NOT NULL,
        expires_at    INTEGER NOT NULL               -- seconds since the Unix epoch
    ) WITHOUT ROWID;
";

/// Shortest password accepted at sign-up (NIST SP 800-63B's minimum for user-chosen secrets).
pub const MIN_PASSWORD_LEN: usize = 8;
/// Longest password accepted: Argon2 hashes any length, but a megabyte "password" would only
/// cost CPU.
pub const MAX_PASSWORD_LEN: usize = 256;
/// Characters of a token kept in clear to name it (`bkr_` + 8 hex digits).
pub const TOKEN_PREFIX_LEN: usize = 12;
const TOKEN_TAG: &str = "bkr_";

/// How long a verified token is trusted without asking the database again: the longest a
/// revocation made by another process (`bookrec accounts revoke`) takes to reach a running
/// server.
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(5);
/// Most tokens remembered at once; when full the cache starts over, so a flood of distinct
/// valid tokens costs queries, never unbounded memory.
const TOKEN_CACHE_CAPACITY: usize = 10_000;

/// Recently verified tokens, keyed by the token's SHA-256 (the clear token is never kept).
/// Only live tokens are remembered: an unknown token is asked for every time, so a token
/// created by another process works at once and junk tokens cannot fill the cache.
#[derive(Default)]
pub(super) struct TokenCache {
    verified: RwLock<HashMap<String, (Identity, Instant)>>,
    /// Bumped by every revocation, so that a lookup which read the database before a
    /// revocation committed cannot put the revoked token back afterwards.
    generation: AtomicU64,
}

impl TokenCache {
    fn get(&self, token_hash: &str) -> Option<Identity> {
        let verified = self.verified.read().ok()?;
        let (identity, at) = verified.get(token_hash)?;
        (at.elapsed() < TOKEN_CACHE_TTL).then(|| identity.clone())
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Remembers a token verified by a query that started at `generation`.
    fn put(&self, token_hash: String, identity: Identity, generation: u64) {
        let Ok(mut verified) = self.verified.write() else {
            return;
        };
        if self.generation() != generation {
            return;
        }
        if verified.len() >= TOKEN_CACHE_CAPACITY {
            verified.retain(|_, (_, at)| at.elapsed() < TOKEN_CACHE_TTL);
            if verified.len() >= TOKEN_CACHE_CAPACITY {
                verified.clear();
            }
        }
        verified.insert(token_hash, (identity, Instant::now()));
    }

    fn forget_all(&self) {
        if let Ok(mut verified) = self.verified.write() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            verified.clear();
        }
    }
}

/// Who an API token or a session belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub user_id: String,
    /// Admin tokens may call `/admin/*` and read or write any reader's data.
    pub admin: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("reader {0:?} already exists; choose another reader ID or sign in")]
    Taken(String),
    #[error("the password must have at least {MIN_PASSWORD_LEN} characters")]
    PasswordTooShort,
    #[error("the password must have at most {MAX_PASSWORD_LEN} characters")]
    PasswordTooLong,
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn sha256_hex(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// 32 random bytes from the operating system, as 64 hex digits.
pub fn random_secret() -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Random(e.to_string()))?;
    Ok(hex(&bytes))
}

/// Checks the length rules of a new password.
pub fn check_password(password: &str) -> Result<(), AccountError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        Err(AccountError::PasswordTooShort)
    } else if n > MAX_PASSWORD_LEN {
        Err(AccountError::PasswordTooLong)
    } else {
        Ok(())
    }
}

fn hash_password(password: &str) -> Result<String, AccountError> {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

fn verify_hash(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc)
        .map(|h| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

impl Store {
    /// Creates an account for `user_id` with `password` (Argon2id-hashed here). Refused if
    /// the reader already has an account or stored ratings; the caller also refuses readers
    /// the model knows.
    pub fn create_account(&self, user_id: &str, password: &str) -> Result<(), AccountError> {
        check_password(password)?;
        let hash = hash_password(password)?;
        let mut conn = self.writer.lock().map_err(|_| self.poisoned())?;
        let tx = conn.transaction().map_err(|e| self.sqlite(e))?;
        let exists: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM accounts WHERE user_id = ?1)
                     OR EXISTS (SELECT 1 FROM ratings WHERE user_id = ?1)",
                params![user_id],
                |row| row.get(0),
            )
            .map_err(|e| self.sqlite(e))?;
        if exists {
            return Err(AccountError::Taken(user_id.to_string()));
        }
        tx.execute(
            "INSERT INTO accounts (user_id, password_hash, created_at) VALUES (?1, ?2, ?3)",
            params![user_id, hash, now_secs()],
        )
        .map_err(|e| self.sqlite(e))?;
        tx.commit().map_err(|e| self.sqlite(e))?;
        Ok(())
    }

    /// Sets (or replaces) the password of `user_id`, creating the account if needed: how the
    /// operator gives an existing reader (e.g. one from the training data) access.
    pub fn set_password(&self, user_id: &str, password: &str) -> Result<(), AccountError> {
        check_password(password)?;
        let hash = hash_password(password)?;
        let conn = self.writer.lock().map_err(|_| self.poisoned())?;
        conn.execute(
            "INSERT INTO accounts (user_id, password_hash, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash",
            params![user_id, hash, now_secs()],
        )
        .map_err(|e| self.sqlite(e))?;
        Ok(())
    }

    /// True when `password` is `user_id`'s. An unknown reader costs the same Argon2 work as
    /// a known one, so timing does not reveal which readers exist.
    pub fn verify_password(&self, user_id: &str, password: &str) -> Result<bool, StoreError> {
        // A valid PHC string of a random password: verified against when there is no account.
        const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$wvdQ9gD8S3w1I7bS9Xk2o2F0iZ1QmU3KQ4p0yZ3vGxA";
        let stored: Option<String> = self.with_reader(|conn| {
            conn.query_row(
                "SELECT password_hash FROM accounts WHERE user_id = ?1",
                params![user_id],
                |row| row.get(0),
            )
            .optional()
        })?;
        let ok = verify_hash(password, stored.as_deref().unwrap_or(DUMMY));
        Ok(ok && stored.is_some())
    }

    /// True when `user_id` has an account or stored ratings.
    pub fn user_exists(&self, user_id: &str) -> Result<bool, StoreError> {
        self.with_reader(|conn| {
            conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM accounts WHERE user_id = ?1)
                     OR EXISTS (SELECT 1 FROM ratings WHERE user_id = ?1)",
                params![user_id],
                |row| row.get(0),
            )
        })
    }

    /// Starts a session for `user_id` lasting `ttl_secs`; returns the cookie value (shown
    /// only here). Expired sessions are deleted on the way.
    pub fn create_session(&self, user_id: &str, ttl_secs: i64) -> Result<String, StoreError> {
        let secret = random_secret()?;
        let now = now_secs();
        let conn = self.writer.lock().map_err(|_| self.poisoned())?;
        conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", params![now])
            .map_err(|e| self.sqlite(e))?;
        conn.execute(
            "INSERT INTO sessions (session_hash, user_id, expires_at) VALUES (?1, ?2, ?3)",
            params![sha256_hex(&secret), user_id, now + ttl_secs],
        )
        .map_err(|e| self.sqlite(e))?;
        Ok(secret)
    }

    /// The reader of an unexpired session, if the cookie value names one.
    pub fn session_user(&self, secret: &str) -> Result<Option<String>, StoreError> {
        self.with_reader(|conn| {
            conn.prepare_cached(
                "SELECT user_id FROM sessions WHERE session_hash = ?1 AND expires_at > ?2",
            )?
            .query_row(params![sha256_hex(secret), now_secs()], |row| row.get(0))
            .optional()
        })
    }

    /// Ends a session (sign-out).
    pub fn delete_session(&self, secret: &str) -> Result<(), StoreError> {
        let conn = self.writer.lock().map_err(|_| self.poisoned())?;
        conn.execute(
            "DELETE FROM sessions WHERE session_hash = ?1",
            params![sha256_hex(secret)],
        )
        .map_err(|e| self.sqlite(e))?;
        Ok(())
    }

    /// Issues a new API token for `user_id`; returns it (shown only here).
    pub fn create_token(&self, user_id: &str, admin: bool) -> Result<String, StoreError> {
        let token = format!("{TOKEN_TAG}{}", random_secret()?);
        let conn = self.writer.lock().map_err(|_| self.poisoned())?;
        conn.execute(
            "INSERT INTO api_tokens (token_hash, prefix, user_id, admin, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                sha256_hex(&token),
                &token[..TOKEN_PREFIX_LEN],
                user_id,
                admin,
                now_secs()
            ],
        )
        .map_err(|e| self.sqlite(e))?;
        Ok(token)
    }

    /// Who a (not revoked) API token belongs to, if it was verified in the last
    /// [`TOKEN_CACHE_TTL`]; `None` means "ask [`Store::token_identity`]", not "unknown".
    /// Never blocks on SQLite, so callers may use it on the async runtime.
    pub fn cached_token_identity(&self, token: &str) -> Option<Identity> {
        self.tokens.get(&sha256_hex(token))
    }

    /// Who a (not revoked) API token belongs to; a live token is remembered for
    /// [`TOKEN_CACHE_TTL`].
    pub fn token_identity(&self, token: &str) -> Result<Option<Identity>, StoreError> {
        let token_hash = sha256_hex(token);
        let generation = self.tokens.generation();
        let found = self.with_reader(|conn| {
            conn.prepare_cached(
                "SELECT user_id, admin FROM api_tokens
                 WHERE token_hash = ?1 AND revoked_at IS NULL",
            )?
            .query_row(params![&token_hash], |row| {
                Ok(Identity {
                    user_id: row.get(0)?,
                    admin: row.get(1)?,
                })
            })
            .optional()
        })?;
        if let Some(identity) = &found {
            self.tokens.put(token_hash, identity.clone(), generation);
        }
        Ok(found)
    }

    /// Revokes the tokens named by `prefix` (the first [`TOKEN_PREFIX_LEN`] characters of a
    /// token, or the whole token); returns how many were revoked. A shorter prefix is refused
    /// by the caller, so one typo cannot revoke many tokens.
    pub fn revoke_tokens(&self, prefix: &str) -> Result<usize, StoreError> {
        let short: String = prefix.chars().take(TOKEN_PREFIX_LEN).collect();
        let conn = self.writer.lock().map_err(|_| self.poisoned())?;
        let revoked = conn
            .execute(
                "UPDATE api_tokens SET revoked_at = ?1
             WHERE revoked_at IS NULL AND prefix = ?2 AND (length(?3) = ?4 OR token_hash = ?5)",
                params![
                    now_secs(),
                    short,
                    prefix,
                    TOKEN_PREFIX_LEN as i64,
                    sha256_hex(prefix)
                ],
            )
            .map_err(|e| self.sqlite(e))?;
        // Forget every verified token, not only the revoked ones: the cache is keyed by hash,
        // not prefix. Each live token costs one query again.
        self.tokens.forget_all();
        Ok(revoked)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn accounts_sessions_and_tokens_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.sqlite")).unwrap();
        assert!(matches!(
            store.create_account("ann", "short"),
            Err(AccountError::PasswordTooShort)
        ));
        store.create_account("ann", "correct horse").unwrap();
        assert!(matches!(
            store.create_account("ann", "another one"),
            Err(AccountError::Taken(_))
        ));
        store.put_rating("bob", "b1", 5.0).unwrap();
        assert!(matches!(
            store.create_account("bob", "long enough"),
            Err(AccountError::Taken(_))
        ));
        assert!(store.verify_password("ann", "correct horse").unwrap());
        assert!(!store.verify_password("ann", "wrong horse!").unwrap());
        assert!(!store.verify_password("nobody", "correct horse").unwrap());
        let stored: String = store
            .writer
            .lock()
            .unwrap()
            .query_row("SELECT password_hash FROM accounts", [], |r| r.get(0))
            .unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");

        let session = store.create_session("ann", 60).unwrap();
        assert_eq!(
            store.session_user(&session).unwrap().as_deref(),
            Some("ann")
        );
        store.delete_session(&session).unwrap();
        assert_eq!(store.session_user(&session).unwrap(), None);
        let expired = store.create_session("ann", -1).unwrap();
        assert_eq!(store.session_user(&expired).unwrap(), None);

        let token = store.create_token("ann", false).unwrap();
        let other = store.create_token("ann", true).unwrap();
        assert_eq!(
            store.token_identity(&token).unwrap(),
            Some(Identity {
                user_id: "ann".into(),
                admin: false
            })
        );
        assert!(store.cached_token_identity(&token).is_some());
        // Another server process on the same file trusts its own cache until the TTL ends.
        let other_process = Store::open(&dir.path().join("a.sqlite")).unwrap();
        assert!(other_process.token_identity(&token).unwrap().is_some());
        assert_eq!(store.revoke_tokens(&token[..TOKEN_PREFIX_LEN]).unwrap(), 1);
        assert_eq!(store.cached_token_identity(&token), None);
        assert_eq!(store.token_identity(&token).unwrap(), None);
        assert_eq!(store.cached_token_identity(&token), None);
        assert!(other_process.cached_token_identity(&token).is_some());
        assert!(other_process.cached_token_identity("bkr_unknown").is_none());
        assert_eq!(other_process.token_identity("bkr_unknown").unwrap(), None);
        assert!(other_process.cached_token_identity("bkr_unknown").is_none());
        assert!(store.token_identity(&other).unwrap().unwrap().admin);
        // A longer "prefix" that is not the whole token revokes nothing.
        assert_eq!(store.revoke_tokens(&other[..20]).unwrap(), 0);
        assert_eq!(store.revoke_tokens(&other).unwrap(), 1);
    }
}
