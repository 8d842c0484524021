//! Ratings submitted through the page or the API, in one SQLite file.
//!
//! Durability: WAL journal with `synchronous=FULL`, so a transaction is on disk (WAL fsynced)
//! when `COMMIT` returns. [`Store::put_rating`] returns only after that commit, and handlers
//! acknowledge a rating only after `put_rating` returned; a crash or `kill -9` therefore loses
//! no acknowledged rating. The schema is versioned with `PRAGMA user_version`: each entry of
//! [`MIGRATIONS`] runs once, in its own transaction, in order; a database written by a newer
//! bookrec (higher version) is refused rather than misread.
//!
//! One writer connection (SQLite allows one writer at a time anyway) and a few reader
//! connections, which WAL lets run concurrently with the writer. All calls block: handlers run
//! them in `spawn_blocking`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

pub mod accounts;
use serde::Serialize;

/// Schema migrations; index `i` upgrades `user_version` from `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE ratings (
        user_id   TEXT    NOT NULL,
        book_id   TEXT    NOT NULL,
        rating    REAL    NOT NULL,
        rated_at  INTEGER NOT NULL,  -- seconds since the Unix epoch
        PRIMARY KEY (user_id, book_id)
    ) WITHOUT ROWID;
    CREATE INDEX ratings_by_book ON ratings (book_id);
",
    accounts::MIGRATION,
];

const READERS: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("ratings database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("ratings database {path} has schema version {found}, newer than this bookrec understands ({known}); upgrade bookrec or use another --db file")]
    TooNew {
        path: PathBuf,
        found: i64,
        known: usize,
    },
    #[error("ratings database {path}: a connection lock was poisoned by a panic")]
    Poisoned { path: PathBuf },
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
}

impl StoreError {
    /// True when the database is held by another connection or process (`SQLITE_BUSY` /
    /// `SQLITE_LOCKED` after the busy timeout): a temporary condition, answered 503.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            StoreError::Sqlite {
                source: rusqlite::Error::SqliteFailure(e, _),
                ..
            } if matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            )
        )
    }
}

/// One stored rating.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StoredRating {
    pub user_id: String,
    pub book_id: String,
    pub rating: f32,
    /// Seconds since the Unix epoch.
    pub rated_at: i64,
}

pub struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    tokens: accounts::TokenCache,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating on first run) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let err = |source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Let SQLite report a missing directory in its own words if this fails.
            let _ = std::fs::create_dir_all(dir);
        }
        let mut writer = Connection::open(path).map_err(err)?;
        configure(&writer).map_err(err)?;
        migrate(&mut writer, path)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(err)?;
            conn.busy_timeout(std::time::Duration::from_secs(5))
                .map_err(err)?;
            readers.push(Mutex::new(conn));
        }
        Ok(Store {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
            tokens: accounts::TokenCache::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sqlite(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn poisoned(&self) -> StoreError {
        StoreError::Poisoned {
            path: self.path.clone(),
        }
    }

    fn with_reader<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        let conn = self.readers[i].lock().map_err(|_| self.poisoned())?;
        f(&conn).map_err(|e| self.sqlite(e))
    }

    /// Stores (or replaces) `user_id`'s rating of `book_id`. Returns once the transaction is
    /// durably committed.
    pub fn put_rating(
        &self,
        user_id: &str,
        book_id: &str,
        rating: f32,
    ) -> Result<StoredRating, StoreError> {
        let rated_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let conn = self.writer.lock().map_err(|_| self.poisoned())?;
        conn.prepare_cached(
            "INSERT INTO ratings (user_id, book_id, rating, rated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (user_id, book_id) DO UPDATE SET rating = excluded.rating,
                                                          rated_at = excluded.rated_at",
        )
        .and_then(|mut stmt| stmt.execute(params![user_id, book_id, rating as f64, rated_at]))
        .map_err(|e| self.sqlite(e))?;
        Ok(StoredRating {
            user_id: user_id.to_string(),
            book_id: book_id.to_string(),
            rating,
            rated_at,
        })
    }

    /// All stored ratings of `user_id`, in book-id order.
    pub fn ratings_for(&self, user_id: &str) -> Result<Vec<StoredRating>, StoreError> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT book_id, rating, rated_at FROM ratings WHERE user_id = ?1 ORDER BY book_id",
            )?;
            let rows = stmt.query_map(params![user_id], |row| {
                Ok(StoredRating {
                    user_id: user_id.to_string(),
                    book_id: row.get(0)?,
                    rating: row.get::<_, f64>(1)? as f32,
                    rated_at: row.get(2)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Number of stored ratings (also a cheap liveness probe of the database).
    pub fn count(&self) -> Result<u64, StoreError> {
        self.with_reader(|conn| {
            conn.query_row("SELECT COUNT(*) FROM ratings", [], |row| {
                row.get::<_, i64>(0)
            })
            .map(|n| n.max(0) as u64)
        })
    }

    /// The schema version recorded in the file.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.with_reader(|conn| conn.query_row("PRAGMA user_version", [], |row| row.get(0)))
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // `journal_mode` answers with the mode actually set; anything but WAL (e.g. a file system
    // without shared memory) would silently weaken the concurrency assumptions above.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "could not switch to WAL journal mode (got {mode})"
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let err = |source| StoreError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .optional()
        .map_err(err)?
        .unwrap_or(0);
    if version > MIGRATIONS.len() as i64 {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: version,
            known: MIGRATIONS.len(),
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        let tx = conn.transaction().map_err(err)?;
        tx.execute_batch(sql).map_err(err)?;
        // PRAGMA takes no bound parameters; `i + 1` is a small integer we computed.
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
            .map_err(err)?;
        tx.commit().map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn creates_migrates_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/ratings.sqlite");
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
        store.put_rating("u1", "b2", 7.0).unwrap();
        store.put_rating("u1", "b1", 3.0).unwrap();
        store.put_rating("u1", "b2", 9.0).unwrap(); // replaces
        store.put_rating("u2", "b1", 5.5).unwrap();
        let got: Vec<_> = store
            .ratings_for("u1")
            .unwrap()
            .into_iter()
            .map(|r| (r.book_id, r.rating))
            .collect();
        assert_eq!(got, vec![("b1".into(), 3.0), ("b2".into(), 9.0)]);
        assert_eq!(store.count().unwrap(), 3);
        drop(store);
        // Re-opening keeps the data and does not re-run migrations.
        let store = Store::open(&path).unwrap();
        assert_eq!(store.count().unwrap(), 3);
        let mode: String = store
            .writer
            .lock()
            .unwrap()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn refuses_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.sqlite");
        Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA user_version = 99")
            .unwrap();
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
    }
}
