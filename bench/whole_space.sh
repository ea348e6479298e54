#!/usr/bin/env bash
# Scores all 15,625 NAS-Bench-201 cells with the six data proxies, in 16 shards one after
# another, and correlates what is done with the benchmark. Resumable: run it again after a
# kill or a reboot and finished shards are skipped, a partial shard keeps its complete rows.
# The README's whole-space table comes from this. Usage: bench/whole_space.sh [OUTDIR]
# (default bench/results/nb201-data6, where finished shards are committed, so that the run
# continues on another machine); bench/whole_space.sh --status [OUTDIR] prints how far the run
# is and how long the rest would take at the rate so far, and changes nothing. NICE=19 runs it
# at the lowest priority, FREEDARTS=PATH with another binary (a copy, so that rebuilding does
# not change it mid-run), PROXIES=a,b,... with other proxies (default the six data proxies; a
# run is one proxy list: resuming a shard with another is refused). While it runs, do not `git stash` or check out: git replaces the
# shard file, and the run goes on appending to the old, deleted one (its rows can still be
# copied from /proc/PID/fd/3 before the run ends). A relative OUTDIR is taken from the
# repository root.
# Everything is inside `main`, and its call and the `exit` after it are one line: bash parses a
# line whole before running it and never reads this file again, so editing the file while the
# script runs does not change what the running copy does.
set -euo pipefail

main() {
    cd "$(dirname "$0")/.."
    local show_status=
    case ${1:-} in
        --status) show_status=1; shift ;;
        -*)
            echo "error: unknown option $1 (usage: bench/whole_space.sh [--status] [OUTDIR])" >&2
            exit 2
            ;;
    esac
    out=${1:-bench/results/nb201-data6}
    if [ -n "$show_status" ]; then
        [ -d "$out" ] || { echo "error: $out not found: no run has written there" >&2; exit 1; }
        status "$out"
        return
    fi
    data=${DATA:-../shared/data/cifar10/train_first200_exact.bin}
    benchmark=${BENCHMARK:-../shared/data/nb201/accuracies.csv}
    fd=${FREEDARTS:-./target/release/freedarts}
    proxies=${PROXIES:-snip,grasp,fisher,grad_norm,jacob_cov,nwot}
    [ -x "$fd" ] || { echo "error: $fd not found: run cargo build --release first, or set FREEDARTS" >&2; exit 1; }
    [ -e "$data" ] || { echo "error: $data not found: set DATA to a CIFAR-10 batch file or folder" >&2; exit 1; }
    mkdir -p "$out"
    for i in $(seq 0 15); do
        shard=$(shard_file "$out" "$i")
        echo "shard $i start $(date -u +%FT%TZ)" >> "$out/times.log"
        # Paused by killing the score process (`pkill -f 'score --archs all'`): the stretch is
        # logged as stopped, and the next run goes on from the shard's complete rows.
        if ! nice -n "${NICE:-0}" $fd score --archs all --shard "$i/16" \
            --proxy "$proxies" --data "$data" -o "$shard" -j 2 -q; then
            echo "shard $i stop $(date -u +%FT%TZ)" >> "$out/times.log"
            exit 1
        fi
        echo "shard $i end $(date -u +%FT%TZ)" >> "$out/times.log"
    done
    $fd correlate "$out"/shard-*-of-16.jsonl --benchmark "$benchmark" -o "$out/correlation.json" \
        --markdown "$out/correlation.md"
    wall_time "$out/times.log"
    echo "wall time of the shards' finished stretches: $(hours "$logged")"
    echo "an independent check of the table (needs scipy): python3 bench/check_correlation.py" \
        "$out/correlation.json $out/shard-*-of-16.jsonl --benchmark $benchmark"
}

shard_file() { printf '%s/shard-%02d-of-16.jsonl' "$1" "$2"; }

# Seconds since the epoch of a time in times.log.
seconds() {
    date -ud "$1" +%s 2>/dev/null || { echo "error: $log: '$1' is not a time" >&2; return 1; }
}

hours() { echo "$(($1 / 3600)) h $(($1 % 3600 / 60)) min"; }

# The run's wall time: each end or stop minus the start before it, summed into `logged`. A
# stretch cut off by a lost machine (or by killing this script rather than the score process)
# has neither, and is not counted; rerunning a finished shard adds a start and an end a second
# apart. A start left open at the end of the log (the stretch running now) goes to `open`.
wall_time() {
    log=$1
    logged=0
    open=
    [ -e "$log" ] || return 0
    while read -r _ _ what at; do
        case $what in
            start) open=$(seconds "$at") ;;
            end | stop)
                if [ -n "$open" ]; then
                    logged=$((logged + $(seconds "$at") - open))
                fi
                open=
                ;;
        esac
    done < "$log"
}

# How far the run is, from the shard files and times.log alone (the first line of a shard is its
# header; a row cut off by a kill is not counted, as score does not count it on resuming).
status() {
    local out=$1 scored=0 rows i shard
    for i in $(seq 0 15); do
        shard=$(shard_file "$out" "$i")
        rows=0
        if [ -e "$shard" ]; then
            rows=$(($(grep -c '}$' "$shard") - 1))
            [ "$rows" -ge 0 ] || rows=0
        fi
        scored=$((scored + rows))
        printf 'shard %2d: %3d of %d\n' "$i" "$rows" $(((15625 - i + 15) / 16))
    done
    wall_time "$out/times.log"
    local elapsed=$logged
    if [ -n "$open" ] && pgrep -f "score --archs all.*$out/shard-" >/dev/null; then
        elapsed=$((elapsed + $(date -u +%s) - open))
    fi
    echo "cells scored: $scored of 15625 ($((scored * 100 / 15625)) %)"
    echo "wall time so far: $(hours "$elapsed") (finished stretches: $(hours "$logged"))"
    if [ "$scored" -gt 0 ] && [ "$elapsed" -gt 0 ]; then
        echo "left at this rate: $(hours $(((15625 - scored) * elapsed / scored)))"
    fi
}

main "$@"; exit
