#!/usr/bin/env python3
"""Runs the report's experiments and renders REPORT.md and its figures from the results.

    python3 scripts/report.py            # run everything, write the results file, render
    python3 scripts/report.py --render   # render only, from the existing results file

Experiments (every figure in REPORT.md comes from here):
  * the cleaning report of Book-Crossing (`bookrec inspect --json`, with the catalogue);
  * every model the `bookrec` binary knows, on one seeded 80/20 split of Book-Crossing's
    explicit ratings (`bookrec evaluate --json`: RMSE, MAE, ranking metrics, fit time);
  * ranking on held-out interactions: every model on a per-user holdout of all interactions
    (explicit and implicit), every held-out book relevant (`evaluate --split interactions
    --relevance interactions`; ranking models' RMSE/MAE are null, shown as "n/a");
  * the tuning results bench/results/tune_*.json (`bookrec tune`) re-scored once on the test
    part of the split their search did not see, next to the defaults on the same split;
  * synthetic data with planted low-rank structure at growing sizes (`bookrec synth`, then
    `bookrec evaluate`), to show accuracy against the known noise floor and fit-time scaling;
  * results written by other benchmarks when present: bench/results/compare_surprise.json
    (bench/compare_surprise.py), bench/results/spark.json (bench/spark_vs_native.py),
    bench/results/tune_*.json (their search, as written by `bookrec tune`).

Rendering fills docs/report/REPORT.template.md's `{{placeholders}}` and draws the PNG figures
under docs/report/ (needs matplotlib). Sections whose results are absent say "not measured".

Options: --bookrec BIN (default target/release/bookrec), --data DIR (Book-Crossing files,
default ../shared/data/book-crossing), --results FILE (default bench/results/report.json),
--synth-sizes N,N,... (default 1000000,4000000), --seed N (default 42).
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs", "report")
TEMPLATE = os.path.join(DOCS, "REPORT.template.md")
REPORT = os.path.join(ROOT, "REPORT.md")

#: Models in the order of the tables; those the binary does not know are skipped (and listed).
CANDIDATE_MODELS = [
    "mean", "baseline", "svd", "svdpp", "als", "knn", "ncf", "hybrid", "ials", "popularity",
]
#: Models run on the synthetic sets (the ones meant to scale; kNN and SVD++ are quadratic in
#: per-user history and are measured on Book-Crossing only).
SYNTH_MODELS = ["baseline", "svd", "als"]
#: One-line equations of the models added after the report's template was written; a model
#: present in the results gets its row in §2.
EXTRA_MODEL_ROWS = {
    "ncf": "| Neural CF | r̂ = μ + b_u + b_i + wᵀ[p_u ⊙ q_i ; MLP([p'_u ; q'_i])] + c (NeuMF), mini-batch Adam, early stopping on a validation slice; b_u, b_i start at the baseline's estimates |",
    "ials": "| Implicit ALS | min Σ c_ui (x_ui − p_uᵀq_i)² + λ(‖P‖² + ‖Q‖²), p_ui = 1 on every interaction, confidence c_ui = 1 + α·w (w = weight of a rated / unrated interaction) |",
    "popularity": "| Popularity | score(i) = number of readers who interacted with book i (same list for everybody) |",
    "hybrid": "| Hybrid biases | r̂ = μ + b_u + γ_{a(u)} + b_i + β^author + β^work + β^publisher + β^period + δ_{a(i)}: the baseline's biases plus ridge-regularised biases of the book's catalogue groups (`--books`) and of readers' and books' implicit-activity levels |",
}
RANKING = ["precision", "recall", "ndcg", "map", "hit_rate", "coverage"]

MODEL_LABELS = {
    "mean": "Global mean",
    "baseline": "Baseline (biases)",
    "svd": "SVD (biased MF, SGD)",
    "svdpp": "SVD++",
    "als": "ALS (weighted-λ)",
    "knn": "Item kNN (baseline)",
    "ncf": "Neural CF",
    "hybrid": "Hybrid biases (catalogue groups)",
    "ials": "Implicit ALS",
    "popularity": "Popularity",
}
#: The project's accuracy goal on Book-Crossing's explicit ratings (test RMSE).
RMSE_GOAL = 1.61
#: Largest |RMSE(Spark path) − RMSE(native als)| accepted as "the same model" (README).
SPARK_TOLERANCE = 0.02


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def run_json(cmd: list[str]) -> Any:
    print("report: $", " ".join(cmd), file=sys.stderr, flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"report: command failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr}")
    return json.loads(p.stdout)


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gb = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": mem_gb,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def known_models(bookrec: str) -> list[str]:
    """The candidate models this binary implements (`train --show-params` succeeds)."""
    out = []
    for m in CANDIDATE_MODELS:
        p = subprocess.run(
            [bookrec, "train", "--model", m, "--show-params"], capture_output=True, text=True
        )
        if p.returncode == 0:
            out.append(m)
    return out


def git_commit() -> str | None:
    p = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return p.stdout.strip() or None


def run_experiments(args: argparse.Namespace) -> dict[str, Any]:
    bookrec = args.bookrec
    if not os.access(bookrec, os.X_OK):
        sys.exit(f"report: {bookrec} is not built (cargo build --release -p bookrec-cli)")
    version = subprocess.run([bookrec, "--version"], capture_output=True, text=True).stdout.strip()
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "load_before": load_average(),
        "bookrec": version,
        "binary": os.path.relpath(os.path.abspath(bookrec), ROOT),
        "commit": git_commit(),
        "seed": args.seed,
    }
    models = known_models(bookrec)
    results["models"] = models
    results["models_missing"] = [m for m in CANDIDATE_MODELS if m not in models]

    ratings_csv = os.path.join(args.data, "BX-Book-Ratings.csv")
    books_csv = os.path.join(args.data, "BX-Books.csv")
    if os.path.isfile(ratings_csv):
        inspect_cmd = [bookrec, "inspect", "--ratings", ratings_csv, "--json"]
        if os.path.isfile(books_csv):
            inspect_cmd += ["--books", books_csv]
        results["bx_inspect"] = run_json(inspect_cmd)
        t = time.perf_counter()
        evals = run_json(
            [bookrec, "evaluate", "--ratings", ratings_csv, *books_flag(books_csv),
             "--model", ",".join(models),
             "--seed", str(args.seed), "--test-fraction", "0.2", "-k", "10", "--json"]
        )
        results["bx_eval_wall_s"] = time.perf_counter() - t
        results["bx_eval"] = as_list(evals)
        # Ranking on held-out interactions: per user, 20% of all interactions (explicit and
        # implicit) held out; every held-out book is relevant.
        results["bx_interactions"] = as_list(run_json(
            [bookrec, "evaluate", "--ratings", ratings_csv, *books_flag(books_csv),
             "--model", ",".join(models), "--split", "interactions", "--relevance", "interactions", "--seed", str(args.seed),
             "-k", "10", "--json"]
        ))
        results["tune_holdout"] = tune_holdout(bookrec, ratings_csv, books_csv, models)
    else:
        print(f"report: {ratings_csv} not found: Book-Crossing sections will say 'not measured'", file=sys.stderr)

    synth = []
    synth_models = [m for m in SYNTH_MODELS if m in models]
    with tempfile.TemporaryDirectory(prefix="bookrec-report-") as tmp:
        for n in args.synth_sizes:
            users, books = n // 20, n // 100
            path = os.path.join(tmp, f"synth-{n}.csv")
            gen = run_json(
                [bookrec, "synth", "--users", str(users), "--books", str(books), "--ratings", str(n),
                 "--seed", str(args.seed), "--out", path, "--json"]
            )
            evals = run_json(
                [bookrec, "evaluate", "--ratings", path, "--model", ",".join(synth_models),
                 "--seed", str(args.seed), "--test-fraction", "0.2", "-k", "0", "--json"]
            )
            synth.append({"ratings": n, "users": users, "books": books, "synth": gen,
                          "eval": as_list(evals)})
            os.remove(path)
    results["synthetic"] = synth
    results["load_after"] = load_average()
    return results


def as_list(x: Any) -> list[Any]:
    """`evaluate --json` prints one object for one model, an array for several."""
    return x if isinstance(x, list) else [x]


def tuned_flags(tune: dict[str, Any]) -> list[str]:
    """The best trial's searched parameters as `-p key=value` flags (as `bookrec tune` prints
    them), plus the model seed of the search."""
    best = tune["trials"][tune["best"]]["params"]
    params = dict(best)
    if "seed" in tune.get("best_params", {}) and "seed" not in params:
        params["seed"] = tune["best_params"]["seed"]
    flags = []
    for k, v in params.items():
        flags += ["-p", f"{k}={v if isinstance(v, str) else json.dumps(v)}"]
    return flags


def books_flag(books_csv: str) -> list[str]:
    """`--books FILE` when the catalogue exists: `hybrid` takes its groups from it (the other
    models ignore it)."""
    return ["--books", books_csv] if os.path.isfile(books_csv) else []


def tune_holdout(
    bookrec: str, ratings_csv: str, books_csv: str, models: list[str]
) -> dict[str, Any]:
    """Scores each tuning result of bench/results/tune_*.json once on the test part of the
    split its search did not see (`evaluate --test-fraction 0.2 --seed S` with the search's
    seed S), next to the model's defaults on the same split."""
    tunes = read_tunes()
    out: dict[str, Any] = {"defaults": {}, "tuned": {}}
    by_seed: dict[int, set[str]] = {}
    for key, tune in tunes.items():
        if tune.get("model") in models:
            by_seed.setdefault(int(tune.get("seed", 0)), set()).add(tune["model"])
    for seed, names in sorted(by_seed.items()):
        evals = as_list(run_json(
            [bookrec, "evaluate", "--ratings", ratings_csv, *books_flag(books_csv), "--model",
             ",".join(m for m in models if m in names), "--seed", str(seed),
             "--test-fraction", "0.2", "-k", "0", "--json"]))
        out["defaults"][str(seed)] = {e["model"]: e for e in evals}
    for key, tune in tunes.items():
        if tune.get("model") not in models:
            continue
        flags = tuned_flags(tune)
        e = run_json([bookrec, "evaluate", "--ratings", ratings_csv, *books_flag(books_csv), "--model", tune["model"],
                      *flags, "--seed", str(tune.get("seed", 0)), "--test-fraction", "0.2",
                      "-k", "0", "--json"])
        out["tuned"][key] = {"flags": flags, "eval": as_list(e)[0]}
    return out


