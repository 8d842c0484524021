//! The embedded demo data: a sound catalogue and ratings that carry the planted genre tastes.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};

use bookrec_core::datasets::demo::{
    demo_books, demo_data, write_demo_files, DEMO_BOOKS_CSV, DEMO_SEED, DEMO_USERS,
};

#[test]
fn catalogue_is_sound() {
    let books = demo_books();
    assert!(books.len() >= 300, "{} books", books.len());
    // Every non-empty line after the header is one book: nothing was skipped.
    let lines = DEMO_BOOKS_CSV.lines().skip(1).filter(|l| !l.is_empty());
    assert_eq!(lines.count(), books.len());

    let ids: HashSet<&str> = books.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids.len(), books.len(), "duplicate book ids");
    assert!(books
        .iter()
        .all(|b| b.id.len() == 6 && b.id.starts_with("DB")));
    let pairs: HashSet<(&str, &str)> = books
        .iter()
        .map(|b| (b.title.as_str(), b.author.as_str()))
        .collect();
    assert_eq!(pairs.len(), books.len(), "duplicate (title, author)");

    let mut per_genre: HashMap<&str, usize> = HashMap::new();
    for b in &books {
        *per_genre.entry(b.genre.as_str()).or_default() += 1;
        if let Some(y) = b.year {
            assert!((-800..=2025).contains(&y), "{} year {y}", b.title);
        }
    }
    assert!((10..=14).contains(&per_genre.len()), "{per_genre:?}");
    for (g, n) in &per_genre {
        assert!((20..=35).contains(n), "genre {g} has {n} books");
    }
    // UTF-8 names survive the round trip through the embedded file.
    for author in ["Gabriel García Márquez", "Stanisław Lem", "Jo Nesbø"] {
        assert!(books.iter().any(|b| b.author == author), "{author}");
    }
    // Quoted titles with commas are one field.
    assert!(books
        .iter()
        .any(|b| b.title == "The Lion, the Witch and the Wardrobe" && b.author == "C. S. Lewis"));
}

struct Row {
    user: String,
    book: String,
    rating: u8,
}

fn rows(csv: &str) -> Vec<Row> {
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("user_id,book_id,rating"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 3, "{l}");
            Row {
                user: f[0].to_string(),
                book: f[1].to_string(),
                rating: f[2].parse().unwrap(),
            }
        })
        .collect()
}

