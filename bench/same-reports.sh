#!/usr/bin/env bash
# Proves that a change leaves anchorcheck's behaviour alone: runs two anchorcheck binaries over
# the same inputs and compares every stdout, stderr, exit code and written file byte for byte.
#
#   bench/same-reports.sh --before REV                 # REV's binary against this checkout's
#   bench/same-reports.sh --before-bin OLD [--after-bin NEW] [--work DIR] [--k K]
#
# Inputs (built under --work, default $TMPDIR/anchorcheck-same-reports, with fixed commit dates
# so their commit ids are the same every time): the bundled example (anchors.yaml and
# testdata/zen-mesh, committed, then an edit that makes its refs drift, with a GitHub `origin`
# for links), the drift fixtures (testdata/drift rev1..3 as tests/it/drift.rs commits them),
# testdata/history, testdata/revisions, testdata/hostile, every bad anchors file of
# testdata/config-errors and testdata/hostile/anchors, and the bench corpus at K (1,000; with
# the relocation case), generated once by bench-run and kept under --work for the next run.
# What is run on each: verify in every --format (text also coloured) and with --output,
# --cache (cold and warm, and the cache files' hashes), WORKTREE with an uncommitted edit, diff
# --base in every format, audit (plain, coloured, --html), fix --dry-run (with and without
# --base), fix itself (the rewritten files and a verify after it), init --from-docs, explain of
# every Go file whole in text and JSON, schema, every --help, and flags clap refuses. See
# bench/README.md.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=${TMPDIR:-/tmp}/anchorcheck-same-reports
before_rev= before_bin= after_bin= k=1000

usage() {
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
    --before) before_rev=${2:?--before needs a revision}; shift 2 ;;
    --before-bin) before_bin=${2:?--before-bin needs a file}; shift 2 ;;
    --after-bin) after_bin=${2:?--after-bin needs a file}; shift 2 ;;
    --work) work=${2:?--work needs a directory}; shift 2 ;;
    --k) k=${2:?--k needs a number}; shift 2 ;;
    *) usage ;;
    esac
done
[ -n "$before_rev$before_bin" ] || usage
mkdir -p "$work/bin"
work=$(cd "$work" && pwd)

note() { printf '==> %s\n' "$*" >&2; }

# --- the binaries -------------------------------------------------------------------------

if [ -n "$before_rev" ]; then
    # REV is built from an export of its tree, sharing this checkout's target dir so only the
    # crate is compiled. Cargo names a path package's artifacts the same wherever it sits, so
    # the export's build replaces this checkout's under the same names; forgetting the crate's
    # fingerprints afterwards makes the next build here compile it again (as .ci/run does).
    commit=$(git -C "$root" rev-parse --verify "$before_rev^{commit}")
    if [ ! -x "$work/bin/at-$commit/anchorcheck" ]; then
        note "building anchorcheck at $commit"
        src="$work/src-$commit"
        rm -rf "$src" && mkdir -p "$src"
        git -C "$root" archive "$commit" | tar -x -C "$src"
        target="${CARGO_TARGET_DIR:-$root/target}"
        (cd "$src" && CARGO_TARGET_DIR="$target" cargo build --release --quiet --bin anchorcheck)
        mkdir -p "$work/bin/at-$commit"
        cp "$target/release/anchorcheck" "$work/bin/at-$commit/"
        rm -rf "$src" "$target"/release/.fingerprint/anchorcheck-*
    fi
    before_bin="$work/bin/at-$commit/anchorcheck"
fi
if [ -z "$after_bin" ]; then
    note "building this checkout's anchorcheck and bench-run"
    (cd "$root" && cargo build --release --quiet --workspace)
    after_bin="$root/target/release/anchorcheck"
fi
# Copies, so a build during the run cannot swap a binary under it; named anchorcheck, as
# usage lines name the binary they were run as.
mkdir -p "$work/bin/before" "$work/bin/after"
cp "$before_bin" "$work/bin/before/anchorcheck"
cp "$after_bin" "$work/bin/after/anchorcheck"

