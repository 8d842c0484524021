"""bookrec's Spark training job: bias-centred matrix factorisation with MLlib ALS.

Submitted by ``bookrec train --engine spark`` (or by hand: ``spark-submit job.py --ratings PATH
--out DIR``). Standalone on purpose: it imports only PySpark and the standard library.

Model (the same prediction rule as bookrec's own factor models)::

    r̂(u,i) = μ + b_u + b_i + q_iᵀp_u            (clipped to the rating scale)

1. μ = mean training rating.
2. Biases by DataFrame aggregations, the objective of bookrec's ``baseline`` (ALS method):
   ``bias_iterations`` alternations of
   b_i = Σ_u (r − μ − b_u) / (reg_i + n_i), then b_u = Σ_i (r − μ − b_i) / (reg_u + n_u).
3. MLlib ALS (explicit, weighted-λ regularisation: λ·n_u‖p_u‖² + λ·n_i‖q_i‖², as bookrec's
   ``als``) on the residuals r − μ − b_u − b_i, with rank = ``factors``, ``iterations`` and
   λ = ``reg``.

Native ``als`` fits exactly these two stages (same reg_u, reg_i, bias_iterations, reg, rank and
iterations; ``bookrec train --engine spark`` passes them through), so the two engines differ
only in initialisation and MLlib's blocking.

Cleaning (the native loader's rules, where they make sense at scale):

* run here: id normalisation (trim whitespace, strip stray ``"``, ``'``, ``\\`` at both ends, an
  ISBN-10 ending in lowercase ``x`` gets ``X``); rows with a missing user, book or rating are
  dropped and counted; non-numeric (or non-finite) ratings are bad lines (skipped and counted,
  or an error with ``--bad-lines error``; a rating column with no number at all is an error);
  rating 0 is implicit when every other rating is ≥ 1 (``--zeros auto``) — implicit rows are
  counted and left out of the explicit model; the rating scale is given or inferred exactly as
  natively (narrowest standard scale holding ≥ 99.9 % of the ratings) and ratings outside it are
  dropped and counted; duplicate (user, book) pairs: keep the last in input order (files in name
  order, rows in file order), the mean, or an error.
* skipped: per-line error positions (Spark has no line numbers: examples are quoted by value),
  encoding sniffing beyond a sample of the first lines (``--encoding`` forces it), mojibake
  repair (that concerns catalogues, not ratings), the record-size limit (Spark's parser has its
  own), and the timestamp column (the model does not use it).

Export directory (format ``bookrec-spark-export`` version 1), all text, UTF-8:

* ``users/part-*``: ``index TAB id TAB b_u TAB f_1,…,f_k``, ordered by index (0, 1, …);
* ``items/part-*``: the same for books;
* ``ratings/part-*``: ``user_index TAB book_index TAB rating``, the training ratings ordered
  by (user, book) — bookrec keeps them to exclude seen books;
* ``metrics.json``: held-out RMSE/MAE, cleaning counts, timings;
* ``manifest.json``: written last (atomically): format, version, counts, parameters, scale,
  μ, data fingerprint, and every file with its byte size, line count and CRC-32. An export
  without it is unfinished and is never imported.

Ids are escaped in the text files: ``\\`` → ``\\\\``, TAB → ``\\t``, LF → ``\\n``, CR → ``\\r``.

Protocol with the CLI: lines ``BOOKREC-STAGE i/n what``, ``BOOKREC-INFO text`` and
``BOOKREC-ERROR message`` on stdout; Spark's own log goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import NumericType, StringType

EXPORT_FORMAT = "bookrec-spark-export"
EXPORT_VERSION = 1

USER_NAMES = ["user", "userid", "uid", "users", "reader", "readerid"]
ITEM_NAMES = ["item", "itemid", "isbn", "book", "bookid", "books", "movieid", "movie", "iid", "asin"]
RATING_NAMES = ["rating", "bookrating", "score", "stars", "rate"]
STANDARD_SCALES = [(1.0, 5.0), (0.5, 5.0), (0.0, 5.0), (1.0, 10.0), (0.0, 10.0), (1.0, 100.0), (0.0, 100.0)]
STAGES = 7


class JobError(Exception):
    """A problem with the input or the arguments, reported to the user as it is."""


def info(text: str) -> None:
    print(f"BOOKREC-INFO {text}", flush=True)


def stage(n: int, what: str) -> None:
    print(f"BOOKREC-STAGE {n}/{STAGES} {what}", flush=True)


def header_key(name: str) -> str:
    return "".join(c for c in name if c.isalnum()).lower()


def is_number(text: str) -> bool:
    try:
        float(text.strip().strip('"'))
        return True
    except ValueError:
        return False


# --------------------------------------------------------------------------------------------
# Reading


def local_path(path: str) -> Path | None:
    """The local file-system path of `path`, or None for a remote URI (hdfs://, s3a://, …)."""
    parsed = urlparse(path)
    if parsed.scheme in ("", "file"):
        return Path(parsed.path if parsed.scheme else path)
    return None


def detect_format(path: str, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    if path.rstrip("/").lower().endswith(".parquet"):
        return "parquet"
    local = local_path(path)
    if local is not None and local.is_dir():
        data = [p for p in local.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))]
        if data and all(p.suffix == ".parquet" for p in data):
            return "parquet"
    return "csv"


