"""Samples Book-Crossing works with two or more rated editions, for checking the work rule by eye.

A transcription of the rule in crates/bookrec-core/src/data/works.rs (title without (...) and
[...] parts and without the subtitle after ':' or ';', lower-case letters and digits, + the
author's surname); prints counts and random groups (seeded) to read.

    python3 bench/works_sample.py ../shared/data/book-crossing 60 16
"""

import collections
import csv
import html
import random
import re
import sys

SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "phd", "md", "esq"}


def norm(s: str) -> str:
    return "".join(c for c in s.lower() if c.isalnum())


def surname(author: str) -> str:
    a = author.lower()
    for sep in (" and ", " & ", ";", "/"):
        a = a.split(sep)[0]
    if "," in a:
        s = norm(a.split(",")[0])
        if s and s not in SUFFIXES:
            return s
    words = [w for w in (norm(w) for w in re.split(r"[\s.,]", a)) if w and w not in SUFFIXES]
    return words[-1] if words else ""


def work_title(title: str) -> str:
    out, depth = [], 0
    for c in title:
        if c in "([":
            depth += 1
        elif c in ")]":
            depth = max(0, depth - 1)
        elif c in ":;" and depth == 0:
            break
        elif depth == 0:
            out.append(c)
    s = norm("".join(out))
    return s or norm(title)


def main() -> None:
    root, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    counts: collections.Counter[str] = collections.Counter()
    with open(f"{root}/BX-Book-Ratings.csv", encoding="latin-1") as f:
        for row in csv.reader(f, delimiter=";"):
            if row[2] != "0":
                counts[row[1].strip().upper()] += 1
    groups = collections.defaultdict(list)
    with open(f"{root}/BX-Books.csv", encoding="latin-1") as f:
        rows = list(csv.reader(f, delimiter=";"))[1:]
    for r in rows:
        t, s = work_title(html.unescape(r[1])), surname(html.unescape(r[2]))
        if t and s:
            groups[(t, s)].append(r)
    multi = [g for g in groups.values() if len(g) > 1]
    rated = [g for g in multi if sum(1 for r in g if counts[r[0]] > 0) >= 2]
    differing = [g for g in rated if len({norm(html.unescape(r[1])) for r in g}) > 1]
    print(f"{len(rows)} catalogue rows, {len(groups)} works, {len(multi)} with several editions, "
          f"{len(rated)} with two or more rated editions, {len(differing)} of them with "
          f"differently written titles")
    random.seed(seed)
    for name, pool in (("any", rated), ("titles differ", differing)):
        print(f"=== {n} groups ({name})")
        for g in random.sample(pool, n):
            print("----")
            for r in g[:5]:
                print(f"  {r[0]} | {html.unescape(r[1])[:80]} | {r[2]} | {counts[r[0]]} ratings")


if __name__ == "__main__":
    main()
