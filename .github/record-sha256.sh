#!/bin/sh
# Records in action.yml the SHA-256 of every archive of a published release, so that pinning
# the Action by commit pins the binary it installs (docs/ci.md). The release workflow runs this
# once the release is out (.github/workflows/record-sha256.yml) and proposes the change as a
# pull request; it can be run by hand the same way:
#
#   sh .github/record-sha256.sh VERSION DIR [ACTION_YML]
#
# DIR holds the release's `anchorcheck-<target>.<tar.gz|zip>.sha256` files (`<hex> *<name>`).
# It rewrites the `PINNED_VERSION` and `PINNED_SHA256` lines of ACTION_YML (default action.yml)
# and nothing else.
set -eu

die() { printf 'record-sha256: error: %s\n' "$*" >&2; exit 1; }

[ $# -ge 2 ] || die "usage: record-sha256.sh VERSION DIR [ACTION_YML]"
version=${1#v}
dir=$2
action=${3:-action.yml}
case $version in
    ''|*[!0-9A-Za-z.+-]*) die "not a version: $1" ;;
esac

pinned=
for sum in "$dir"/anchorcheck-*.sha256; do
    [ -f "$sum" ] || continue
    name=$(basename "$sum" .sha256)
    target=${name#anchorcheck-}
    target=${target%.tar.gz}
    target=${target%.zip}
    case $target in
        ''|*[!0-9A-Za-z_.-]*) die "$sum: not an archive of one target" ;;
    esac
    hex=$(cut -d' ' -f1 <"$sum" | tr 'A-F' 'a-f')
    case $hex in
        *[!0-9a-f]*|'') die "$sum holds no SHA-256" ;;
    esac
    [ "${#hex}" = 64 ] || die "$sum holds no SHA-256"
    pinned="${pinned:+$pinned }$target=$hex"
done
[ -n "$pinned" ] || die "no anchorcheck-*.sha256 file in $dir"

[ "$(grep -c '^ *PINNED_VERSION: ' "$action")" = 1 ] || die "$action has no single PINNED_VERSION line"
[ "$(grep -c '^ *PINNED_SHA256: ' "$action")" = 1 ] || die "$action has no single PINNED_SHA256 line"
new=$(mktemp "$action.XXXXXX")
sed -e "s/^\( *PINNED_VERSION: \).*/\1\"$version\"/" \
    -e "s/^\( *PINNED_SHA256: \).*/\1\"$pinned\"/" "$action" >"$new"
chmod 0644 "$new"
mv -f "$new" "$action"
printf 'record-sha256: %s pins anchorcheck %s: %s\n' "$action" "$version" "$pinned" >&2