def sniff_csv(spark: SparkSession, path: str, sep: str | None, header: bool | None,
              encoding: str | None) -> tuple[str, bool, str]:
    """Separator, header and encoding from the first lines, unless given."""
    lines = [r[0] for r in spark.read.text(path).limit(20).collect() if r[0] and r[0].strip()]
    if not lines:
        raise JobError(f"{path}: no data (the input is empty)")
    if encoding is None:
        # Spark decodes the sample as UTF-8; replacement characters mean it is not.
        encoding = "windows-1252" if any("\ufffd" in line for line in lines) else "UTF-8"
    if sep is None:
        best: tuple[int, str] | None = None
        for cand in ("::", ";", "\t", ",", "|"):
            counts = {line.count(cand) for line in lines}
            if len(counts) == 1 and min(counts) >= 2 and (best is None or min(counts) < best[0] or cand == "::"):
                best = (min(counts), cand)
                if cand == "::":
                    break
        if best is None:
            for cand in (";", "\t", ",", "|"):
                if all(line.count(cand) >= 2 for line in lines):
                    best = (0, cand)
                    break
        if best is None:
            raise JobError(
                f"{path}: cannot tell the field separator from the first lines "
                f"(first line: {lines[0][:80]!r}); pass --sep"
            )
        sep = best[1]
    if header is None:
        first = lines[0].split(sep)
        second = lines[1].split(sep) if len(lines) > 1 else []
        keys = {header_key(f.strip().strip('"')) for f in first}
        known = keys & set(USER_NAMES + ITEM_NAMES + RATING_NAMES)
        numeric_below = any(
            is_number(b) and not is_number(a) for a, b in zip(first, second)
        )
        header = bool(known) or numeric_below
    return sep, header, encoding


def read_ratings(spark: SparkSession, path: str, args: argparse.Namespace) -> DataFrame:
    """The input with three columns: user, item (strings as read) and rating (as read), plus
    `_row`, the input order."""
    fmt = detect_format(path, args.format)
    try:
        if fmt == "parquet":
            df = spark.read.parquet(path)
        else:
            sep, header, encoding = sniff_csv(spark, path, args.sep, args.header, args.encoding)
            info(f"{path}: csv, separator {sep!r}, header {'yes' if header else 'no'}, encoding {encoding}")
            df = (
                spark.read.option("sep", sep)
                .option("header", header)
                .option("encoding", encoding)
                .option("mode", "PERMISSIVE")
                .option("inferSchema", False)
                .csv(path)
            )
    except JobError:
        raise
    except Exception as e:  # Spark's AnalysisException for missing paths and unreadable files
        cause = java_root_cause(e)
        because = f" (Java cause: {cause})" if cause and cause not in first_line(e) else ""
        raise JobError(f"cannot read ratings {path}: {first_line(e)}{because}") from None
    columns = df.columns
    user = pick_column(columns, args.user_col, USER_NAMES, 0, "user", path)
    item = pick_column(columns, args.item_col, ITEM_NAMES, 1, "book", path)
    rating = pick_column(columns, args.rating_col, RATING_NAMES, 2, "rating", path)
    if len({user, item, rating}) < 3:
        raise JobError(f"{path}: the user, book and rating columns must differ (got {user!r}, {item!r}, {rating!r})")
    rating_type = df.schema[rating].dataType
    if not isinstance(rating_type, (NumericType, StringType)):
        raise JobError(f"{path}: rating column {rating!r} has type {rating_type.simpleString()}, not a number")
    return df.select(
        F.col(f"`{user}`").cast("string").alias("user_raw"),
        F.col(f"`{item}`").cast("string").alias("item_raw"),
        F.col(f"`{rating}`").cast("string").alias("rating_raw"),
        F.monotonically_increasing_id().alias("_row"),
    )


