#!/usr/bin/env bash
# Scale check: seconds per epoch of `svd` and per iteration of `als` on synthetic data of
# growing size (planted rank 10, noise 1.0), to see that training is linear in ratings.
# Usage: bench/synth_scale.sh [SIZES...]   (default: 5000000 20000000); needs a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
bookrec=${BOOKREC:-target/release/bookrec}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(5000000 20000000)
printf '%-10s %-6s %8s %10s %12s\n' ratings model epochs fit_s s_per_epoch
for n in "${sizes[@]}"; do
    users=$((n / 20)); books=$((n / 100))
    "$bookrec" synth --users "$users" --books "$books" --ratings "$n" --out "$tmp/s.csv" --json > /dev/null
    for spec in "svd epochs 5" "als iterations 3"; do
        set -- $spec
        fit=$("$bookrec" train --ratings "$tmp/s.csv" --model "$1" -p "$2=$3" --out "$tmp/m.bkr" --json |
              python3 -c 'import json,sys; print(json.load(sys.stdin)["training_metrics"]["fit_seconds"])')
        python3 -c "print(f'{$n:<10} {\"$1\":<6} {$3:>8} {$fit:>10.2f} {$fit/$3:>12.3f}')"
    done
done