def read_tunes() -> dict[str, Any]:
    """bench/results/tune_<name>.json (`bookrec tune`'s trial tables), keyed by <name>. Only
    RMSE searches: the tuning section compares test RMSE on the explicit split, and a search
    for a ranking metric (`--metric ndcg@10`, on held-out interactions) has none."""
    tunes = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "bench", "results", "tune_*.json"))):
        with open(path) as fh:
            tune = json.load(fh)
        if tune.get("metric", "rmse") == "rmse":
            tunes[os.path.basename(path)[5:-5]] = tune
    return tunes


def external_results() -> dict[str, Any]:
    """Results files written by other benchmarks, read at render time (so a re-render picks up
    a newer file)."""
    out: dict[str, Any] = {}
    for name in ("compare_surprise", "compare_surprise_file_order", "spark"):
        path = os.path.join(ROOT, "bench", "results", f"{name}.json")
        if os.path.isfile(path):
            with open(path) as f:
                out[name] = json.load(f)
    tunes = read_tunes()
    if tunes:
        out["tune"] = tunes
    return out


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

NOT_MEASURED = "_not measured_"


def f(x: Any, digits: int = 4) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if x != 0 and (abs(x) >= 1e5 or abs(x) < 10 ** -digits):
            return f"{x:.3g}"
        return f"{x:.{digits}f}"
    return str(x)