def pick_column(columns: list[str], given: str | None, names: list[str], position: int,
                what: str, path: str) -> str:
    listed = ", ".join(repr(c) for c in columns)
    if given is not None:
        if given in columns:
            return given
        if given.isdigit() and int(given) < len(columns):
            return columns[int(given)]
        raise JobError(f"{path}: no {what} column {given!r}; the columns are {listed}")
    for c in columns:
        if header_key(c) in names:
            return c
    # Without a header Spark names the columns _c0, _c1, …: take them by position.
    if all(c.startswith("_c") for c in columns) and position < len(columns):
        return columns[position]
    raise JobError(
        f"{path}: cannot find the {what} column among {listed}; name it with --{'item' if what == 'book' else what}-col"
    )


def first_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0][:500]


def blas_in_use(spark: SparkSession) -> str:
    """Which BLAS MLlib's ALS gets in the driver (netlib's choice, as Spark makes it): the
    system's ``libblas.so.3`` through JNI when installed, else a pure-Java implementation.
    Without a system BLAS, Spark's log shows ``netlib-blas: JNI_OnLoad: dlopen(libblas.so.3)
    failed``; that line is a notice, not the error: the Java fallback computes the same fit
    (the test suite runs Spark on Book-Crossing-sized data without a system BLAS)."""
    try:
        jvm = spark.sparkContext._jvm
        assert jvm is not None
        name = str(jvm.dev.ludovic.netlib.blas.BLAS.getInstance().getClass().getName())
    except Exception as e:  # an older netlib or another packaging: not worth failing for
        return f"unknown ({type(e).__name__})"
    short = name.rsplit(".", 1)[-1]
    if short.startswith("JNI"):
        return f"native, the system's libblas.so.3 ({short})"
    return f"Java ({short}; no system libblas.so.3 found, the pure-Java fallback)"


def java_root_cause(e: BaseException) -> str | None:
    """``class: message`` of the innermost Java cause behind a Spark error, or None.

    A failed Spark action surfaces in Python as ``Py4JJavaError: An error occurred while
    calling o1226.count.``, which says nothing; the reason (``java.lang.OutOfMemoryError: Java
    heap space``, ``java.lang.StackOverflowError``, a task's exception, …) is the end of the
    Java exception's cause chain. Py4J keeps the Java exception as ``java_exception``;
    PySpark's own converted exceptions keep it as ``_origin``."""
    java = getattr(e, "java_exception", None) or getattr(e, "_origin", None)
    if java is None:
        return None
    try:
        for _ in range(100):  # a cause chain can be circular in principle
            cause = java.getCause()
            if cause is None:
                break
            java = cause
        message = java.getMessage()
        name = str(java.getClass().getName())
    except Exception:  # the JVM may be gone (e.g. killed for memory): nothing more to learn
        return None
    text = f"{name}: {message}" if message else name
    return text.strip().splitlines()[0][:500]


# --------------------------------------------------------------------------------------------
# Cleaning


def normalize_id(c: Column) -> Column:
    """The native id rule (bookrec_core::data::ids): strip ASCII whitespace and stray quotes /
    backslashes at both ends; digits followed by a lowercase x get an uppercase X."""
    stripped = F.regexp_replace(c, r"^[\s\"'\\\\]+|[\s\"'\\\\]+$", "")
    return F.when(stripped.rlike("^[0-9]+x$"), F.regexp_replace(stripped, "x$", "X")).otherwise(stripped)


def parsed(df: DataFrame) -> DataFrame:
    """Normalised ids and the rating as a finite double (null when missing or not a number)."""
    number = F.expr("try_cast(trim(rating_raw) as double)")
    finite = F.when(~F.isnan(number) & (F.abs(number) < float("inf")), number)
    return df.select(
        F.when(normalize_id(F.col("user_raw")) != "", normalize_id(F.col("user_raw"))).alias("user"),
        F.when(normalize_id(F.col("item_raw")) != "", normalize_id(F.col("item_raw"))).alias("item"),
        finite.alias("rating"),
        "rating_raw",
        "_row",
    )