# --- the inputs ---------------------------------------------------------------------------

export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME="Ada Tester" GIT_AUTHOR_EMAIL=ada@example.com
export GIT_COMMITTER_NAME="Ada Tester" GIT_COMMITTER_EMAIL=ada@example.com

# commit REPO N MESSAGE: stages everything and commits at the Nth of the tests' fixed dates.
commit() {
    local when=$((1790000000 + $2 * 86400))
    git -C "$1" add -A
    GIT_AUTHOR_DATE="@$when +0000" GIT_COMMITTER_DATE="@$when +0000" \
        git -C "$1" commit -q -m "$3"
}

# replace REPO SRC: the working tree becomes a copy of SRC (.git kept).
replace() {
    find "$1" -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf {} +
    cp -R "$2/." "$1/"
}

new_repo() {
    rm -rf "$1" && mkdir -p "$1"
    git -C "$1" init -q -b main
}

fixtures="$work/fixtures"
rm -rf "$fixtures" && mkdir -p "$fixtures"
td="$root/testdata"

note "building the fixture repositories under $fixtures"
# The bundled example, then a commit that pushes the cited code down (refs without `at`).
ex="$fixtures/example"
new_repo "$ex"
mkdir -p "$ex/testdata"
cp "$root/anchors.yaml" "$ex/"
cp -R "$td/zen-mesh" "$ex/testdata/"
commit "$ex" 1 "add the zen-mesh example"
listener="$ex/testdata/zen-mesh/src/saas/back/cmd/mtls_listener.go"
awk 'NR == 2 { print "\n// The listener serves agents only.\n// Agents present SPIFFE certificates." } { print }' \
    "$listener" > "$listener.new" && mv "$listener.new" "$listener"
commit "$ex" 2 "document the listener"
git -C "$ex" remote add origin https://github.com/example/zen-mesh.git

# drift-N: testdata/drift rev1..revN, anchors.yaml citing rev1 with `at` its commit.
for n in 1 2 3; do
    repo="$fixtures/drift-$n"
    new_repo "$repo"
    subjects=("add agent routes" "document the agent routes" "split mTLS routes out")
    for i in $(seq 1 "$n"); do
        replace "$repo" "$td/drift/rev$i"
        commit "$repo" "$i" "${subjects[$((i - 1))]}"
    done
    first=$(git -C "$repo" rev-list --max-parents=0 HEAD)
    sed "s/AT/$first/" "$td/drift/anchors.yaml" > "$repo/anchors.yaml"
done

# history: grpc-go moving its buffer pools (tests/it/moves.rs).
hist="$fixtures/history"
new_repo "$hist"
replace "$hist" "$td/history/grpc-buffer-pool/rev1"
commit "$hist" 1 "mem: Add faster tiered buffer pool"
at=$(git -C "$hist" rev-parse HEAD)
replace "$hist" "$td/history/grpc-buffer-pool/rev2"
commit "$hist" 2 "mem: Move buffer pool implementations to internal (#8910)"
printf 'version: 1\nclaims:\n  - id: pool-get-clears\n    status: required\n    refs:\n      - path: mem/buffer_pool.go\n        lines: 266-276\n        at: %s\n        expect:\n          - call: clear\n' \
    "$at" > "$hist/anchors.yaml"

# revisions: rev1 holds every claim, rev2 weakens the server (tests/it/cache.rs).
revs="$fixtures/revisions"
new_repo "$revs"
replace "$revs" "$td/revisions/rev1"
cp "$td/revisions/anchors.yaml" "$revs/"
commit "$revs" 1 "server"
cp -R "$td/revisions/rev2/." "$revs/"
commit "$revs" 2 "weaken the server"

