#!/usr/bin/env python3
"""Training on ISBN rows vs on works (`--items isbn|works`), side by side on the same splits.

Runs `bookrec evaluate --books BX-Books.csv` twice per protocol, once per item level, with the
same seed, so both levels are scored on the same held-out ratings: the split is made on the
file's ISBN rows, then held-out editions are merged into their training works for both levels,
and lists are ranked as works (one edition per work, catalogued books only; a hit when any
edition of a held-out work is listed). Two protocols:

- ratings: a random 80/20 split; RMSE/MAE, and NDCG@10 / recall@10 with a held-out rating
  >= 7.3 as relevant (svd, hybrid);
- interactions: `--split interactions --relevance interactions` (svd, ials, hybrid).

Usage:  python3 bench/works_vs_isbn.py [--bookrec PATH] [--data DIR] [--seed 42]
            [--duplicates mean] [--json OUT.json]
Prints a Markdown table; --json keeps every report.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

PROTOCOLS = {
    "ratings": (["--split", "random"], "svd,hybrid"),
    "interactions": (["--split", "interactions", "--relevance", "interactions"], "svd,ials,hybrid"),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bookrec", default=os.path.join(ROOT, "target", "release", "bookrec"))
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "book-crossing"))
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--duplicates", default="mean", help="how a reader's ratings of several editions merge")
    ap.add_argument("--json", help="write every report here")
    args = ap.parse_args()
    ratings = os.path.join(args.data, "BX-Book-Ratings.csv")
    books = os.path.join(args.data, "BX-Books.csv")
    rows, everything = [], {}
    for protocol, (flags, models) in PROTOCOLS.items():
        for level in ("isbn", "works"):
            cmd = [args.bookrec, "evaluate", "--ratings", ratings, "--books", books, "--items", level,
                   "--duplicates", args.duplicates, "--model", models, "--seed", str(args.seed),
                   "--json", *flags]
            print("$", " ".join(cmd), file=sys.stderr, flush=True)
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0:
                sys.exit(f"bookrec failed ({p.returncode}):\n{p.stderr}")
            reports = json.loads(p.stdout)
            reports = reports if isinstance(reports, list) else [reports]
            everything[f"{protocol}/{level}"] = reports
            for r in reports:
                m = r.get("ranking") or {}
                rows.append((protocol, r["model"], level, r["n_train"], r["n_test"], r["rmse"], r["mae"],
                             m.get("ndcg"), m.get("recall"), m.get("hit_rate"), m.get("coverage"),
                             r["fit_seconds"]))
    rows.sort(key=lambda t: (list(PROTOCOLS).index(t[0]), t[1], t[2]))
    fmt = lambda v, d=4: "n/a" if v is None or v != v else f"{v:.{d}f}"
    print("| protocol | model | items | train ratings | test ratings | RMSE | MAE | NDCG@10 | recall@10 | hit rate | coverage | fit s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for t in rows:
        print(f"| {t[0]} | {t[1]} | {t[2]} | {t[3]:,} | {t[4]:,} | {fmt(t[5])} | {fmt(t[6])} | {fmt(t[7])} | "
              f"{fmt(t[8])} | {fmt(t[9])} | {fmt(t[10])} | {fmt(t[11], 2)} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"seed": args.seed, "duplicates": args.duplicates, "reports": everything}, f, indent=1)


if __name__ == "__main__":
    main()