def clean(df: DataFrame, args: argparse.Namespace, path: str) -> tuple[DataFrame, dict[str, Any], tuple[float, float]]:
    """Applies the cleaning rules; returns the explicit ratings (user, item, rating), the
    cleaning report and the rating scale."""
    df = parsed(df).cache()
    raw_present = F.col("rating_raw").isNotNull() & (F.trim(F.col("rating_raw")) != "")
    bad = raw_present & F.col("rating").isNull()
    ok = F.col("user").isNotNull() & F.col("item").isNotNull() & F.col("rating").isNotNull()
    scale_given: tuple[float, float] | None = (
        (float(args.rating_scale[0]), float(args.rating_scale[1])) if args.rating_scale else None
    )
    candidates = list(STANDARD_SCALES)
    given_n = len(candidates) + 1  # index of the given scale among the counted ranges
    aggs = [
        F.count(F.lit(1)).alias("rows"),
        F.sum(bad.cast("long")).alias("bad"),
        F.first(F.when(bad, F.col("rating_raw")), ignorenulls=True).alias("bad_example"),
        F.sum((~bad & ~ok).cast("long")).alias("missing"),
        F.sum((ok & (F.col("rating") == 0)).cast("long")).alias("zeros"),
        F.min(F.when(ok & (F.col("rating") != 0), F.col("rating"))).alias("min_nonzero"),
        F.min(F.when(ok, F.col("rating"))).alias("min"),
        F.max(F.when(ok, F.col("rating"))).alias("max"),
    ]
    for n, (lo, hi) in enumerate(candidates + [(0.0, 1.0)] + ([scale_given] if scale_given else [])):
        aggs.append(F.sum((ok & (F.col("rating") != 0) & F.col("rating").between(lo, hi)).cast("long")).alias(f"in{n}"))
        aggs.append(F.sum((ok & (F.col("rating") == 0) & F.lit(lo <= 0.0 <= hi)).cast("long")).alias(f"z{n}"))
    s = df.agg(*aggs).collect()[0].asDict()
    rows, n_bad = int(s["rows"]), int(s["bad"] or 0)
    if rows == 0:
        raise JobError(f"{path}: no data (the input is empty)")
    if n_bad and n_bad == rows - int(s["missing"] or 0):
        raise JobError(
            f"{path}: the rating column holds no numbers (e.g. {s['bad_example']!r}); "
            "check the columns (--rating-col) and the separator (--sep)"
        )
    if n_bad and args.bad_lines == "error":
        raise JobError(f"{path}: {n_bad} rating(s) are not numbers, e.g. {s['bad_example']!r} (--bad-lines error)")
    zeros = int(s["zeros"] or 0)
    if args.zeros == "auto":
        zeros_implicit = zeros > 0 and s["min_nonzero"] is not None and float(s["min_nonzero"]) >= 1.0
    else:
        zeros_implicit = args.zeros == "implicit"
    n_explicit = rows - n_bad - int(s["missing"] or 0) - (zeros if zeros_implicit else 0)
    if n_explicit <= 0:
        raise JobError(f"{path}: no explicit ratings left after cleaning")
    if scale_given is not None:
        scale = scale_given
        inside_n = int(s[f"in{given_n}"] or 0) + (0 if zeros_implicit else int(s[f"z{given_n}"] or 0))
    else:
        # Narrowest standard scale holding ≥ 99.9 % of the explicit ratings (native rule).
        options = [(hi - lo, n, (lo, hi)) for n, (lo, hi) in enumerate(candidates)]
        if not zeros_implicit:
            options.append((1.0, len(candidates), (0.0, 1.0)))
        options.sort(key=lambda o: o[0])
        scale_found: tuple[float, float] | None = None
        for _, n, sc in options:
            inside = int(s[f"in{n}"] or 0) + (0 if zeros_implicit else int(s[f"z{n}"] or 0))
            if inside >= 0.999 * n_explicit:
                scale_found, inside_n = sc, inside
                break
        if scale_found is None:
            lo_obs = float(s["min_nonzero"] if zeros_implicit else s["min"])
            scale_found, inside_n = (lo_obs, float(s["max"])), n_explicit
        scale = scale_found
    lo, hi = scale
    is_implicit = F.lit(zeros_implicit) & (F.col("rating") == 0)
    valid = df.where(ok).select(
        "user", "item", "rating", "_row",
        is_implicit.alias("implicit"),
    )
    in_scale = valid.where(F.col("implicit") | F.col("rating").between(lo, hi))
    # One shuffle settles duplicates: the last row per pair (input order), the mean of its
    # explicit ratings, and how many rows it had.
    pairs = in_scale.groupBy("user", "item").agg(
        F.count(F.lit(1)).alias("n"),
        F.max_by(F.struct(F.col("rating"), F.col("implicit")), F.col("_row")).alias("last"),
        F.avg(F.when(~F.col("implicit"), F.col("rating"))).alias("mean"),
    )
    if args.duplicates == "error":
        dup = pairs.where(F.col("n") > 1).select("user", "item").limit(1).collect()
        if dup:
            raise JobError(
                f"{path}: user {dup[0]['user']!r} rated book {dup[0]['item']!r} more than once (--duplicates error)"
            )
    if args.duplicates == "mean":
        value = F.coalesce(F.col("mean"), F.when(F.col("last.implicit"), F.lit(None)))
        explicit = pairs.select("user", "item", value.alias("rating"), "n")
    else:
        explicit = pairs.select(
            "user", "item", F.when(~F.col("last.implicit"), F.col("last.rating")).alias("rating"), "n"
        )
    explicit = explicit.cache()
    c = explicit.agg(
        F.sum(F.col("rating").isNotNull().cast("long")).alias("explicit"),
        F.sum(F.col("rating").isNull().cast("long")).alias("implicit"),
        F.sum((F.col("n") - 1)).alias("duplicates"),
    ).collect()[0]
    out_of_scale = n_explicit - inside_n
    report = {
        "rows_read": rows,
        "bad_ratings": n_bad,
        "bad_rating_example": s["bad_example"],
        "missing_values": int(s["missing"] or 0),
        "zeros": zeros,
        "zeros_implicit": bool(zeros_implicit),
        "out_of_scale": int(out_of_scale),
        "duplicate_rows": int(c["duplicates"] or 0),
        "duplicates_policy": args.duplicates,
        "explicit_ratings": int(c["explicit"] or 0),
        "implicit_pairs": int(c["implicit"] or 0),
        "scale": {"min": lo, "max": hi},
    }
    df.unpersist()
    ratings = explicit.where(F.col("rating").isNotNull()).select("user", "item", "rating")
    return ratings, report, scale


