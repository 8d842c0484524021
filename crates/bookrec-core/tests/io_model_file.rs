//! Model file: round trip, and every kind of damage gives a clear `Error::ModelFile`.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use bookrec_core::model_file::{
    fingerprint, load_model, read_meta, save_model, ModelMeta, FORMAT_VERSION,
};
use bookrec_core::models::{Factors, FittedModel, ModelKind, ModelSpec, RecommendOptions, Scorer};
use bookrec_core::progress::NoProgress;
use bookrec_core::{Error, Interactions, RatingScale, Vocab};

fn train() -> Interactions {
    Interactions::from_triplets(
        [
            ("276725", "034545104X", 7.0),
            ("276726", "0155061224", 5.0),
            ("276725", "0446520802", 9.0),
            ("ü-user", "034545104X", 10.0),
        ],
        Some(RatingScale::new(1.0, 10.0)),
    )
}

/// A k = 2 factor model built by hand from `train()`.
fn model(train: &Interactions) -> FittedModel {
    let (nu, ni) = (train.n_users(), train.n_items());
    FittedModel::new(
        ModelKind::Svd,
        serde_json::json!({"factors": 2, "epochs": 20, "lr": 0.005, "nested": {"a": [1, null]}}),
        train,
        Scorer::Factors(Factors {
            k: 2,
            user_bias: (0..nu).map(|u| u as f32 * 0.25 - 0.1).collect(),
            item_bias: (0..ni).map(|i| -(i as f32) * 0.5).collect(),
            user_factors: (0..2 * nu).map(|x| (x as f32).sin()).collect(),
            item_factors: (0..2 * ni).map(|x| (x as f32).cos()).collect(),
            ..Factors::default()
        }),
    )
}

fn meta(train: &Interactions) -> ModelMeta {
    ModelMeta::new("native", train, serde_json::json!({"train_rmse": 1.25}))
}

fn saved(dir: &Path) -> (std::path::PathBuf, FittedModel) {
    let t = train();
    let m = model(&t);
    let path = dir.join("model.bookrec");
    save_model(&m, &meta(&t), &path).unwrap();
    (path, m)
}

fn ids(v: &Vocab) -> Vec<String> {
    v.ids().map(String::from).collect()
}

fn model_file_message(err: Error) -> String {
    match err {
        Error::ModelFile { message, .. } => message,
        other => panic!("expected a model-file error, got {other:?}"),
    }
}

#[test]
fn round_trip_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let (path, m) = saved(dir.path());
    let (back, meta) = load_model(&path).unwrap();
    assert_eq!(back.kind, m.kind);
    assert_eq!(back.params, m.params);
    assert_eq!(ids(&back.users), ids(&m.users));
    assert_eq!(ids(&back.items), ids(&m.items));
    assert_eq!(back.users.get("ü-user"), m.users.get("ü-user"));
    assert_eq!(back.scale, m.scale);
    assert_eq!(back.global_mean.to_bits(), m.global_mean.to_bits());
    assert_eq!(back.seen, m.seen);
    assert_eq!(back.item_popularity, m.item_popularity);
    assert_eq!(back.scorer, m.scorer);
    assert_eq!(meta.format_version, FORMAT_VERSION);
    assert_eq!(meta.engine, "native");
    assert_eq!(meta.n_train, 4);
    assert_eq!(meta.data_fingerprint, fingerprint(&train()));
    assert_eq!(meta.training_metrics["train_rmse"], 1.25);
    let header_only = read_meta(&path).unwrap();
    assert_eq!(header_only.data_fingerprint, meta.data_fingerprint);
    assert_eq!(header_only.created_unix, meta.created_unix);
}

#[test]
fn file_layout_matches_the_documented_format() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = saved(dir.path());
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..8], b"BOOKREC\0");
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 1);
    let h = u64::from_le_bytes(bytes[12..20].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[20..20 + h]).unwrap();
    for key in [
        "format_version",
        "bookrec_version",
        "engine",
        "created_unix",
        "data_fingerprint",
        "n_train",
        "training_metrics",
        "kind",
        "params",
        "scale",
        "n_users",
        "n_items",
    ] {
        assert!(header.get(key).is_some(), "header lacks {key}: {header}");
    }
    assert_eq!(header["kind"], "svd");
    let p = u64::from_le_bytes(bytes[20 + h..28 + h].try_into().unwrap()) as usize;
    assert_eq!(bytes.len(), 32 + h + p);
    let mut crc = crc32fast::Hasher::new();
    crc.update(&bytes[20..20 + h]);
    crc.update(&bytes[28 + h..28 + h + p]);
    let stored = u32::from_le_bytes(bytes[28 + h + p..].try_into().unwrap());
    assert_eq!(crc.finalize(), stored);
}

