#!/usr/bin/env bash
# Scale check: seconds per epoch of `svd` and per iteration of `als` on synthetic data of
# growing size (planted rank 10, noise 1.0), to see that training is linear in ratings.
# Each model is fitted with two epoch (iteration) counts, a and b: the marginal cost
# (fit_b − fit_a)/(b − a) is the time of one epoch without the set-up (factor allocation and
# initialisation, grid or index building), which is fit_a − a·marginal.
# Usage: bench/synth_scale.sh [SIZES...]   (default: 5000000 20000000); needs a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
bookrec=${BOOKREC:-target/release/bookrec}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(5000000 20000000)
fit() { # model param count → fit seconds
    "$bookrec" train --ratings "$tmp/s.csv" --model "$1" -p "$2=$3" --out "$tmp/m.bkr" --json |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["training_metrics"]["fit_seconds"])'
}
printf '%-10s %-6s %-8s %10s %10s %12s %10s\n' ratings model epochs fit_a_s fit_b_s s_per_epoch setup_s
for n in "${sizes[@]}"; do
    users=$((n / 20)); books=$((n / 100))
    "$bookrec" synth --users "$users" --books "$books" --ratings "$n" --out "$tmp/s.csv" --json > /dev/null
    for spec in "svd epochs 5 10" "als iterations 2 4"; do
        set -- $spec
        fa=$(fit "$1" "$2" "$3"); fb=$(fit "$1" "$2" "$4")
        python3 -c "
m = ($fb - $fa) / ($4 - $3)
print(f'{$n:<10} {\"$1\":<6} {\"$3/$4\":<8} {$fa:>10.2f} {$fb:>10.2f} {m:>12.3f} {$fa - $3 * m:>10.2f}')"
    done
done