def clean_test(df: DataFrame, scale: tuple[float, float], zeros_implicit: bool) -> DataFrame:
    """A given test file: the same id and number rules; implicit and out-of-scale rows are not
    ratings to predict, so they are left out (duplicates are kept: each is one prediction)."""
    p = parsed(df)
    ok = F.col("user").isNotNull() & F.col("item").isNotNull() & F.col("rating").isNotNull()
    keep = ok & F.col("rating").between(scale[0], scale[1])
    if zeros_implicit:
        keep = keep & (F.col("rating") != 0)
    return p.where(keep).select("user", "item", "rating")


# --------------------------------------------------------------------------------------------
# Fitting


def vocabulary(df: DataFrame, col: str, idx: str) -> DataFrame:
    """Distinct ids sorted, with dense int indices 0…n−1 (zipWithIndex is distributed: the
    vocabulary never passes through the driver)."""
    ids = df.select(col).distinct().orderBy(col)
    return ids.rdd.map(lambda r: r[0]).zipWithIndex().toDF([col, idx])


def fit_biases(train: DataFrame, mu: float, reg_u: float, reg_i: float, iterations: int) -> tuple[DataFrame, DataFrame]:
    """b_u, b_i by alternating closed-form ridge steps (bookrec's `baseline`, ALS method)."""
    spark = train.sparkSession
    bu = spark.createDataFrame([], "u long, bu double")
    bi = spark.createDataFrame([], "i long, bi double")
    for _ in range(iterations):
        new_bi = (
            train.join(bu, "u", "left")
            .groupBy("i")
            .agg((F.sum(F.col("r") - mu - F.coalesce(F.col("bu"), F.lit(0.0))) / (reg_i + F.count(F.lit(1)))).alias("bi"))
            .cache()
        )
        new_bi.count()
        bi.unpersist()
        bi = new_bi
        new_bu = (
            train.join(bi, "i", "left")
            .groupBy("u")
            .agg((F.sum(F.col("r") - mu - F.coalesce(F.col("bi"), F.lit(0.0))) / (reg_u + F.count(F.lit(1)))).alias("bu"))
            .cache()
        )
        new_bu.count()
        bu.unpersist()
        bu = new_bu
    return bu, bi


def dot(a: Column, b: Column) -> Column:
    return F.aggregate(F.zip_with(a, b, lambda x, y: x * y), F.lit(0.0).cast("double"), lambda acc, x: acc + x)


def predictions(pairs: DataFrame, mu: float, users: DataFrame, items: DataFrame, scale: tuple[float, float]) -> DataFrame:
    """r̂ for (user, item) pairs by raw id, with the native fallbacks: missing terms are 0
    (unknown user → μ + b_i, …), clipped to the scale."""
    j = pairs.join(users, "user", "left").join(items, "item", "left")
    raw = (
        F.lit(mu)
        + F.coalesce(F.col("bu"), F.lit(0.0))
        + F.coalesce(F.col("bi"), F.lit(0.0))
        + F.coalesce(dot(F.col("pu"), F.col("qi")), F.lit(0.0))
    )
    return j.withColumn("pred", F.least(F.greatest(raw, F.lit(scale[0])), F.lit(scale[1])))