def secs(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def label(m: str) -> str:
    return MODEL_LABELS.get(m, m)


def section_cleaning(res: dict[str, Any]) -> dict[str, str]:
    ins = res.get("bx_inspect")
    if not ins:
        return {"cleaning_table": NOT_MEASURED, "implicit_share": "–"}
    r = ins["ratings"]

    def get(d: Any, *path: str) -> Any:
        for key in path:
            if not isinstance(d, dict):
                return None
            d = d.get(key)
        return d

    rows = [
        ["data rows read", get(r, "rows_read")],
        ["explicit ratings (1–10) kept", get(r, "rows_kept")],
        ["implicit interactions (rating 0) kept", get(r, "implicit")],
        ["malformed lines skipped", get(r, "bad_lines", "count")],
        ["rows with a missing value", get(r, "missing", "rows")],
        ["duplicate (user, book) rows removed", get(r, "duplicates", "rows_removed")],
        ["out-of-scale ratings dropped", get(r, "out_of_scale", "count")],
        ["distinct raw book ids → after id normalisation",
         f"{f(get(r, 'items', 'raw_distinct'))} → {f(get(r, 'items', 'distinct'))}"],
        ["users (with an explicit rating)",
         f"{f(get(r, 'users', 'distinct'))} ({f(get(r, 'users', 'with_explicit'))})"],
        ["books (with an explicit rating)",
         f"{f(get(r, 'items', 'distinct'))} ({f(get(r, 'items', 'with_explicit'))})"],
        ["density of the explicit matrix", f"{r.get('density', 0):.2e}"],
        ["read + clean time (s)", secs(r.get("seconds"))],
    ]
    cat = ins.get("catalog")
    if isinstance(cat, dict):
        rows += [
            ["catalogue: books (rows read)", f"{f(cat.get('books'))} ({f(cat.get('rows_read'))})"],
            ["catalogue: duplicate ids (first kept)", cat.get("duplicate_ids")],
            ["catalogue: impossible years (0 / future)",
             f"{f(get(cat, 'impossible_years', 'zero'))} / {f(get(cat, 'impossible_years', 'future'))}"],
            ["catalogue: mojibake fields repaired / marked unrepairable",
             f"{f(get(cat, 'text', 'fields_repaired'))} / {f(get(cat, 'text', 'fields_marked'))}"],
            ["catalogue: fields with HTML entities decoded", get(cat, "text", "fields_with_entities")],
        ]
    miss = ins.get("missing_from_catalog")
    if isinstance(miss, dict) and miss.get("total_books"):
        rows.append(["rated books missing from the catalogue (their interactions)",
                     f"{f(miss.get('books'))} of {f(miss.get('total_books'))} "
                     f"({f(miss.get('ratings'))} of {f(miss.get('total_ratings'))})"])
    cells = [[k, v if isinstance(v, str) else f(v)] for k, v in rows]
    read = r.get("rows_read") or 0
    share = f"{100 * (r.get('implicit') or 0) / read:.0f}%" if read else "–"
    return {"cleaning_table": table(["", "Book-Crossing"], cells), "implicit_share": share}


def bx_rows(res: dict[str, Any]) -> list[dict[str, Any]]:
    return res.get("bx_eval") or []


def rating_rows(evals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The evaluations with an RMSE (ranking models' RMSE/MAE are null)."""
    return [e for e in evals if e.get("rmse") is not None]


def na(x: Any, digits: int = 4) -> str:
    """A metric that does not apply to the model (null in the results) reads "n/a"."""
    return "n/a" if x is None else f(x, digits)


def compare_rmse(rated: list[dict[str, Any]], a: str, b: str) -> str:
    """"beats"/"does not beat" model b's test RMSE, with both figures."""
    ea = next((e for e in rated if e["model"] == a), None)
    eb = next((e for e in rated if e["model"] == b), None)
    if ea is None or eb is None:
        return "was not measured"
    verb = "beats" if ea["rmse"] < eb["rmse"] else "does not beat"
    return f"{verb} {label(b)} on RMSE here ({f(ea['rmse'])} vs {f(eb['rmse'])})"


def section_bx(res: dict[str, Any]) -> dict[str, str]:
    evals = bx_rows(res)
    rated = rating_rows(evals)
    if not rated:
        return {"bx_accuracy_table": NOT_MEASURED, "bx_ranking_table": NOT_MEASURED,
                "bx_split": NOT_MEASURED, "bx_best": NOT_MEASURED, "ranking_k": "10",
                "relevance_threshold": "–", "ranking_users": "–", "worse_than_baseline": "–",
                "bx_best_rmse": "–", "svdpp_vs_svd": "was not measured"}
    base = next((e for e in rated if e["model"] == "mean"), None)
    acc = []
    for e in evals:
        gain = ("–" if base is None or e.get("rmse") is None
                else f"{100 * (1 - e['rmse'] / base['rmse']):+.1f}%")
        acc.append([label(e["model"]), na(e.get("rmse")), na(e.get("mae")), gain,
                    secs(e["fit_seconds"]), secs(e["predict_seconds"])])
    rank = []
    for e in evals:
        r = e.get("ranking") or {}
        rank.append([label(e["model"])] + [f(r.get(k)) for k in RANKING])
    first = rated[0]
    r0 = first.get("ranking") or {}
    baseline = next((e for e in rated if e["model"] == "baseline"), None)
    worse = [] if baseline is None else [
        f"{label(e['model'])}: {f(e['rmse'])} vs {f(baseline['rmse'])}"
        # Worse as printed (4 decimals): a difference the table cannot show is no difference.
        for e in rated if e["model"] not in ("mean", "baseline")
        and round(e["rmse"], 4) > round(baseline["rmse"], 4)]
    best = min(rated, key=lambda e: e["rmse"])
    best_rank = max(evals, key=lambda e: (e.get("ranking") or {}).get("ndcg", -1))
    return {
        "bx_accuracy_table": table(
            ["model", "RMSE", "MAE", "RMSE vs mean", "fit (s)", "predict (s)"], acc),
        "bx_ranking_table": table(["model"] + [k.replace("_", " ") for k in RANKING], rank),
        "bx_split": (f"{f(first['n_train'])} training and {f(first['n_test'])} test ratings "
                     f"({f(first['n_unknown_user'])} test ratings by users and "
                     f"{f(first['n_unknown_item'])} of books absent from training, which get the "
                     "model's fallback prediction)"),
        "bx_best": (f"lowest RMSE: {label(best['model'])} ({f(best['rmse'])}); best NDCG@"
                    f"{r0.get('k', 10)}: {label(best_rank['model'])} "
                    f"({f((best_rank.get('ranking') or {}).get('ndcg'))})"),
        "bx_best_rmse": f"{label(best['model'])}, {f(best['rmse'])}",
        "svdpp_vs_svd": compare_rmse(rated, "svdpp", "svd"),
        "worse_than_baseline": "; ".join(worse) or "none in this run",
        "ranking_k": str(r0.get("k", 10)),
        "relevance_threshold": f(r0.get("relevance_threshold"), 1),
        "ranking_users": f(r0.get("users_evaluated")),
    }


def section_interactions(res: dict[str, Any]) -> dict[str, str]:
    """Ranking on held-out interactions (`--split interactions --relevance interactions`)."""
    evals = res.get("bx_interactions") or []
    if not evals:
        return {"inter_table": NOT_MEASURED, "inter_split": NOT_MEASURED,
                "inter_best": "this was not measured",
                "inter_users": "–", "inter_k": "10"}
    ordered = sorted(evals, key=lambda e: -(e.get("ranking") or {}).get("ndcg", -1))
    rows = []
    for e in ordered:
        r = e.get("ranking") or {}
        rows.append([label(e["model"])] + [f(r.get(k)) for k in RANKING]
                    + [na(e.get("rmse")), secs(e["fit_seconds"])])
    k = (ordered[0].get("ranking") or {}).get("k", 10)
    header = (["model", f"P@{k}", f"R@{k}", f"NDCG@{k}", f"MAP@{k}", "hit rate", "coverage",
               "RMSE (explicit test rows)", "fit (s)"])
    best, second = ordered[0], (ordered[1] if len(ordered) > 1 else None)
    nd = (best.get("ranking") or {}).get("ndcg")
    text = f"{label(best['model'])} ranks best (NDCG@{k} {f(nd)}"
    if second is not None:
        nd2 = (second.get("ranking") or {}).get("ndcg")
        ratio = f", {nd / nd2:.1f}× the next, {label(second['model'])}" if nd and nd2 else ""
        text += ratio
    rated = [e for e in evals if e.get("rmse") is not None]
    if rated and nd:
        top_rated = max(rated, key=lambda e: (e.get("ranking") or {}).get("ndcg", -1))
        nd3 = (top_rated.get("ranking") or {}).get("ndcg")
        if top_rated is not best and nd3:
            text += (f"; {nd / nd3:.1f}× the best rating model, {label(top_rated['model'])}, "
                     f"NDCG@{k} {f(nd3)}")
    text += ")"
    first = evals[0]
    return {
        "inter_table": table(header, rows),
        "inter_split": (f"of the explicit ratings, {f(first.get('n_train'))} stay in training "
                        f"and {f(first.get('n_test'))} are held out"),
        "inter_users": f((first.get("ranking") or {}).get("users_evaluated")),
        "inter_best": text,
        "inter_k": str(k),
    }


def section_synth(res: dict[str, Any]) -> dict[str, str]:
    synth = res.get("synthetic") or []
    if not synth:
        return {"synth_table": NOT_MEASURED, "synth_noise": "–", "synth_floor": "–"}
    rows = []
    for s in synth:
        for e in s["eval"]:
            per_m = e["fit_seconds"] / (e["n_train"] / 1e6)
            rows.append([f(s["ratings"]), f(s["users"]), f(s["books"]), label(e["model"]),
                         f(e["rmse"]), f(e["mae"]), secs(e["fit_seconds"]), f"{per_m:.2f}"])
    noise = synth[0]["synth"].get("noise_std")
    floor = ", ".join(f(s["synth"].get("true_rmse_floor"), 3) for s in synth)
    return {
        "synth_table": table(["ratings", "users", "books", "model", "RMSE", "MAE", "fit (s)",
                              "fit s per 1M train ratings"], rows),
        "synth_noise": f(noise, 2) if isinstance(noise, (int, float)) else "–",
        "synth_floor": floor,
    }


def surprise_runs(cmp: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-split runs of compare_surprise.json: `runs` (one per seed), or the older
    single-split layout with `split` and `models` at the top level."""
    if isinstance(cmp.get("runs"), list):
        return [r for r in cmp["runs"] if r.get("models")]
    if cmp.get("models"):
        return [{"split": cmp.get("split", {}), "models": cmp["models"]}]
    return []


def speedups_by_model(runs: list[dict[str, Any]], key: str) -> dict[str, list[float]]:
    """Per bookrec model, its `key` figure (`speedup`, `speedup_cold`) from every run that has it."""
    out: dict[str, list[float]] = {}
    for run in runs:
        for m in run["models"]:
            if key in m:
                out.setdefault(m["bookrec_model"], []).append(m[key])
    return out


def span(v: list[float]) -> str:
    """A range of speed-ups, "25–28×" (one figure when both ends round alike)."""
    lo, hi = f"{min(v):.0f}", f"{max(v):.0f}"
    return f"{lo}×" if lo == hi else f"{lo}–{hi}×"


def section_surprise(ext: dict[str, Any]) -> dict[str, str]:
    cmp: dict[str, Any] = ext.get("compare_surprise") or {}
    runs = surprise_runs(cmp)
    if not runs:
        return {"surprise_table": NOT_MEASURED, "surprise_meta": "", "surprise_target": "was not measured"}
    rows = []
    for run in runs:
        seed = str(run.get("split", {}).get("seed", "?"))
        for m in run["models"]:
            rows.append([seed, f"{m['bookrec_model']} / {m['surprise_model']}", f(m["bookrec_rmse"]),
                         f(m["surprise_rmse"]), f(m["bookrec_mae"]), f(m["surprise_mae"]),
                         secs(m["bookrec_fit_s"]), secs(m["surprise_fit_s"]), f"{m['speedup']:.0f}×"])
    split = runs[0].get("split", {})
    load_avg = cmp.get("loadavg_start")
    meta = (f"Measured by `make compare` (bench/compare_surprise.py) on {cmp.get('date', '?')}, "
            f"{cmp.get('cpus', '?')} CPUs"
            + (f", load average {load_avg[0]:.1f} at the start" if load_avg else "")
            + f"; split of {f(split.get('n_train'))} / {f(split.get('n_test'))} ratings per seed; "
            "both libraries read the same two files.")
    load = cmp.get("load")
    if load:
        meta += (f" Loading the ratings file: pandas `read_csv` alone {secs(load.get('pandas_read_csv_s'))} s, "
                 f"`bookrec inspect` (parse and full cleaning) {secs(load.get('bookrec_inspect_s'))} s.")
    rss = cmp.get("bookrec_svd_peak_rss_mb")
    if rss:
        meta += f" Peak memory of `bookrec evaluate --model svd`: {rss:.0f} MB."
    cold = speedups_by_model(runs, "speedup_cold")
    if cold:
        meta += (" Fit times are medians of 3 alternated fits per side, each right after an untimed "
                 "fit of the same side (memory that sat free for seconds is slower to touch on this "
                 "VM); the first, cold fits give speed-ups of "
                 + ", ".join(f"{name} {span(v)}" for name, v in cold.items()) + ".")
    speedups = speedups_by_model(runs, "speedup")
    fast = [name for name, v in speedups.items() if min(v) >= 30]
    slow = [f"{name} ({span(v)})" if round(min(v)) != round(max(v)) else f"{name} ({min(v):.0f}×)"
            for name, v in speedups.items() if min(v) < 30]
    names = " and ".join(filter(None, [", ".join(fast[:-1]), fast[-1]])) if fast else "no model"
    ordered = surprise_runs(ext.get("compare_surprise_file_order") or {})
    if ordered:
        in_order = speedups_by_model(ordered, "speedup")
        meta += (" On the same splits written in the file's order (sorted by user; "
                 "`bench/compare_surprise.py --keep-order`), Surprise fits about twice as fast "
                 "(its factor rows are then touched in order) and the speed-ups are "
                 + ", ".join(f"{name} {span(v)}" for name, v in in_order.items())
                 + ".")
        slow_in_order = [name for name, v in in_order.items() if min(v) < 30]
    else:
        slow_in_order = []
    target = (f"is met for {names}"
              + (f" but not for {', '.join(slow)}" if slow else "")
              + (f" on shuffled splits; on the same splits in file order it is not met for "
                 f"{' and '.join(slow_in_order)}" if slow_in_order else ""))
    return {
        "surprise_target": target,
        "surprise_table": table(["seed", "bookrec / Surprise", "RMSE bookrec", "RMSE Surprise",
                                 "MAE bookrec", "MAE Surprise", "fit bookrec (s)",
                                 "fit Surprise (s)", "fit speed-up"], rows),
        "surprise_meta": meta,
    }


def fmt_param(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def section_tune(res: dict[str, Any], ext: dict[str, Any]) -> dict[str, str]:
    """One row per `bookrec tune` result: the search (CV on the training part) and, from this
    report's run, the defaults and the best parameters scored once on the held-out test part."""
    tunes = ext.get("tune")
    if not tunes:
        return {"tune_table": NOT_MEASURED, "tune_protocol": "", "tune_goal": "was not measured",
                "tune_goal_item": ""}
    hold = res.get("tune_holdout") or {}
    rows, tested, cv = [], [], []
    for key, t in tunes.items():
        best = t["trials"][t["best"]]
        seed = str(t.get("seed", 0))
        default = ((hold.get("defaults") or {}).get(seed) or {}).get(t["model"])
        tuned = (hold.get("tuned") or {}).get(key)
        # A tuned score only counts if it was measured with this file's best parameters.
        tuned_eval = tuned["eval"] if tuned and tuned.get("flags") == tuned_flags(t) else None
        if tuned_eval is not None:
            tested.append((tuned_eval["rmse"], t["model"], key))
        cv.append((best["mean"], t["model"], key))
        params = ", ".join(f"{k} {fmt_param(v)}" for k, v in best["params"].items())
        rows.append([f"{t['model']} (`{key}`)", na(default and default.get("rmse")),
                     f"{len(t['trials'])} × {t.get('folds', '?')}-fold {t.get('strategy', '')}",
                     secs(t.get("seconds")), f"{f(best['mean'])} ± {f(best['std'])}",
                     na(tuned_eval and tuned_eval.get("rmse")), params])
    first = next(iter(tunes.values()))
    n_test = next((e["n_test"] for e in ((hold.get("defaults") or {}).get(str(first.get("seed", 0)))
                                         or {}).values()), None)
    protocol = (f"Protocol: the explicit ratings' random 80/20 split with seed {first.get('seed', 0)}; "
                f"the search sees only the {f(first.get('n_ratings'))} training ratings "
                "(k-fold cross-validation on them, the same folds for every trial); the best "
                "parameters are then fitted on the whole training part and scored once on the "
                + (f"{f(n_test)} " if n_test else "")
                + "test ratings, which the search never saw (this report's run re-scores them, "
                "and the defaults, on that split). Search times are wall time on the shared "
                "machine at the time of the search.")
    if tested:
        rmse, model, key = min(tested)
        goal = (f"is **{'met' if rmse <= RMSE_GOAL else 'not met'}**: the best tuned test RMSE is "
                f"{f(rmse)} ({model}, `{key}`), against the goal ≤ {RMSE_GOAL}")
    else:
        rmse, model, key = min(cv)
        goal = (f"cannot be checked on the test part (not re-scored in this run); the best "
                f"cross-validated RMSE is {f(rmse)} ({model}, `{key}`) against the goal "
                f"≤ {RMSE_GOAL}")
    missed = not tested or min(tested)[0] > RMSE_GOAL
    return {
        "tune_goal_item": (f"- **Tuning to test RMSE ≤ {RMSE_GOAL}** (§8): the goal {goal}.\n"
                           if missed else ""),
        "tune_table": table(["model (result)", "defaults: test RMSE", "trials", "search (s)",
                             "best CV RMSE (train only)", "tuned: test RMSE", "best parameters"],
                            rows),
        "tune_protocol": protocol,
        "tune_goal": goal,
    }


def spark_fit(run: dict[str, Any]) -> float | None:
    """The Spark path's fit time: `fit_seconds` when recorded, else its bias + ALS stages."""
    if run.get("fit_seconds") is not None:
        return float(run["fit_seconds"])
    t = run.get("timings") or {}
    if "als_seconds" not in t:
        return None
    return float(t["als_seconds"]) + float(t.get("bias_seconds", 0))


def section_spark(ext: dict[str, Any]) -> dict[str, str]:
    """bench/results/spark.json (bench/spark_vs_native.py): the native ALS against the PySpark
    path on Book-Crossing, and fit times on synthetic sets."""
    sp = ext.get("spark")
    bx = (sp or {}).get("book_crossing")
    if not sp or not bx:
        return {"spark_bx_table": NOT_MEASURED, "spark_synth_table": "", "spark_meta": "",
                "spark_verdict": ""}
    nat, spk = bx.get("native", {}), bx.get("spark", {})
    gap = spk.get("rmse", 0) - nat.get("rmse", 0)
    within = abs(gap) <= SPARK_TOLERANCE
    params = " ".join(x for x in bx.get("params", []) if x != "-p")
    bx_table = table(
        ["Book-Crossing ALS", "RMSE", "MAE", "fit (s)", "wall (s)"],
        [["native `bookrec` als", f(nat.get("rmse")), f(nat.get("mae")),
          secs(nat.get("fit_seconds")), secs(nat.get("wall_seconds"))],
         [f"Spark path ({spk.get('master', '?')})", f(spk.get("rmse")), f(spk.get("mae")),
          secs(spark_fit(spk)), secs(spk.get("wall_seconds"))]])
    verdict = (f"RMSE(Spark) − RMSE(native) = {gap:+.4f}: "
               + (f"within the ±{SPARK_TOLERANCE} tolerance" if within else
                  f"outside the ±{SPARK_TOLERANCE} tolerance, with the Spark path "
                  f"{'better' if gap < 0 else 'worse'}")) + "."
    rows = []
    for size, s in sorted((sp.get("synth") or {}).items(), key=lambda kv: int(kv[0])):
        n, k = s.get("native") or {}, s.get("spark") or {}
        ratio = s.get("spark_over_native_fit")
        rows.append([f(s.get("ratings")), f(s.get("users")), f(s.get("books")),
                     secs(n.get("fit_seconds")), secs(n.get("wall_seconds")),
                     secs(k.get("fit_seconds")), secs(k.get("wall_seconds")),
                     f"{ratio:.1f}×" if isinstance(ratio, (int, float)) else "–",
                     str(s.get("load_avg_after", "–"))])
    synth_table = table(["synthetic ratings", "users", "books", "native fit (s)",
                         "native wall (s)", "Spark fit (s)", "Spark wall (s)",
                         "Spark / native fit", "load avg after"], rows) if rows else ""
    t = spk.get("timings") or {}
    stages = ", ".join(f"{k.removesuffix('_seconds')} {secs(v)}" for k, v in t.items()
                       if k != "total_seconds")
    meta = (f"Book-Crossing split: {bx.get('split', '?')} ({f(bx.get('n_train'))} / "
            f"{f(bx.get('n_test'))} ratings), parameters {params or 'defaults'}; Spark's fit "
            f"time is its bias and ALS stages (all stages, s: {stages}). Load average after the "
            f"Book-Crossing run: {bx.get('load_avg_after', '?')} "
            f"on {(sp.get('machine') or {}).get('cores', '?')} cores.")
    return {"spark_bx_table": bx_table, "spark_synth_table": synth_table, "spark_meta": meta,
            "spark_verdict": verdict}


def section_machine(res: dict[str, Any]) -> dict[str, str]:
    m = res.get("machine", {})
    ram = m.get("ram_gb")
    return {
        "date": res.get("date", "?"),
        "machine": (f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores, "
                    f"{ram:.1f} GB RAM" if ram else f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores"),
        "os": m.get("os", "?"),
        "load": (f"{', '.join(map(str, res.get('load_before', [])))} before, "
                 f"{', '.join(map(str, res.get('load_after', [])))} after"),
        "bookrec_version": res.get("bookrec", "?"),
        "binary": res.get("binary", "?"),
        "build": ("release build" if "release" in res.get("binary", "") else
                  "dev build (opt-level 2, no LTO: slower than `make report`'s release build)"),
        "commit": res.get("commit") or "?",
        "seed": str(res.get("seed", "?")),
        "extra_model_rows": "\n".join(
            EXTRA_MODEL_ROWS[m] for m in res.get("models", []) if m in EXTRA_MODEL_ROWS),
        "models_missing": (", ".join(label(m) for m in res.get("models_missing", [])) or "none"),
    }


def plots(res: dict[str, Any], ext: dict[str, Any]) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(DOCS, exist_ok=True)
    out: dict[str, str] = {}

    def save(fig: Any, name: str) -> str:
        path = os.path.join(DOCS, name)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return f"![{name}](docs/report/{name})"

    ins = res.get("bx_inspect")
    if ins and ins["ratings"].get("histogram"):
        hist = ins["ratings"]["histogram"]
        xs = [h.get("value", h.get("lo")) for h in hist]
        ys = [h["count"] for h in hist]
        fig, ax = plt.subplots(figsize=(6, 3.2))
        ax.bar(xs, ys, color="tab:blue", label="explicit")
        ax.bar([0], [ins["ratings"].get("implicit", 0)], color="tab:gray", label="implicit (0)")
        ax.set(xlabel="rating", ylabel="count", title="Book-Crossing ratings")
        ax.legend()
        out["fig_ratings"] = save(fig, "ratings.png")
    else:
        out["fig_ratings"] = ""

    evals = bx_rows(res)
    rated = rating_rows(evals)
    if rated:
        names = [e["model"] for e in rated]
        fig, ax = plt.subplots(1, 2, figsize=(11, 3.4))
        x = range(len(names))
        ax[0].bar([i - 0.2 for i in x], [e["rmse"] for e in rated], 0.4, label="RMSE")
        ax[0].bar([i + 0.2 for i in x], [e["mae"] for e in rated], 0.4, label="MAE")
        lo = min(e["mae"] for e in rated)
        ax[0].set(xticks=list(x), xticklabels=names, ylim=(lo * 0.9, None),
                  title="Test error (lower is better)")
        ax[0].legend()
        ax[1].bar([e["model"] for e in evals], [e["fit_seconds"] for e in evals], color="tab:green")
        ax[1].set(yscale="log", ylabel="seconds", title="Fit time (log scale)")
        ax[1].tick_params(axis="x", labelrotation=30)
        out["fig_accuracy"] = save(fig, "accuracy.png")
        names = [e["model"] for e in evals]
        x = range(len(names))

        metrics = [k for k in ("precision", "recall", "ndcg", "hit_rate") if evals[0].get("ranking")]
        if metrics:
            fig, ax = plt.subplots(figsize=(11, 3.4))
            w = 0.8 / len(metrics)
            for j, k in enumerate(metrics):
                ax.bar([i + (j - (len(metrics) - 1) / 2) * w for i in x],
                       [(e.get("ranking") or {}).get(k, 0) for e in evals], w, label=k)
            ax.set(xticks=list(x), xticklabels=names,
                   title=f"Ranking @ {evals[0]['ranking']['k']} (higher is better)")
            ax.legend()
            out["fig_ranking"] = save(fig, "ranking.png")
        else:
            out["fig_ranking"] = ""
    else:
        out["fig_accuracy"] = out["fig_ranking"] = ""

    inter = sorted(res.get("bx_interactions") or [],
                   key=lambda e: -(e.get("ranking") or {}).get("ndcg", 0))
    if inter:
        k = (inter[0].get("ranking") or {}).get("k", 10)
        fig, ax = plt.subplots(figsize=(7, 3.2))
        colors = ["tab:orange" if e.get("rmse") is None else "tab:blue" for e in inter]
        ax.bar([e["model"] for e in inter], [(e.get("ranking") or {}).get("ndcg", 0) for e in inter],
               color=colors)
        ax.set(ylabel=f"NDCG@{k}",
               title=f"Held-out interactions: NDCG@{k} (orange: ranking models)")
        out["fig_interactions"] = save(fig, "interactions.png")
    else:
        out["fig_interactions"] = ""

    synth = res.get("synthetic") or []
    if synth:
        fig, ax = plt.subplots(figsize=(6, 3.4))
        models = [e["model"] for e in synth[0]["eval"]]
        for m in models:
            pts = [(s["ratings"], next(e["fit_seconds"] for e in s["eval"] if e["model"] == m))
                   for s in synth]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=m)
        ax.set(xscale="log", yscale="log", xlabel="ratings", ylabel="fit seconds",
               title="Fit time on synthetic data")
        ax.legend()
        out["fig_synth"] = save(fig, "synthetic.png")
    else:
        out["fig_synth"] = ""

    cmp = ext.get("compare_surprise")
    runs = surprise_runs(cmp) if cmp else []
    if runs:
        ms = runs[0]["models"]
        fig, ax = plt.subplots(figsize=(6, 3.2))
        names = [m["bookrec_model"] for m in ms]
        x = range(len(ms))
        ax.bar([i - 0.2 for i in x], [m["bookrec_fit_s"] for m in ms], 0.4, label="bookrec")
        ax.bar([i + 0.2 for i in x], [m["surprise_fit_s"] for m in ms], 0.4, label="Surprise")
        ax.set(xticks=list(x), xticklabels=names, yscale="log", ylabel="fit seconds",
               title=f"Fit time, same split (seed {runs[0].get('split', {}).get('seed', '?')}, log scale)")
        ax.legend()
        out["fig_surprise"] = save(fig, "surprise.png")
    else:
        out["fig_surprise"] = ""
    return out


def render(results_path: str) -> None:
    with open(results_path) as fh:
        res = json.load(fh)
    ext = external_results()
    values: dict[str, str] = {}
    values.update(section_machine(res))
    values.update(section_cleaning(res))
    values.update(section_bx(res))
    values.update(section_synth(res))
    values.update(section_surprise(ext))
    values.update(section_interactions(res))
    values.update(section_spark(ext))
    values.update(section_tune(res, ext))
    values.update(plots(res, ext))
    values["results_file"] = os.path.relpath(results_path, ROOT)
    with open(TEMPLATE) as fh:
        text = fh.read()
    missing = set()

    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in values:
            missing.add(key)
            return m.group(0)
        return values[key]

    text = re.sub(r"\{\{(\w+)\}\}", sub, text)
    if missing:
        sys.exit(f"report: the template uses unknown placeholders: {', '.join(sorted(missing))}")
    header = ("<!-- Generated by scripts/report.py from docs/report/REPORT.template.md and "
              f"{values['results_file']}; edit the template, then `make report-render`. -->\n")
    with open(REPORT, "w") as fh:
        fh.write(header + text)
    print(f"report: wrote {os.path.relpath(REPORT, ROOT)} and figures in docs/report/", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--render", action="store_true", help="render only, from the results file")
    ap.add_argument("--bookrec", default=os.path.join(ROOT, "target", "release", "bookrec"))
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "book-crossing"))
    ap.add_argument("--results", default=os.path.join(ROOT, "bench", "results", "report.json"))
    ap.add_argument("--synth-sizes", default="1000000,4000000",
                    type=lambda s: [int(x) for x in s.split(",") if x])
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    if not args.render:
        res = run_experiments(args)
        os.makedirs(os.path.dirname(args.results), exist_ok=True)
        with open(args.results, "w") as fh:
            json.dump(res, fh, indent=1)
        print(f"report: wrote {os.path.relpath(args.results, ROOT)}", file=sys.stderr)
    elif not os.path.isfile(args.results):
        sys.exit(f"report: {args.results} does not exist; run `make report` first")
    render(args.results)


if __name__ == "__main__":
    main()
