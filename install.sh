#!/bin/sh
# Installs anchorcheck from a release: downloads the prebuilt binary for this machine, checks
# its SHA-256 against the release's checksum file, and puts it in a directory. When the release
# has no binary for this machine (or there is no such release), it builds from source with
# `cargo install --locked` instead. A checksum that does not match is an error, never a reason
# to fall back. The GitHub Action (action.yml) installs through this script too.
#
#   curl -fsSL https://github.com/anchorcheck/anchorcheck/releases/download/v0.1.0/install.sh \
#     | sh -s -- --version 0.1.0 --to "$HOME/.local/bin"
#
# Options (each also read from an environment variable):
#   --version V     release to install, e.g. 0.1.0          (ANCHORCHECK_VERSION; required)
#   --to DIR        where the binary goes                   (ANCHORCHECK_INSTALL_DIR; ~/.local/bin)
#   --base-url URL  where the release's files are           (ANCHORCHECK_DOWNLOAD_BASE; default
#                   https://github.com/REPOSITORY/releases/download/vV; file:// works)
#   --repository R  owner/name on GitHub                    (ANCHORCHECK_REPOSITORY;
#                   anchorcheck/anchorcheck)
#   --target T      Rust target triple of the binary        (ANCHORCHECK_TARGET; detected)
#   --source DIR    build from this checkout when there is no binary, instead of the release's
#                   tag in the repository                   (ANCHORCHECK_SOURCE)
#   --no-build      exit 3 instead of building from source  (ANCHORCHECK_NO_BUILD=1)
#   --build         build from source without looking for a binary
#   --pinned LIST   "TARGET=SHA256 ..." recorded by whoever pins the release (the Action): the
#                   archive must have its target's SHA-256, and the release's own checksum file
#                   is not trusted; a target not listed has no binary  (ANCHORCHECK_PINNED)
# A --base-url holds no '@'; plain http is only for 127.0.0.1, localhost and [::1].
# Exit codes: 0 installed; 1 failed (download error, checksum mismatch, build failed); 2 usage;
# 3 no prebuilt binary for this machine in the release, and --no-build.
set -eu

version=${ANCHORCHECK_VERSION:-}
to=${ANCHORCHECK_INSTALL_DIR:-${HOME:-.}/.local/bin}
base=${ANCHORCHECK_DOWNLOAD_BASE:-}
repository=${ANCHORCHECK_REPOSITORY:-anchorcheck/anchorcheck}
target=${ANCHORCHECK_TARGET:-}
source_dir=${ANCHORCHECK_SOURCE:-}
no_build=${ANCHORCHECK_NO_BUILD:-}
pinned=${ANCHORCHECK_PINNED:-}
build=

say() { printf 'anchorcheck install: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
# The comment above, read back from this file (not there when the script comes through a pipe).
help() { sed -n '2,28p' "$0" 2>/dev/null || say "options: see the comment at the top of install.sh"; }
usage() { say "$*"; help >&2; exit 2; }

while [ $# -gt 0 ]; do
    case $1 in
        --version|--to|--base-url|--repository|--target|--source|--pinned)
            [ $# -ge 2 ] || usage "$1 needs a value"
            case $1 in
                --version) version=$2 ;;
                --to) to=$2 ;;
                --base-url) base=$2 ;;
                --repository) repository=$2 ;;
                --target) target=$2 ;;
                --source) source_dir=$2 ;;
                --pinned) pinned=$2 ;;
            esac
            shift 2 ;;
        --no-build) no_build=1; shift ;;
        --build) build=1; shift ;;
        -h|--help) help; exit 0 ;;
        *) usage "unknown option: $1" ;;
    esac
done
version=${version#v}
[ -n "$version" ] || usage "--version is required (the release to install, e.g. 0.1.0)"
[ -n "$to" ] || usage "--to is empty"
case $version in
    *[!0-9A-Za-z.+-]*) usage "not a version: $version" ;;
esac

# The Rust target triple of the release binary that runs here.
detect_target() {
    os=$(uname -s)
    arch=$(uname -m)
    case $arch in
        x86_64|amd64) arch=x86_64 ;;
        aarch64|arm64) arch=aarch64 ;;
        *) return 1 ;;
    esac
    case $os in
        Linux) echo "$arch-unknown-linux-musl" ;;
        Darwin) echo "$arch-apple-darwin" ;;
        MINGW*|MSYS*|CYGWIN*|Windows_NT) [ "$arch" = x86_64 ] && echo "x86_64-pc-windows-msvc" ;;
        *) return 1 ;;
    esac
}

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d' ' -f1
    else
        die "neither sha256sum nor shasum is installed: cannot check the download"
    fi
}

# Downloads $1 to $2. Exit status 0: downloaded; 3: the file does not exist (HTTP 404, or no
# such file:// path); anything else: the download failed.
fetch() {
    if command -v curl >/dev/null 2>&1; then
        status=0
        code=$(curl --proto "$protocols" --proto-redir '=https' --tlsv1.2 --silent --show-error \
            --location --retry 3 --write-out '%{http_code}' --output "$2" "$1") || status=$?
        case $status:$code in
            0:2??|0:000) return 0 ;;  # 000: a file:// URL has no HTTP status
            *:404|37:*) return 3 ;;   # 37: file:// path that does not exist
            0:*) say "$1: HTTP $code"; return 1 ;;
            *) return 1 ;;
        esac
    elif command -v wget >/dev/null 2>&1; then
        case $1 in file://*) cp "${1#file://}" "$2" 2>/dev/null && return 0 || return 3 ;; esac
        out=$(wget --quiet --server-response --output-document "$2" "$1" 2>&1) && return 0
        case $out in *" 404 "*) return 3 ;; esac
        return 1
    else
        die "neither curl nor wget is installed"
    fi
}

