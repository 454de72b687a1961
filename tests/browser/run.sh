#!/usr/bin/env bash
# Renders the bundled example's audit page in headless Chromium and checks that the DOM the
# browser built holds every claim of `anchorcheck verify --format json` with its verdict.
# Skips (exit 0) when chromium is not installed; .ci/run installs it so CI always runs this.
# Leaves the page, the dumped DOM and a 1280 px screenshot in target/browser/.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v chromium >/dev/null 2>&1; then
    echo "browser test skipped: chromium not installed"
    exit 0
fi

cargo build --release --quiet
bin=target/release/anchorcheck
out=target/browser
rm -rf "$out"
mkdir -p "$out"

# Exit 1 only means some claim is not verified; the page must still list it. 2 is unusable.
status=0
"$bin" verify --format json >"$out/report.json" || status=$?
[ "$status" -le 1 ] || { echo "verify failed with exit $status" >&2; exit 1; }
status=0
"$bin" audit --html "$out/audit.html" || status=$?
[ "$status" -le 1 ] || { echo "audit failed with exit $status" >&2; exit 1; }

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
browse() {
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" "$@" 2>>"$out/chromium.log"
}
page="file://$(pwd)/$out/audit.html"
browse --dump-dom "$page" >"$out/dom.html"
browse --screenshot="$out/audit-1280.png" --window-size=1280,2000 "$page" >/dev/null

python3 - "$out/report.json" "$out/dom.html" "$out/audit-1280.png" <<'PY'
import json, sys
from html.parser import HTMLParser

report = json.load(open(sys.argv[1]))
expected = [(c["id"], c["verdict"]) for c in report["claims"]]
if not expected:
    sys.exit("verify listed no claims")

class Page(HTMLParser):
    """Collects summary rows (claim link text, badge text) and section ids."""
    def __init__(self):
        super().__init__()
        self.sections, self.rows, self.stack = set(), [], []
        self.in_tbody = self.in_link = self.in_badge = False
        self.link = self.badge = ""
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag == "section" and a.get("id"):
            self.sections.add(a["id"])
        if tag == "tbody":
            self.in_tbody = True
        if self.in_tbody and tag == "tr":
            self.link = self.badge = ""
        if self.in_tbody and tag == "a":
            self.in_link = True
        if self.in_tbody and tag == "span" and "badge" in cls:
            self.in_badge = True
            self.depth = 0
        elif self.in_badge and tag == "span":
            self.depth += 1
    def handle_endtag(self, tag):
        if tag == "tbody":
            self.in_tbody = False
        if tag == "a":
            self.in_link = False
        if tag == "span" and self.in_badge:
            if self.depth == 0:
                self.in_badge = False
            else:
                self.depth -= 1
        if self.in_tbody and tag == "tr":
            self.rows.append((self.link.strip(), self.badge.strip()))
    def handle_data(self, data):
        if self.in_link:
            self.link += data
        if self.in_badge:
            self.badge += data

dom = Page()
dom.feed(open(sys.argv[2], encoding="utf-8").read())
problems = []
rows = dict(dom.rows)
for claim, verdict in expected:
    if claim not in rows:
        problems.append(f"{claim}: no row in the summary table")
    elif not rows[claim].endswith(verdict):
        problems.append(f"{claim}: badge says {rows[claim]!r}, verify says {verdict}")
    if f"claim-{claim}" not in dom.sections:
        problems.append(f"{claim}: no section")
with open(sys.argv[3], "rb") as f:
    if f.read(8) != b"\x89PNG\r\n\x1a\n":
        problems.append("the screenshot is not a PNG")
if problems:
    sys.exit("browser check failed:\n  " + "\n  ".join(problems))
print(f"browser check: {len(expected)} claims and verdicts in Chromium's DOM; screenshot {sys.argv[3]}")
PY