#[test]
fn save_is_atomic_and_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = saved(dir.path());
    // Saving again over the same path replaces it and leaves no temporary file behind.
    let t = train();
    save_model(&model(&t), &meta(&t), &path).unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["model.bookrec".to_string()]);
    load_model(&path).unwrap();
    // A directory that does not exist: an error naming the path, nothing written.
    let bad = dir.path().join("missing").join("m.bookrec");
    let err = save_model(&model(&t), &meta(&t), &bad).unwrap_err();
    assert!(err.to_string().contains("m.bookrec"), "{err}");
}

#[test]
fn truncation_anywhere_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = saved(dir.path());
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.path().join("cut.bookrec");
    let mut lens: Vec<usize> = (0..bytes.len()).step_by(3).collect();
    lens.push(bytes.len() - 1);
    for len in lens {
        std::fs::write(&cut, &bytes[..len]).unwrap();
        let msg = model_file_message(load_model(&cut).unwrap_err());
        if len == 0 {
            assert!(msg.contains("not a bookrec model file"), "{len}: {msg}");
        } else {
            assert!(
                msg.contains("corrupted (checksum mismatch)"),
                "{len}: {msg}"
            );
        }
        assert!(read_meta(&cut).is_err(), "read_meta accepted {len} bytes");
    }
    // Extra bytes at the end are damage too.
    let mut longer = bytes.clone();
    longer.push(0);
    std::fs::write(&cut, &longer).unwrap();
    assert!(model_file_message(load_model(&cut).unwrap_err()).contains("corrupted"));
}

#[test]
fn every_flipped_byte_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = saved(dir.path());
    let bytes = std::fs::read(&path).unwrap();
    let h = u64::from_le_bytes(bytes[12..20].try_into().unwrap()) as usize;
    let bad = dir.path().join("flipped.bookrec");
    for pos in 0..bytes.len() {
        let mut b = bytes.clone();
        b[pos] ^= 0x10;
        std::fs::write(&bad, &b).unwrap();
        let msg = model_file_message(load_model(&bad).unwrap_err());
        let expected = match pos {
            0..=7 => "not a bookrec model file",
            8..=11 => "newer bookrec",
            _ => "corrupted",
        };
        assert!(
            msg.contains(expected),
            "byte {pos} (header length {h}): {msg}"
        );
    }
}

#[test]
fn wrong_magic_future_version_and_not_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("ratings.csv");
    std::fs::write(
        &csv,
        "\"User-ID\";\"ISBN\";\"Book-Rating\"\n\"276725\";\"034545104X\";\"0\"\n",
    )
    .unwrap();
    let msg = model_file_message(load_model(&csv).unwrap_err());
    assert!(msg.contains("not a bookrec model file"), "{msg}");
    assert!(read_meta(&csv).is_err());

    let (path, _) = saved(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[8..12].copy_from_slice(&2u32.to_le_bytes());
    let future = dir.path().join("future.bookrec");
    std::fs::write(&future, &bytes).unwrap();
    let err = load_model(&future).unwrap_err();
    assert!(err.to_string().contains("future.bookrec"), "{err}");
    let msg = model_file_message(err);
    assert!(
        msg.contains("written by a newer bookrec (format 2), this is format 1"),
        "{msg}"
    );
    assert!(model_file_message(read_meta(&future).unwrap_err()).contains("newer bookrec"));

    let msg = model_file_message(load_model(dir.path()).unwrap_err());
    assert!(msg.contains("not a file"), "{msg}");
    let missing = dir.path().join("nope.bookrec");
    assert!(matches!(
        load_model(&missing).unwrap_err(),
        Error::Io { .. }
    ));
}

#[test]
fn a_huge_header_length_does_not_allocate() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = saved(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let msg = model_file_message(read_meta(&path).unwrap_err());
    assert!(msg.contains("corrupted"), "{msg}");
}