# hostile: HTML in strings and titles; rev2 weakens the guard (tests/it/audit.rs).
hostile="$fixtures/hostile"
new_repo "$hostile"
replace "$hostile" "$td/hostile/rev1"
commit "$hostile" 1 "add evil package"
first=$(git -C "$hostile" rev-parse HEAD)
replace "$hostile" "$td/hostile/rev2"
commit "$hostile" 2 "simplify startup checks"
sed "s/AT/$first/" "$td/hostile/anchors.yaml" > "$hostile/anchors.yaml"

# hostile-go: syntax errors, invalid UTF-8, binary files (tests/it/hostile_corpus.rs).
hgo="$fixtures/hostile-go"
new_repo "$hgo"
replace "$hgo" "$td/hostile/go"
commit "$hgo" 1 "hostile go"

# precision: rev1 and rev2 of issue 12's shapes, explained whole.
prec="$fixtures/precision"
new_repo "$prec"
replace "$prec" "$td/precision/rev1"
commit "$prec" 1 "admin"
replace "$prec" "$td/precision/rev2"
commit "$prec" 2 "insert a function above checkOrigin"

# ambiguous: three fatal calls, a cited line that lost its own (tests/it/drift.rs), two claims.
amb="$fixtures/ambiguous"
new_repo "$amb"
mkdir -p "$amb/p"
printf 'package p\n\nfunc a() {\n\tsetup()\n\tlog.Fatal("a")\n}\n\nfunc b() {\n\tlog.Fatal("b")\n}\n\nfunc c() {\n\tlog.Fatal("c")\n}\n' > "$amb/p/p.go"
{
    printf 'version: 1\nclaims:\n'
    for id in one two; do
        printf '  - id: %s\n    status: implemented\n    refs:\n      - path: p/p.go\n        lines: 4\n        expect: [{call: log.Fatal}]\n' "$id"
    done
} > "$amb/anchors.yaml"
commit "$amb" 1 "three fatal funcs"