# --------------------------------------------------------------------------------------------
# Export


def escape_id(c: Column) -> Column:
    out = F.regexp_replace(c, r"\\", r"\\\\")
    out = F.regexp_replace(out, "\t", r"\\t")
    out = F.regexp_replace(out, "\n", r"\\n")
    return F.regexp_replace(out, "\r", r"\\r")


def factor_text(c: Column) -> Column:
    return F.array_join(F.transform(c, lambda x: x.cast("float").cast("string")), ",")


def write_lines(df: DataFrame, line: Column, order: list[str], out: str) -> None:
    # A global sort range-partitions the rows, so part files in name order are in index order.
    df.orderBy(*order).select(line.alias("value")).write.mode("overwrite").text(out)


def file_entries(directory: Path) -> list[dict[str, Any]]:
    """Every data file of a Spark output directory with its size, line count and CRC-32."""
    entries = []
    for p in sorted(directory.iterdir()):
        if p.name.startswith((".", "_")) or not p.is_file():
            continue
        crc, size, lines = 0, 0, 0
        with p.open("rb") as f:
            while block := f.read(1 << 20):
                crc = zlib.crc32(block, crc)
                size += len(block)
                lines += block.count(b"\n")
        entries.append({"name": p.name, "bytes": size, "lines": lines, "crc32": crc})
    return entries


def fingerprint(train: DataFrame) -> str:
    """Order-independent fingerprint of the training ratings: the count and the sum, mod 2⁶⁴,
    of xxhash64(user, book, rating). Not the native engine's (which hashes in row order)."""
    row = train.agg(
        F.count(F.lit(1)).alias("n"),
        F.sum(F.xxhash64("user", "item", F.col("rating").cast("float")).cast("decimal(20,0)")).alias("h"),
    ).collect()[0]
    h = int(row["h"] or 0) % (1 << 64)
    return f"spark-xxh64sum:{int(row['n'])}:{h:016x}"


# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--ratings", required=True, help="anything Spark reads: CSV file/dir/glob, Parquet, hdfs://, s3a://")
    p.add_argument("--test", help="given test ratings (same format); default: hold out --test-fraction, if any")
    p.add_argument("--out", required=True, help="export directory (local path)")
    p.add_argument("--format", choices=["auto", "csv", "parquet"], default="auto")
    p.add_argument("--sep")
    p.add_argument("--header", type=lambda s: s == "true", default=None)
    p.add_argument("--encoding")
    p.add_argument("--user-col")
    p.add_argument("--item-col")
    p.add_argument("--rating-col")
    p.add_argument("--rating-scale", type=float, nargs=2, metavar=("MIN", "MAX"))
    p.add_argument("--duplicates", choices=["last", "mean", "error"], default="last")
    p.add_argument("--bad-lines", choices=["skip", "error"], default="skip")
    p.add_argument("--zeros", choices=["auto", "implicit", "rating"], default="auto")
    p.add_argument("--factors", type=int, default=50)
    p.add_argument("--iterations", type=int, default=15)
    p.add_argument("--reg", type=float, default=0.1)
    p.add_argument("--reg-u", type=float, default=15.0)
    p.add_argument("--reg-i", type=float, default=10.0)
    p.add_argument("--bias-iterations", type=int, default=3)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--test-fraction", type=float, default=0.0)
    a = p.parse_args(argv)
    if a.factors < 1 or a.iterations < 1 or a.bias_iterations < 1:
        raise JobError("factors, iterations and bias-iterations must be at least 1")
    if not (a.reg > 0 and a.reg_u >= 0 and a.reg_i >= 0):
        raise JobError("reg must be > 0, reg-u and reg-i >= 0")
    if not 0.0 <= a.test_fraction < 1.0:
        raise JobError(f"test-fraction must be in [0, 1), got {a.test_fraction}")
    return a


