#!/bin/sh
# Builds anchorcheck and the bench in release mode, then runs the whole benchmark.
# Flags are passed through to bench-run (see bench/README.md), e.g. `bench/run.sh --runs 5`.
set -eu
cd "$(dirname "$0")/.."
cargo build --release --workspace --quiet
exec target/release/bench-run "$@"
