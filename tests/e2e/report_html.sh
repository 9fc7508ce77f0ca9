#!/usr/bin/env bash
# results.html, the experiment's one page: self-contained (no network, no external file: every
# figure a data: URI), the table readable without JavaScript, each run's config in a <details>;
# then rendered by a real headless browser (Debian chromium, installed by scripts/deps.sh): the
# rendered table holds results.md's values, #sort=mse-desc orders the rows by the inline script,
# and a screenshot is drawn. `aelab report` rewrites the same page.
# Usage: tests/e2e/report_html.sh path/to/aelab SOURCE_DIR
. "$(dirname "$0")/../lib/harness.sh" "$@"
export OMP_NUM_THREADS=1

awk 'BEGIN{srand(3); print "a,b,c,d,e,f,y"; for(i=0;i<300;i++){s=0; l=""; for(j=0;j<6;j++){v=rand(); s+=v; l=l sprintf("%.4f,",v)}; print l (s>3?"Yes":"No")}}' > "$tmp/t.csv"
cat > "$tmp/base.yaml" <<YAML
data: {source: csv, path: $tmp/t.csv, categorical: {y: {"No": 0, "Yes": 1}}, label: y, scaling: none, test_fraction: 0.25}
model: {encoder: [{type: dense, units: 8, activation: relu}, {type: dense, units: 2, activation: sigmoid}]}
loss: bce
train: {epochs: 4, batch_size: 32, progress: false}
YAML
cat > "$tmp/exp.yaml" <<'YAML'
experiment: page <test> & "quotes"
base: base.yaml
seeds: [1, 2]
baseline: plain
runs:
  - {name: plain}
  - {name: sparse, set: {regularizers: [{type: l1, weight: 1.0e-2}]}}
YAML
"$aelab" run "$tmp/exp.yaml" --out "$tmp/E" --quiet > "$tmp/run.log" 2>&1 && ok || bad "experiment: $(tail -3 "$tmp/run.log")"
page=$tmp/E/results.html
[ -s "$page" ] && ok || bad "no results.html"

# self-contained: no address outside the page, no external script or stylesheet
if grep -Eiq '(src|href|action)="?(https?:|//|file:)|<link|<script[^>]*src|@import|url\(' "$page"; then
  bad "results.html refers to something outside itself: $(grep -Eio '(src|href)="?[a-z]+:[^"]{0,40}|<link[^>]*>|<script[^>]*src[^>]*>' "$page" | head -3)"
else ok; fi
npng=$(ls "$tmp/E"/*.png | wc -l)
ndata=$(grep -o 'src="data:image/png;base64,' "$page" | wc -l)
[ "$npng" -ge 3 ] && [ "$ndata" -eq "$npng" ] && ok || bad "$npng PNGs in the folder, $ndata inline"
# without JavaScript: the values are in the markup; the configs in <details>; names escaped
[ "$(grep -o '<details><summary>' "$page" | wc -l)" -eq 2 ] && ok || bad "expected 2 <details> (one per run)"
grep -q '<pre>data:' "$page" && grep -q '^name: plain$' "$page" && grep -q 'type: l1' "$page" && ok || bad "run configs not in the page"
grep -q '<h1>page &lt;test&gt; &amp; &quot;quotes&quot;</h1>' "$page" && ok || bad "experiment name not escaped"
mse_plain=$(grep '^| plain' "$tmp/E/results.md" | awk -F'|' '{print $4}' | sed 's/\*//g; s/ ±.*//; s/ //g')
grep -q ">$mse_plain<\|<b>$mse_plain</b>" "$page" && ok || bad "plain's mse $mse_plain not in the page"

# a second `aelab report` writes the same page
cp "$page" "$tmp/first.html"
"$aelab" report "$tmp/exp.yaml" --out "$tmp/E" > /dev/null 2>&1 && cmp -s "$page" "$tmp/first.html" && ok || bad "report rewrote a different page"

# the browser
chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chrome" ]; then
  bad "chromium not found: scripts/deps.sh installs it (Debian package chromium)"
else
  flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$tmp/chrome" --window-size=1280,1200 --virtual-time-budget=3000)
  timeout 180 "$chrome" "${flags[@]}" --dump-dom "file://$page#sort=mse-desc" > "$tmp/dom.html" 2> "$tmp/chrome.log"
  grep -q '<html lang="en" class=" js">' "$tmp/dom.html" && ok || bad "the inline script did not run: $(head -c 300 "$tmp/dom.html") $(tail -3 "$tmp/chrome.log")"
  python3 - "$tmp/dom.html" "$tmp/E/results.csv" "$tmp/E/results.md" > "$tmp/dom.out" 2>&1 <<'PY'
import csv, re, sys
from html.parser import HTMLParser
class Rows(HTMLParser):
    """The rendered table as text: rows of cells (<details> content left out, as when closed)."""
    def __init__(self):
        super().__init__(); self.rows, self.cell, self.depth, self.pre = [], None, 0, 0
    def handle_starttag(self, tag, a):
        if tag == "table" and ("id", "results") in a: self.depth = 1
        elif self.depth and tag == "tr": self.rows.append([])
        elif self.depth and tag in ("td", "th"): self.cell = ""
        elif tag == "pre": self.pre += 1
    def handle_endtag(self, tag):
        if tag == "table": self.depth = 0
        elif self.depth and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join(self.cell.split())); self.cell = None
        elif tag == "pre": self.pre -= 1
    def handle_data(self, d):
        if self.cell is not None and not self.pre: self.cell += d
p = Rows(); p.feed(open(sys.argv[1]).read())
head, body = p.rows[0], p.rows[1:]
assert head[0] == "run" and head[2].startswith("mse"), head
# sorted by the script: mse descending (results.csv's means)
means = {r["run"]: float(r["mse_mean"]) for r in csv.DictReader(open(sys.argv[2]))}
order = [r[0].split()[0] for r in body]
assert order == sorted(means, key=lambda k: -means[k]), (order, means)
# every cell of results.md is in the rendered table (same text, markdown bold and p-values aside)
md = [l for l in open(sys.argv[3]) if l.startswith("| ") and not l.startswith("| run")]
for line in md:
    cells = [c.strip().replace("**", "") for c in line.strip().strip("|").split("|")]
    run = cells[0].replace(" (baseline)", "")
    row = next(r for r in body if r[0].split()[0] == run)
    for want, got in zip(cells[1:], row[1:]):
        want = re.sub(r" \(p[=<][^)]*\)", "", want)
        assert got.startswith(want), (run, want, got)
print("ok", len(body), "rows")
PY
  [ "$(cat "$tmp/dom.out")" = "ok 3 rows" ] && ok || bad "rendered table: $(cat "$tmp/dom.out")"
  timeout 180 "$chrome" "${flags[@]}" --screenshot="$tmp/shot.png" "file://$page" > /dev/null 2>&1
  size=$(python3 -c 'import struct,sys; b=open(sys.argv[1],"rb").read(24); print(*struct.unpack(">II", b[16:24])) if b[:8]==b"\x89PNG\r\n\x1a\n" else print(0)' "$tmp/shot.png" 2>/dev/null)
  [ "$size" = "1280 1200" ] && [ "$(stat -c %s "$tmp/shot.png")" -gt 20000 ] && ok || bad "screenshot: '$size'"
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