#[test]
fn ratings_carry_the_planted_tastes() {
    let books = demo_books();
    let genre: HashMap<&str, &str> = books
        .iter()
        .map(|b| (b.id.as_str(), b.genre.as_str()))
        .collect();
    let data = demo_data(DEMO_SEED);
    let rows = rows(&data.ratings_csv);
    assert_eq!(data.users.len(), DEMO_USERS);

    let mut seen = HashSet::new();
    let mut per_user: HashMap<&str, Vec<&Row>> = HashMap::new();
    for r in &rows {
        assert!(
            genre.contains_key(r.book.as_str()),
            "unknown book {}",
            r.book
        );
        assert!(r.rating <= 10);
        assert!(seen.insert((&r.user, &r.book)), "duplicate pair");
        per_user.entry(r.user.as_str()).or_default().push(r);
    }
    let implicit = rows.iter().filter(|r| r.rating == 0).count();
    let share = implicit as f64 / rows.len() as f64;
    assert!((0.2..0.4).contains(&share), "implicit share {share}");

    let (mut margins, mut clear, mut fav_share_sum) = (Vec::new(), 0usize, 0.0);
    for u in &data.users {
        assert!((1..=3).contains(&u.favourite_genres.len()));
        let rs = &per_user[u.id.as_str()];
        assert!(
            (10..=80).contains(&rs.len()),
            "user {} has {}",
            u.id,
            rs.len()
        );
        let is_fav = |r: &Row| {
            u.favourite_genres
                .iter()
                .any(|g| g == genre[r.book.as_str()])
        };
        fav_share_sum += rs.iter().filter(|r| is_fav(r)).count() as f64 / rs.len() as f64;
        let mean = |fav: bool| {
            let v: Vec<f64> = rs
                .iter()
                .filter(|r| r.rating > 0 && is_fav(r) == fav)
                .map(|r| r.rating as f64)
                .collect();
            (v.len() >= 3).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        if let (Some(f), Some(o)) = (mean(true), mean(false)) {
            margins.push(f - o);
            if f - o > 1.0 {
                clear += 1;
            }
        }
    }
    // Most users read mostly in their favourite genres ...
    let fav_share = fav_share_sum / data.users.len() as f64;
    assert!(fav_share > 0.7, "favourite share {fav_share}");
    // ... and rate them about 3 points higher (affinity +2 vs −1).
    assert!(
        margins.len() > 300,
        "{} users with both kinds",
        margins.len()
    );
    let mean_margin = margins.iter().sum::<f64>() / margins.len() as f64;
    eprintln!(
        "{} rows, implicit share {share:.3}, favourite share {fav_share:.3}, mean margin \
         {mean_margin:.2}, {clear}/{} users with a margin > 1",
        rows.len(),
        margins.len()
    );
    assert!(
        (2.3..3.7).contains(&mean_margin),
        "mean margin {mean_margin}"
    );
    assert!(
        clear as f64 > 0.9 * margins.len() as f64,
        "{clear}/{} users with a margin > 1",
        margins.len()
    );
}

#[test]
fn deterministic_for_a_seed() {
    let a = demo_data(7);
    let b = demo_data(7);
    assert_eq!(a.ratings_csv, b.ratings_csv);
    assert_eq!(a.users, b.users);
    assert_ne!(a.ratings_csv, demo_data(8).ratings_csv);
}

#[test]
fn writes_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("nested/demo");
    let (ratings, books) = write_demo_files(&target, DEMO_SEED).unwrap();
    assert_eq!(std::fs::read_to_string(&books).unwrap(), DEMO_BOOKS_CSV);
    assert_eq!(
        std::fs::read_to_string(&ratings).unwrap(),
        demo_data(DEMO_SEED).ratings_csv
    );
    // A file in the way of the directory is an I/O error, not a panic.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    assert!(write_demo_files(&blocker, 1).is_err());
}

/// The tastes are visible to collaborative filtering, which never sees genres: a book's
/// nearest neighbour by co-liking (cosine over users who rated both ≥ 7) is usually a book of
/// the same genre (chance: about 1 in 14).
#[test]
fn co_liked_books_share_a_genre() {
    let books = demo_books();
    let index: HashMap<&str, usize> = books
        .iter()
        .enumerate()
        .map(|(i, b)| (b.id.as_str(), i))
        .collect();
    let data = demo_data(DEMO_SEED);
    let mut liked: HashMap<String, Vec<usize>> = HashMap::new();
    for r in rows(&data.ratings_csv) {
        if r.rating >= 7 {
            liked
                .entry(r.user)
                .or_default()
                .push(index[r.book.as_str()]);
        }
    }
    let n = books.len();
    let mut co = vec![0u32; n * n];
    let mut count = vec![0u32; n];
    for items in liked.values() {
        for &i in items {
            count[i] += 1;
            for &j in items {
                if i != j {
                    co[i * n + j] += 1;
                }
            }
        }
    }
    let (mut same, mut total) = (0, 0);
    for i in (0..n).filter(|&i| count[i] >= 10) {
        let best = (0..n)
            .filter(|&j| j != i && count[j] > 0)
            .max_by(|&a, &b| {
                let cos = |j: usize| co[i * n + j] as f64 / (count[j] as f64).sqrt();
                cos(a).total_cmp(&cos(b))
            })
            .unwrap();
        total += 1;
        if books[best].genre == books[i].genre {
            same += 1;
        }
    }
    eprintln!("{same}/{total} books' nearest co-liked book shares their genre");
    assert!(total > 300, "{total} books with ≥ 10 likes");
    assert!(same as f64 > 0.6 * total as f64, "{same}/{total}");
}
