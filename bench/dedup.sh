#!/bin/sh
# `make bench-dedup` (BENCH_DEDUP_N="10000000 100000000"): the message-id
# index (src/dedup.c) and its predecessor, the in-memory map, each in its own
# process, for each N: inserts/s and peak RSS. The index's files go to a
# temporary directory (TMPDIR), removed at the end. Not part of `make test`.
#   sh bench/dedup.sh BIN N...
set -eu
bin=$1
shift
tmp=$(mktemp -d "${TMPDIR:-/tmp}/uptake-bench-dedup-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for n in "$@"; do
    for mode in map index; do
        rm -rf "$tmp"/*
        "$bin" "$mode" "$n" "$tmp"
    done
done