#[test]
fn inconsistent_model_is_refused_on_load() {
    let dir = tempfile::tempdir().unwrap();
    let t = train();
    let mut m = model(&t);
    let (nu, ni) = (t.n_users(), t.n_items());
    m.scorer = Scorer::Factors(Factors {
        k: 2,
        user_bias: vec![0.0; nu],
        item_bias: vec![0.0; ni],
        user_factors: vec![0.0; 2 * nu],
        item_factors: vec![0.0; 2 * ni - 1],
        ..Factors::default()
    });
    let path = dir.path().join("bad.bookrec");
    save_model(&m, &meta(&t), &path).unwrap();
    let msg = model_file_message(load_model(&path).unwrap_err());
    assert!(msg.contains("parameters do not match"), "{msg}");

    // Compact rows (only some users/books have vectors): valid when every map entry points at
    // an existing row, refused when one points past the matrix.
    let mut compact = model(&t);
    let scorer = |item_rows: Vec<u32>| {
        Scorer::Factors(Factors {
            k: 2,
            user_bias: vec![0.0; nu],
            item_bias: vec![0.0; ni],
            user_factors: vec![0.5; 2 * nu],
            item_factors: vec![0.25; 2],
            item_rows,
            ..Factors::default()
        })
    };
    let mut rows = vec![u32::MAX; ni];
    rows[1] = 0;
    compact.scorer = scorer(rows.clone());
    save_model(&compact, &meta(&t), &path).unwrap();
    let (back, _) = load_model(&path).unwrap();
    assert_eq!(back.scorer, compact.scorer);
    rows[2] = 1;
    compact.scorer = scorer(rows);
    save_model(&compact, &meta(&t), &path).unwrap();
    let msg = model_file_message(load_model(&path).unwrap_err());
    assert!(msg.contains("parameters do not match"), "{msg}");

    let mut m = model(&t);
    m.seen.indices[0] = 99;
    save_model(&m, &meta(&t), &path).unwrap();
    let msg = model_file_message(load_model(&path).unwrap_err());
    assert!(msg.contains("training-ratings matrix"), "{msg}");
}

#[test]
fn fingerprint_depends_on_ids_ratings_and_order_only() {
    let a = train();
    assert_eq!(fingerprint(&a), fingerprint(&train()));
    assert_eq!(fingerprint(&a).len(), 16);
    assert!(fingerprint(&a).chars().all(|c| c.is_ascii_hexdigit()));
    // Same ratings, vocabularies interned in another order: same fingerprint.
    let mut b = train();
    let users: Vocab = ["ü-user", "276726", "276725"].into_iter().collect();
    let remap: Vec<u32> = (0..a.n_users() as u32)
        .map(|u| users.get(a.users.id(u)).unwrap())
        .collect();
    b.user = a.user.iter().map(|&u| remap[u as usize]).collect();
    b.users = Arc::new(users);
    assert_eq!(fingerprint(&a), fingerprint(&b));
    let mut c = train();
    c.rating[2] = 8.0;
    assert_ne!(fingerprint(&a), fingerprint(&c));
    let reversed = a.subset(&[3, 2, 1, 0], true);
    assert_ne!(fingerprint(&a), fingerprint(&reversed));
    let mut d = train();
    d.implicit_user.push(0);
    d.implicit_item.push(1);
    assert_ne!(fingerprint(&a), fingerprint(&d));
}

/// Every model kind, fitted for real on a split whose shared vocabularies include users and
/// books without training ratings (so compact factor rows and unknowns are exercised), comes
/// back from its file with bit-identical predictions and recommendations.
#[test]
fn every_model_kind_round_trips_through_a_file() {
    let mut t = Vec::new();
    for u in 0..60 {
        for i in 0..40 {
            if (u * 7 + i * 3) % 4 < 2 {
                let r = (1 + (u * 3 + i * 5) % 10) as f32;
                t.push((format!("u{u}"), format!("b{i}"), r));
            }
        }
    }
    let all = Interactions::from_triplets(t, Some(RatingScale::new(1.0, 10.0)));
    // Users u0–u4 and book b0 only in "test": in the vocabularies, without training ratings.
    let (b0, u5) = (all.items.get("b0").unwrap(), all.users.get("u5").unwrap());
    let train_rows: Vec<usize> = (0..all.len())
        .filter(|&r| all.user[r] >= u5 && all.item[r] != b0)
        .collect();
    let train = all.subset(&train_rows, true);
    let everything = all.align(&all);
    let dir = tempfile::tempdir().unwrap();
    let mut saw_compact_rows = false;
    for kind in ModelKind::ALL {
        let model = ModelSpec::default_for(kind)
            .fit(&train, &NoProgress)
            .unwrap();
        if let Scorer::Factors(f) = &model.scorer {
            saw_compact_rows |= !f.user_rows.is_empty() && !f.item_rows.is_empty();
        }
        let path = dir.path().join(format!("{}.bookrec", kind.name()));
        save_model(&model, &meta(&train), &path).unwrap();
        let (back, meta) = load_model(&path).unwrap();
        assert_eq!(meta.n_train, train.len());
        assert_eq!(back.scorer, model.scorer, "{kind:?}");
        assert_eq!(
            back.predict_all(&everything),
            model.predict_all(&everything),
            "{kind:?}"
        );
        let opts = RecommendOptions::default();
        for u in [0, 7, 33] {
            assert_eq!(back.recommend(u, 10, &opts), model.recommend(u, 10, &opts));
        }
        assert_eq!(back.similar(3, 5), model.similar(3, 5), "{kind:?}");
    }
    assert!(saw_compact_rows, "no model stored compact factor rows");
}
