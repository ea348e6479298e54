#!/usr/bin/env bash
# Scores all 15,625 NAS-Bench-201 cells with the six data proxies, in 16 shards one after
# another, and correlates what is done with the benchmark. Resumable: run it again after a
# kill or a reboot and finished shards are skipped, a partial shard keeps its complete rows.
# The README's whole-space table comes from this. Usage: bench/whole_space.sh OUTDIR
# (default bench/results/nb201-data6, where finished shards are committed, so that the run
# continues on another machine); NICE=19 runs it at the lowest priority, FREEDARTS=PATH with
# another binary (a copy, so that rebuilding does not change it mid-run). While it runs, do not
# `git stash` or check out: git replaces the shard file, and the run goes on appending to the
# old, deleted one (its rows can still be copied from /proc/PID/fd/3 before the run ends).
# Everything is inside `main`, which bash reads whole before running it, so editing this file
# while it runs does not change what the running copy does.
set -euo pipefail

main() {
    cd "$(dirname "$0")/.."
    out=${1:-bench/results/nb201-data6}
    data=${DATA:-../shared/data/cifar10/train_first200_exact.bin}
    benchmark=${BENCHMARK:-../shared/data/nb201/accuracies.csv}
    fd=${FREEDARTS:-./target/release/freedarts}
    [ -x "$fd" ] || { echo "error: $fd not found: run cargo build --release first" >&2; exit 1; }
    [ -e "$data" ] || { echo "error: $data not found: set DATA to a CIFAR-10 batch file or folder" >&2; exit 1; }
    mkdir -p "$out"
    for i in $(seq 0 15); do
        shard=$(printf '%s/shard-%02d-of-16.jsonl' "$out" "$i")
        echo "shard $i start $(date -u +%FT%TZ)" >> "$out/times.log"
        # Paused by killing the score process (`pkill -f 'score --archs all'`): the stretch is
        # logged as stopped, and the next run goes on from the shard's complete rows.
        if ! nice -n "${NICE:-0}" $fd score --archs all --shard "$i/16" \
            --proxy snip,grasp,fisher,grad_norm,jacob_cov,nwot --data "$data" -o "$shard" -j 2 -q; then
            echo "shard $i stop $(date -u +%FT%TZ)" >> "$out/times.log"
            exit 1
        fi
        echo "shard $i end $(date -u +%FT%TZ)" >> "$out/times.log"
    done
    $fd correlate "$out"/shard-*-of-16.jsonl --benchmark "$benchmark" -o "$out/correlation.json"
    # The run's wall time for the README: each end or stop minus the start before it. A stretch
    # cut off by a lost machine (or by killing this script rather than the score process) has
    # neither, and is not counted; rerunning a finished shard adds a start and an end a second
    # apart.
    seconds() {
        date -ud "$1" +%s 2>/dev/null ||
            { echo "error: $out/times.log: '$1' is not a time" >&2; return 1; }
    }
    total=0
    start=
    while read -r _ _ what at; do
        case $what in
            start) start=$(seconds "$at") ;;
            end | stop)
                if [ -n "$start" ]; then
                    end=$(seconds "$at")
                    total=$((total + end - start))
                fi
                start=
                ;;
        esac
    done < "$out/times.log"
    echo "wall time of the shards' finished stretches: $((total / 3600)) h $((total % 3600 / 60)) min"
}

main "$@"
exit