# Bad anchors files, verified against the example's repository.
mkdir -p "$fixtures/bad"
cp "$td"/config-errors/*.yaml "$fixtures/bad/"
for f in "$td"/hostile/anchors/*.yaml; do cp "$f" "$fixtures/bad/hostile-$(basename "$f")"; done

# The bench corpus, generated once (bench-run refuses a directory that holds one).
corpus="$work/corpus"
if [ ! -d "$corpus/repo" ]; then
    note "generating the bench corpus (K = $k) under $corpus"
    [ -x "$root/target/release/bench-run" ] ||
        (cd "$root" && cargo build --release --quiet -p anchorcheck-bench)
    "$root/target/release/bench-run" --dir "$corpus" --k "$k" --runs 1 --no-ast-grep \
        --shell-sample 10 --log-sample 1 --anchorcheck "$work/bin/before/anchorcheck" \
        > "$work/corpus.log"
fi
kdir="$corpus/k$k"
[ -f "$kdir/relocate.yaml" ] || { echo "error: $kdir has no relocate.yaml; remove $corpus" >&2; exit 1; }

# --- running one binary over everything ---------------------------------------------------

# record BIN OUT: every case's stdout, stderr and exit code, and the files it wrote, in OUT.
record() {
    local bin=$1 out=$2 run="$work/run"
    rm -rf "$out" "$run" && mkdir -p "$out"
    cp -R "$fixtures" "$run"
    mkdir -p "$run/home"
    # case NAME DIR ARGS...: runs the binary in DIR with a clean environment.
    case_() {
        local name=$1 dir=$2
        shift 2
        local code=0
        (cd "$dir" && env -i PATH="$PATH" HOME="$run/home" NO_COLOR=1 "$bin" "$@") \
            > "$out/$name.stdout" 2> "$out/$name.stderr" || code=$?
        echo "$code" > "$out/$name.exit"
    }
    # keep NAME FILE: a file a case wrote.
    keep() { if [ -f "$2" ]; then cp "$2" "$out/$1"; else echo "(missing)" > "$out/$1"; fi; }

    case_ schema "$run" schema
    # Help, version and flags clap refuses.
    local sub
    for sub in "" verify diff fix audit init explain schema; do
        # shellcheck disable=SC2086
        case_ "help.${sub:-top}" "$run" $sub --help
        # shellcheck disable=SC2086
        case_ "help.${sub:-top}.short" "$run" $sub -h
    done
    case_ version "$run" --version
    case_ usage.no-command "$run"
    case_ usage.unknown-flag "$run" verify --no-such-flag
    case_ usage.bad-format "$run" verify --format yaml
    case_ usage.bad-output "$run" verify --output markdown
    case_ usage.bad-output-format "$run" verify --output yaml=x.yaml
    case_ usage.diff-without-base "$run" diff
    case_ usage.init-without-pages "$run" init
    local formats="text json sarif github junit markdown"
    for fx in example drift-1 drift-2 drift-3 history revisions hostile ambiguous; do
        local d="$run/$fx" first
        first=$(git -C "$d" rev-list --max-parents=0 HEAD)
        for f in $formats; do
            case_ "$fx.verify.$f" "$d" verify --format "$f"
            case_ "$fx.diff.$f" "$d" diff --base "$first" --format "$f"
        done
        # --color always, once with NO_COLOR set too (always wins).
        (cd "$d" && env -i PATH="$PATH" HOME="$run/home" "$bin" verify --color always) \
            > "$out/$fx.verify.color" 2>&1 || true
        case_ "$fx.verify.color-nocolor" "$d" verify --color always
        case_ "$fx.verify.no-history" "$d" verify --history-depth 0 --format json
        mkdir -p "$d/out" "$d/page"
        case_ "$fx.verify.output" "$d" verify --format github \
            --output markdown=report.md --output json=out/report.json --output sarif=report.sarif
        keep "$fx.verify.output.md" "$d/report.md"
        keep "$fx.verify.output.json" "$d/out/report.json"
        keep "$fx.verify.output.sarif" "$d/report.sarif"
        rm -rf "$d/report.md" "$d/out" "$d/report.sarif"
        case_ "$fx.verify.links" "$d" verify --format markdown \
            --link-base 'https://code.example/{commit}/{path}?from={start}&to={end}'
        case_ "$fx.verify.cold" "$d" verify --format json --cache "$run/cache-$fx"
        case_ "$fx.verify.warm" "$d" verify --format json --cache "$run/cache-$fx"
        (cd "$run/cache-$fx" 2>/dev/null && find . -type f | LC_ALL=C sort | xargs -r sha256sum) \
            > "$out/$fx.cache-files" || true
        case_ "$fx.audit" "$d" audit
        (cd "$d" && env -i PATH="$PATH" HOME="$run/home" "$bin" audit --color always) \
            > "$out/$fx.audit.color" 2>&1 || true
        case_ "$fx.audit.html" "$d" audit --html page/audit.html
        keep "$fx.audit.html.page" "$d/page/audit.html"
        rm -rf "$d/page"
        case_ "$fx.fix.dry-run" "$d" fix --dry-run
        case_ "$fx.fix.dry-run.base" "$d" fix --dry-run --base "$first"
        case_ "$fx.fix.dry-run.pick" "$d" fix --dry-run --pick 1
        case_ "$fx.fix.dry-run.pick-claim" "$d" fix --dry-run --pick 2 --claim two
        local page
        page=$(cd "$d" && git ls-files '*docs/*.md' | head -1)
        if [ -n "$page" ]; then
            case_ "$fx.init" "$d" init --from-docs "$page" --out "$run/init-$fx.yaml"
            keep "$fx.init.yaml" "$run/init-$fx.yaml"
        fi
        # An uncommitted edit: the first cited Go file gets a line above everything.
        local go
        go=$(cd "$d" && git ls-files '*.go' | head -1)
        { echo '// uncommitted'; cat "$d/$go"; } > "$d/$go.new" && mv "$d/$go.new" "$d/$go"
        case_ "$fx.verify.worktree" "$d" verify --rev WORKTREE --format json
        git -C "$d" checkout -q -- "$go"
        # fix for real, last: the files it rewrote, then a verify of them.
        case_ "$fx.fix" "$d" fix
        git -C "$d" status --porcelain > "$out/$fx.fix.status"
        keep "$fx.fix.anchors.yaml" "$d/anchors.yaml"
        git -C "$d" diff > "$out/$fx.fix.diff"
        case_ "$fx.fix.verify" "$d" verify --format json
    done
    # The bundled example at its first commit, and a claim filter.
    case_ example.verify.rev1 "$run/example" verify --rev HEAD~1 --format json
    case_ example.verify.claims "$run/example" verify --claim agent-saas-mtls --claim nope
    case_ example.verify.claim "$run/example" verify --claim agent-saas-mtls --format markdown
    case_ example.verify.badrev "$run/example" verify --rev no-such-rev
    # explain: every Go file whole, text and JSON; and bad locations.
    for fx in example drift-3 history hostile-go precision; do
        local d="$run/$fx" go n i=0
        while IFS= read -r go; do
            n=$(awk 'END { print NR }' "$d/$go")
            [ "$n" -gt 0 ] || n=1
            i=$((i + 1))
            case_ "$fx.explain.$i.text" "$d" explain "$go:1-$n"
            case_ "$fx.explain.$i.json" "$d" explain "$go#L1-L$n" --format json
        done < <(cd "$d" && git ls-files | grep -E '\.go$' | LC_ALL=C sort)
    done
    case_ explain.bad-range "$run/drift-1" explain pkg/agent/guard.go:9000-9001
    case_ explain.bad-syntax "$run/drift-1" explain guard.go
    case_ explain.github "$run/drift-1" explain \
        https://github.com/o/r/blob/main/pkg/agent/guard.go#L14-L16
    # Bad anchors files.
    local bad
    for bad in "$run"/bad/*.yaml; do
        case_ "bad.$(basename "$bad" .yaml)" "$run/example" verify --anchors "$bad" --repo "$run/example"
    done
    # The corpus: at HEAD, and every ref 4,000 commits back.
    local anchors
    for anchors in anchors relocate; do
        for f in $formats; do
            case_ "corpus.$anchors.$f" "$kdir" verify --anchors "$anchors.yaml" --format "$f"
        done
    done
    case_ corpus.anchors.whole "$kdir" verify --anchors anchors.yaml --format json --whole-files
    case_ corpus.relocate.fix "$kdir" fix --dry-run --anchors relocate.yaml
    case_ corpus.relocate.audit "$kdir" audit --anchors relocate.yaml --html "$run/corpus.html"
    keep corpus.relocate.audit.page "$run/corpus.html"
    local oldest
    oldest=$(git -C "$corpus/repo" rev-list --max-parents=0 HEAD)
    case_ corpus.diff "$kdir" diff --anchors anchors.yaml --base "$oldest" --format json
    git -C "$corpus/repo" rev-parse HEAD > "$out/corpus.head"
}

note "recording the before binary"
record "$work/bin/before/anchorcheck" "$work/before"
note "recording the after binary"
record "$work/bin/after/anchorcheck" "$work/after"

cases=$(find "$work/before" -name '*.exit' | wc -l)
files=$(find "$work/before" -type f | wc -l)
if diff -r "$work/before" "$work/after" > "$work/differences.txt"; then
    echo "same reports: $cases cases, $files files byte-identical ($work/before, $work/after)"
else
    echo "DIFFERENT: $(grep -c '^diff\|^Only' "$work/differences.txt") files differ; see $work/differences.txt" >&2
    head -50 "$work/differences.txt" >&2
    exit 1
fi