def run(args: argparse.Namespace) -> None:
    from pyspark.ml.recommendation import ALS

    t0 = time.time()
    out = local_path(args.out)
    if out is None:
        raise JobError(f"--out must be a local directory (bookrec imports it from there), got {args.out}")
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "manifest.json"
    # An old manifest would vouch for files this run is about to replace.
    manifest_path.unlink(missing_ok=True)

    spark = SparkSession.builder.appName("bookrec-train").getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    if not spark.sparkContext.getConf().contains("spark.sql.shuffle.partitions"):
        # Spark's default of 200 shuffle partitions is for clusters; every stage here would
        # schedule 200 mostly empty tasks. Two per core (adaptive execution adjusts from there).
        spark.conf.set("spark.sql.shuffle.partitions", str(max(2, 2 * spark.sparkContext.defaultParallelism)))
    info(f"Spark {spark.version}, master {spark.sparkContext.master}, application {spark.sparkContext.applicationId}")
    info(f"BLAS: {blas_in_use(spark)}")
    if spark.sparkContext.uiWebUrl:
        info(f"Spark UI: {spark.sparkContext.uiWebUrl}")
    timings: dict[str, float] = {}

    def timed(name: str, start: float) -> float:
        now = time.time()
        timings[name] = round(now - start, 3)
        return now

    stage(1, f"reading and cleaning {args.ratings}")
    t = time.time()
    ratings, report, scale = clean(read_ratings(spark, args.ratings, args), args, args.ratings)
    info(
        f"{report['rows_read']} rows: {report['explicit_ratings']} explicit ratings, "
        f"{report['implicit_pairs']} implicit, {report['bad_ratings']} bad, {report['missing_values']} missing, "
        f"{report['out_of_scale']} out of scale {scale[0]:g}–{scale[1]:g}, {report['duplicate_rows']} duplicate rows"
    )
    if args.test:
        test = clean_test(read_ratings(spark, args.test, args), scale, report["zeros_implicit"])
        train = ratings
    elif args.test_fraction > 0:
        h = F.pmod(F.xxhash64("user", "item", F.lit(args.seed)), F.lit(1_000_000))
        flagged = ratings.withColumn("_test", h < int(round(args.test_fraction * 1_000_000)))
        train = flagged.where(~F.col("_test")).drop("_test")
        test = flagged.where(F.col("_test")).drop("_test")
    else:
        train, test = ratings, None
    t = timed("clean_seconds", t)

    stage(2, "building vocabularies")
    users = vocabulary(train, "user", "u").cache()
    items = vocabulary(train, "item", "i").cache()
    indexed = (
        train.join(users, "user").join(items, "item")
        .select("u", "i", F.col("rating").cast("double").alias("r"), "user", "item", "rating")
        .cache()
    )
    stats = indexed.agg(F.count(F.lit(1)).alias("n"), F.avg("r").alias("mu")).collect()[0]
    n_train, mu = int(stats["n"]), float(stats["mu"] or 0.0)
    if n_train == 0:
        raise JobError(f"{args.ratings}: the training split is empty")
    n_users, n_items = users.count(), items.count()
    info(f"train: {n_train} ratings, {n_users} users, {n_items} books; mean rating {mu:.4f}")
    fp = fingerprint(indexed)
    t = timed("vocab_seconds", t)

    stage(3, f"fitting biases ({args.bias_iterations} alternations)")
    bu, bi = fit_biases(indexed.select("u", "i", "r"), mu, args.reg_u, args.reg_i, args.bias_iterations)
    t = timed("bias_seconds", t)

    stage(4, f"fitting MLlib ALS on residuals (rank {args.factors}, {args.iterations} iterations, reg {args.reg})")
    resid = (
        indexed.select("u", "i", "r").join(bu, "u").join(bi, "i")
        .select(
            F.col("u").cast("int").alias("u"),
            F.col("i").cast("int").alias("i"),
            (F.col("r") - mu - F.col("bu") - F.col("bi")).cast("float").alias("res"),
        )
    )
    als = ALS(
        rank=args.factors, maxIter=args.iterations, regParam=args.reg, seed=args.seed,
        userCol="u", itemCol="i", ratingCol="res", implicitPrefs=False, nonnegative=False,
        coldStartStrategy="nan",
    )
    model = als.fit(resid)
    user_table = (
        users.join(bu, "u", "left").join(model.userFactors.withColumnRenamed("id", "u").withColumnRenamed("features", "pu"), "u", "left")
        .cache()
    )
    item_table = (
        items.join(bi, "i", "left").join(model.itemFactors.withColumnRenamed("id", "i").withColumnRenamed("features", "qi"), "i", "left")
        .cache()
    )
    user_table.count()
    item_table.count()
    t = timed("als_seconds", t)

    stage(5, "evaluating on the held-out ratings")
    metrics: dict[str, Any] = {}
    if test is not None:
        pred = predictions(test, mu, user_table.select("user", "bu", "pu"), item_table.select("item", "bi", "qi"), scale)
        m = pred.agg(
            F.count(F.lit(1)).alias("n"),
            F.sqrt(F.avg((F.col("pred") - F.col("rating")) ** 2)).alias("rmse"),
            F.avg(F.abs(F.col("pred") - F.col("rating"))).alias("mae"),
            F.sum(F.col("pu").isNull().cast("long")).alias("unknown_user"),
            F.sum(F.col("qi").isNull().cast("long")).alias("unknown_item"),
        ).collect()[0]
        metrics = {
            "n_test": int(m["n"]),
            "test_rmse": float(m["rmse"]) if m["rmse"] is not None else None,
            "test_mae": float(m["mae"]) if m["mae"] is not None else None,
            "test_unknown_user": int(m["unknown_user"] or 0),
            "test_unknown_item": int(m["unknown_item"] or 0),
            "split": "given" if args.test else f"hash holdout {args.test_fraction} seed {args.seed}",
        }
        info(f"held-out: {metrics['n_test']} ratings, rmse {metrics['test_rmse']}, mae {metrics['test_mae']}")
    else:
        info("no held-out ratings (--test-fraction 0): skipped")
    t = timed("evaluate_seconds", t)

    stage(6, f"writing the export to {out}")
    for name in ("users", "items", "ratings"):
        for old in (out / name).glob("*") if (out / name).is_dir() else []:
            old.unlink()
    line_u = F.concat_ws(
        "\t", F.col("u").cast("string"), escape_id(F.col("user")),
        F.coalesce(F.col("bu"), F.lit(0.0)).cast("float").cast("string"), F.coalesce(factor_text(F.col("pu")), F.lit("")),
    )
    write_lines(user_table, line_u, ["u"], str(out / "users"))
    line_i = F.concat_ws(
        "\t", F.col("i").cast("string"), escape_id(F.col("item")),
        F.coalesce(F.col("bi"), F.lit(0.0)).cast("float").cast("string"), F.coalesce(factor_text(F.col("qi")), F.lit("")),
    )
    write_lines(item_table, line_i, ["i"], str(out / "items"))
    line_r = F.concat_ws("\t", F.col("u").cast("string"), F.col("i").cast("string"), F.col("rating").cast("float").cast("string"))
    write_lines(indexed, line_r, ["u", "i"], str(out / "ratings"))
    t = timed("export_seconds", t)
    timings["total_seconds"] = round(time.time() - t0, 3)

    stage(7, "writing the manifest")
    metrics_doc = {"metrics": metrics, "cleaning": report, "timings": timings}
    (out / "metrics.json").write_text(json.dumps(metrics_doc, indent=2))
    metrics_bytes = (out / "metrics.json").read_bytes()
    manifest = {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_VERSION,
        "model": "als",
        "rank": args.factors,
        "params": {
            "factors": args.factors, "iterations": args.iterations, "reg": args.reg, "seed": args.seed,
            "reg_u": args.reg_u, "reg_i": args.reg_i, "bias_iterations": args.bias_iterations,
            "test_fraction": 0.0 if args.test else args.test_fraction,
        },
        "scale": {"min": scale[0], "max": scale[1]},
        "global_mean": mu,
        "n_users": n_users,
        "n_items": n_items,
        "n_train": n_train,
        "data_fingerprint": fp,
        "source": args.ratings,
        "spark": {"version": spark.version, "master": spark.sparkContext.master,
                  "application_id": spark.sparkContext.applicationId},
        "metrics": metrics,
        "cleaning": report,
        "timings": timings,
        "files": {
            "users": file_entries(out / "users"),
            "items": file_entries(out / "items"),
            "ratings": file_entries(out / "ratings"),
            "metrics.json": {"bytes": len(metrics_bytes), "crc32": zlib.crc32(metrics_bytes)},
        },
    }
    tmp = out / "manifest.json.tmp"
    with tmp.open("w") as f:
        json.dump(manifest, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, manifest_path)
    info(f"export complete: {out} ({timings['total_seconds']:.1f}s)")
    spark.stop()


def main(argv: list[str]) -> int:
    try:
        run(parse_args(argv))
    except JobError as e:
        print(f"BOOKREC-ERROR {e}", flush=True)
        return 2
    except Exception as e:  # Spark's errors: report their first line, the log has the rest
        cause = java_root_cause(e)
        because = f"; Java cause: {cause}" if cause else ""
        print(f"BOOKREC-ERROR Spark failed: {type(e).__name__}: {first_line(e)}{because}", flush=True)
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
