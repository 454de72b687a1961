#!/bin/sh
# The mutation bench (see bench/README.md, "Mutants"): builds anchorcheck and the bench in
# release mode, then mutates every ref of bench/mutants/*.yaml named with --repo NAME=DIR and
# verifies each mutant, e.g.
#   bench/mutants.sh --repo smallstep/certificates=$HOME/src/certificates.git
# Flags are passed through to bench-mutants (--anchorcheck PATH to measure another binary).
set -eu
cd "$(dirname "$0")/.."
cargo build --release -p anchorcheck -p anchorcheck-bench --quiet
exec target/release/bench-mutants "$@"
