#!/usr/bin/env bash
# The reference site renders: builds it with ./docs.sh when docs/_site is missing or older than its sources, serves it on
# 127.0.0.1 (python3 -m http.server, stopped at the end), opens pages in headless Chromium (Debian's package) with a
# fresh profile, and checks the rendered DOM: the index page's headings, the navigation that the site's JavaScript
# builds from toc.json, and an API page's heading.
# usage: site_test.sh WORKDIR   Exit code 0: pass; 3: skipped (no Chromium, and ENTK_REQUIRE_BROWSER is not 1);
# anything else: fail. The last line of output says why.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
work="${1:?usage: site_test.sh WORKDIR}"
mkdir -p "$work"
site="$repo/docs/_site"

stale=0
if [ ! -f "$site/index.html" ]; then
  stale=1
elif [ -n "$(find "$repo/docs" "$repo/src" -newer "$site/index.html" \( -name '*.md' -o -name '*.yml' -o -name '*.json' -o -name '*.cs' \) -not -path "$repo/docs/_site/*" -not -path "$repo/docs/api/*" -not -path '*/obj/*' -not -path '*/bin/*' -print -quit)" ]; then
  stale=1
fi
if [ "$stale" = 1 ]; then
  echo "docs: building the site (./docs.sh)"
  if ! "$repo/docs.sh" > "$work/docs-build.log" 2>&1; then
    tail -n 30 "$work/docs-build.log"
    echo "./docs.sh failed (warnings are errors)"; exit 1
  fi
  grep -E "warning\(s\)|error\(s\)" "$work/docs-build.log" | tail -n 2
fi

chromium="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$chromium" ]; then
  if [ "${ENTK_REQUIRE_BROWSER:-0}" = "1" ]; then echo "no chromium on PATH and ENTK_REQUIRE_BROWSER=1 (apt-get install --no-install-recommends chromium)"; exit 1; fi
  echo "no chromium on PATH (apt-get install --no-install-recommends chromium)"; exit 3
fi

port="$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
/usr/bin/python3 -m http.server "$port" --bind 127.0.0.1 --directory "$site" > "$work/http.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null' EXIT
for _ in $(seq 50); do
  /usr/bin/python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/index.html', timeout=1)" 2>/dev/null && break
  sleep 0.2
done

render() { # page output
  timeout 90 "$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-background-networking \
    --disable-component-update --disable-sync --disable-extensions --no-first-run --no-default-browser-check \
    --mute-audio --user-data-dir="$work/chromium-profile-$(basename "$2")" --virtual-time-budget=10000 \
    --dump-dom "http://127.0.0.1:$port/$1" > "$2" 2> "$2.stderr"
}

problems=""
if ! render index.html "$work/index.dom.html"; then
  tail -n 20 "$work/index.dom.html.stderr"; echo "chromium failed on index.html"; exit 1
fi
if ! render api/Entk.Kernels.EmpiricalNtk.html "$work/api.dom.html"; then
  tail -n 20 "$work/api.dom.html.stderr"; echo "chromium failed on the API page"; exit 1
fi
/usr/bin/python3 - "$work/index.dom.html" "$work/api.dom.html" <<'EOF' || exit 1
import html, re, sys
index = open(sys.argv[1], encoding="utf-8").read()
api = open(sys.argv[2], encoding="utf-8").read()
def headings(dom, level):
    return [re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", h))).strip()
            for h in re.findall(rf"<h{level}\b[^>]*>(.*?)</h{level}>", dom, re.S)]
h1, h2 = headings(index, 1), headings(index, 2)
print("index h1:", h1)
print("index h2:", h2)
print("api h1:", headings(api, 1))
problems = []
if h1 != ["Entk: feature identification with the empirical NTK"]:
    problems.append(f"index h1 is {h1}")
for want in ["Install", "Compute a kernel", "Where to go next"]:
    if want not in h2:
        problems.append(f"index has no h2 '{want}'")
# The navigation bar (ul.navbar-nav) is built in the browser from toc.json (the static HTML has none): its entries
# prove that the page's scripts ran.
nav = re.search(r'<ul class="navbar-nav[^"]*">(.*?)</ul>', re.sub(r"<!--.*?-->", "", index, flags=re.S), re.S)
entries = [html.unescape(t).strip() for t in re.findall(r'<a class="nav-link[^"]*"[^>]*>(.*?)</a>', nav.group(1), re.S)] if nav else []
print("navigation:", entries)
for want in ["Quickstart", "Conventions", "Your own model", "Reproducing the paper", "The paper in brief", "What Entk promises",
             "Platform notes", "API reference"]:
    if want not in entries:
        problems.append(f"the rendered navigation bar lacks '{want}'")
api_h1 = " ".join(headings(api, 1))
if "EmpiricalNtk" not in api_h1 or "Class" not in api_h1:
    problems.append(f"API page h1 is {api_h1!r}")
if "Compute(" not in api and "Compute" not in api:
    problems.append("API page lists no Compute method")
for p in problems:
    print("problem:", p)
if problems:
    print(f"the site did not render as expected ({len(problems)} problem(s))")
    sys.exit(1)
print("site renders: index headings, navigation and API page OK")
EOF
