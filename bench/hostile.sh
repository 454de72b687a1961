#!/bin/sh
# Builds anchorcheck and the hostile-input benchmark in release mode and runs every input once
# (see bench/README.md, "Hostile inputs").
set -eu
cd "$(dirname "$0")/.."
cargo build --release --workspace --quiet
exec target/release/bench-hostile "$@"