build_from_source() {
    if [ -n "$no_build" ]; then
        say "no prebuilt binary ($1), and --no-build was given"
        exit 3
    fi
    command -v cargo >/dev/null 2>&1 || die "cannot build from source ($1): cargo is not installed"
    root=$(mktemp -d)
    if [ -n "$source_dir" ]; then
        say "building $source_dir with cargo install --locked ($1)"
        cargo install --locked --path "$source_dir" --root "$root" || die "cargo install failed"
    else
        say "building v$version of https://github.com/$repository with cargo install --locked ($1)"
        cargo install --locked --git "https://github.com/$repository" --tag "v$version" anchorcheck \
            --root "$root" || die "cargo install failed"
    fi
    mkdir -p "$to"
    for bin in "$root"/bin/anchorcheck "$root"/bin/anchorcheck.exe; do
        if [ -f "$bin" ]; then
            cp "$bin" "$to/"
            chmod +x "$to/$(basename "$bin")"
        fi
    done
    rm -rf "$root"
    say "installed anchorcheck $version (built from source) in $to"
    exit 0
}

[ -z "$build" ] || build_from_source "--build was given"
detected=
if [ -z "$target" ]; then
    target=$(detect_target) || build_from_source "no release binary for $(uname -s) $(uname -m)"
    detected=1
fi
case $target in
    *windows*) archive="anchorcheck-$target.zip"; exe=anchorcheck.exe ;;
    *) archive="anchorcheck-$target.tar.gz"; exe=anchorcheck ;;
esac
[ -n "$base" ] || base="https://github.com/$repository/releases/download/v$version"
base=${base%/}
# https, or file:// for a local copy; plain http only from this machine (a local mirror).
# User information (`http://localhost:80@evil.example/`) would make the host whatever follows
# the `@`: no base URL may hold one.
case $base in
    *@*) die "the base URL must not hold '@' (user information): $base" ;;
esac
# The host: after the scheme, up to the first '/', '?' or '#', without its port.
authority=${base#*://}
authority=${authority%%[/?#]*}
case $authority in
    \[*) host=${authority%%]*}] ;;
    *) host=${authority%%:*} ;;
esac
protocols='=https,file'
case $base in
    http://*)
        case $host in
            127.0.0.1|localhost|'[::1]') protocols='=https,file,http' ;;
            *) die "plain http is only for a mirror on this machine (127.0.0.1, localhost, [::1]), not $host; use https" ;;
        esac ;;
    https://*|file://*) ;;
    *) die "the release files must be fetched over https (or file://), not from $base" ;;
esac

# With --pinned, the SHA-256 recorded for this target; none recorded means no binary to trust.
expected=
if [ -n "$pinned" ]; then
    for entry in $pinned; do
        case $entry in
            "$target="*) expected=$(printf '%s' "${entry#*=}" | tr 'A-F' 'a-f') ;;
        esac
    done
    [ -n "$expected" ] || build_from_source "no SHA-256 is pinned for $target"
    case $expected in
        *[!0-9a-f]*) usage "--pinned: not a SHA-256 for $target: $expected" ;;
    esac
    [ "${#expected}" = 64 ] || usage "--pinned: not a SHA-256 for $target: $expected"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
fetch "$base/$archive" "$work/$archive" || status=$?
case $status in
    0) ;;
    3) build_from_source "$base/$archive does not exist" ;;
    *) die "cannot download $base/$archive" ;;
esac
if [ -z "$expected" ]; then
    status=0
    fetch "$base/$archive.sha256" "$work/$archive.sha256" || status=$?
    [ "$status" = 0 ] || die "cannot download $base/$archive.sha256: the binary cannot be checked"
    # The checksum file reads `<hex> *<name>` (or `<hex>  <name>`).
    expected=$(cut -d' ' -f1 <"$work/$archive.sha256" | tr 'A-F' 'a-f')
    case $expected in
        *[!0-9a-f]*|'') die "$archive.sha256 holds no SHA-256" ;;
    esac
    [ "${#expected}" = 64 ] || die "$archive.sha256 holds no SHA-256"
    checked="checksum verified"
else
    checked="pinned checksum verified"
fi
actual=$(sha256 "$work/$archive")
[ "$expected" = "$actual" ] || die "checksum mismatch for $archive: expected $expected, got $actual; not installing it"

mkdir "$work/x"
case $archive in
    *.zip) command -v unzip >/dev/null 2>&1 || die "unzip is not installed"
           unzip -q "$work/$archive" -d "$work/x" ;;
    *) tar -xzf "$work/$archive" -C "$work/x" ;;
esac
bin=$(find "$work/x" -type f -name "$exe" | head -n 1)
[ -n "$bin" ] || die "$archive holds no $exe"
chmod +x "$bin"
# A binary for this machine must run and be the version asked for, before it replaces anything.
if [ -n "$detected" ]; then
    case $("$bin" --version 2>/dev/null || true) in
        "anchorcheck $version") ;;
        *) die "$archive holds no anchorcheck $version for this machine" ;;
    esac
fi
mkdir -p "$to"
cp "$bin" "$to/$exe.tmp.$$"
mv -f "$to/$exe.tmp.$$" "$to/$exe"
say "installed anchorcheck $version ($target, $checked) in $to"
