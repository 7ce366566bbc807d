#!/usr/bin/env bash
# The API under wrk on loopback, and the cost of a sign-in against its PBKDF2 (see
# bench/RESULTS.md §4). Called by `bench/run.sh api` after the release build, or alone:
#
#   CARGO_TARGET_DIR=/work/target-e bench/api.sh
#
# What it does, all on 127.0.0.1, killed on exit:
#  1. seeds check history into a temp data folder (bench-api-seed: 2 days a minute for
#     bench-001..bench-100, 90 days for bench-001, the badge monitor);
#  2. starts the release `sentinel serve` there (port chosen by the kernel) with
#     RATE_LIMIT_MAX_REQUESTS=100000000 so the general limit (default 100 per 15 min)
#     does not turn the measurement into 429s;
#  3. registers the first user (admin), signs in, creates a write API key with the
#     session (Bearer + X-CSRF-Token = the sentinel_csrf cookie), creates 100 public
#     monitors with the key, each checking the server's own /health every 60 s;
#  4. wrk (-t2 -cAPI_CONNECTIONS, after an unmeasured warm-up), API_REPS times in
#     rotation: a 404 from the fallback (the floor: every layer, no store), GET /health
#     (the baseline the ratios use: a public route reading the live states),
#     GET /api/monitors with the key, the status badge, the 30-day uptime badge; then
#     one run of each with a single connection (latency without queueing);
#  5. bench-login: 20 sign-ins (right password, wrong password, unknown email) against
#     the bare PBKDF2 in-process;
#  6. restarts the server on the same data with the default limit and runs wrk on
#     GET /api/monitors again: (nearly) all 429, to show what a refusal costs.
#
# Environment: CARGO_TARGET_DIR, API_DURATION (s per measured run, default 20),
# API_WARMUP (s, default 5), API_CONNECTIONS (default 16), API_REPS (default 3),
# LOGIN_N (default 20). wrk and the server share the machine's cores.
set -euo pipefail

cd "$(dirname "$0")/.."
bin="${CARGO_TARGET_DIR:-target}/release"
out="bench/out"
mkdir -p "$out"
duration="${API_DURATION:-20}"
warmup="${API_WARMUP:-5}"
conns="${API_CONNECTIONS:-16}"
reps="${API_REPS:-3}"
login_n="${LOGIN_N:-20}"

for b in sentinel bench-api-seed bench-login; do
    [[ -x "$bin/$b" ]] || {
        echo "$bin/$b missing: cargo build --release -p sentinel-server -p sentinel-bench" >&2
        exit 1
    }
done
if ! command -v wrk >/dev/null; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
        apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
    else
        echo "wrk is needed: sudo apt-get install -y wrk" >&2
        exit 1
    fi
fi
for tool in curl jq; do
    command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done

tmp="$(mktemp -d)"
server_pid=""
stop_server() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
}
cleanup() {
    stop_server
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

data="$tmp/data"
cat >"$tmp/sentinel.yaml" <<'EOF'
server:
  allow-private: true
monitors: []
EOF

# $1: extra environment (e.g. RATE_LIMIT_MAX_REQUESTS=…), or "" for the defaults.
start_server() {
    : >"$tmp/server.log"
    env $1 RUST_LOG=info "$bin/sentinel" serve --config "$tmp/sentinel.yaml" \
        --data "$data" --listen 127.0.0.1:0 >>"$tmp/server.log" 2>&1 &
    server_pid=$!
    addr=""
    for _ in $(seq 200); do
        addr="$(grep -o 'address=127\.0\.0\.1:[0-9]*' "$tmp/server.log" | head -1 | cut -d= -f2 || true)"
        [[ -n "$addr" ]] && break
        kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.log" >&2; exit 1; }
        sleep 0.05
    done
    [[ -n "$addr" ]] || { echo "server did not start" >&2; cat "$tmp/server.log" >&2; exit 1; }
    base="http://$addr"
}

# CPU (user+sys) of the server so far, in clock ticks.
server_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }
hz="$(getconf CLK_TCK)"

# Latency text from wrk ("812.00us", "1.23ms", "1.01s") to ms.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
        printf "%.3f", n
    }'
}

# run_wrk NAME CONNECTIONS URL [wrk args…]: one measured run after a warm-up; prints
# and appends a JSON line.
results="$tmp/results.jsonl"
run_wrk() {
    local name="$1" c="$2" url="$3"
    shift 3
    local threads=2
    (( c < threads )) && threads="$c"
    wrk -t"$threads" -c"$c" -d"${warmup}s" "$@" "$url" >/dev/null
    local t0 t1
    t0="$(server_ticks)"
    wrk -t"$threads" -c"$c" -d"${duration}s" --latency "$@" "$url" >"$tmp/wrk.txt"
    t1="$(server_ticks)"
    local rps requests non2xx errors p50 p75 p90 p99
    rps="$(awk '/^Requests\/sec:/ { print $2 }' "$tmp/wrk.txt")"
    requests="$(awk '/requests in/ { print $1 }' "$tmp/wrk.txt")"
    non2xx="$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$tmp/wrk.txt")"
    errors="$(awk '/Socket errors:/ { print }' "$tmp/wrk.txt")"
    p50="$(to_ms "$(awk '$1 == "50%" { print $2 }' "$tmp/wrk.txt")")"
    p75="$(to_ms "$(awk '$1 == "75%" { print $2 }' "$tmp/wrk.txt")")"
    p90="$(to_ms "$(awk '$1 == "90%" { print $2 }' "$tmp/wrk.txt")")"
    p99="$(to_ms "$(awk '$1 == "99%" { print $2 }' "$tmp/wrk.txt")")"
    local cpu_us
    cpu_us="$(awk -v d="$((t1 - t0))" -v hz="$hz" -v n="$requests" 'BEGIN { printf "%.1f", d / hz * 1e6 / n }')"
    jq -nc --arg name "$name" --argjson c "$c" --argjson threads "$threads" \
        --argjson duration "$duration" --argjson rps "$rps" --argjson requests "$requests" \
        --argjson non2xx "${non2xx:-0}" --arg errors "$errors" \
        --argjson p50 "$p50" --argjson p75 "$p75" --argjson p90 "$p90" --argjson p99 "$p99" \
        --argjson server_cpu_us "$cpu_us" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
        '{name: $name, connections: $c, threads: $threads, duration_s: $duration,
          requests_per_s: $rps, requests: $requests, non_2xx: $non2xx, socket_errors: $errors,
          p50_ms: $p50, p75_ms: $p75, p90_ms: $p90, p99_ms: $p99,
          server_cpu_us_per_request: $server_cpu_us, load: $load}' | tee -a "$results"
}

echo "# $(date -u +%F) on $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg); wrk: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"

# ---- 1–3: history, server, account, key, monitors -----------------------------------
"$bin/bench-api-seed" --data "$data" --count 100 --days 2 --long-days 90
start_server "RATE_LIMIT_MAX_REQUESTS=100000000"
echo "# server at $base (pid $server_pid), RATE_LIMIT_MAX_REQUESTS=100000000"

email="bench@example.com"
password="bench-password-0123"
creds="$(jq -nc --arg e "$email" --arg p "$password" '{email: $e, password: $p}')"
code="$(curl -sS -o "$tmp/register.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    -d "$creds" "$base/api/auth/register")"
[[ "$code" == 201 ]] || { echo "register: $code $(cat "$tmp/register.json")" >&2; exit 1; }
code="$(curl -sS -o "$tmp/login.json" -D "$tmp/login.headers" -w '%{http_code}' \
    -H 'Content-Type: application/json' -d "$creds" "$base/api/auth/login")"
[[ "$code" == 200 ]] || { echo "login: $code $(cat "$tmp/login.json")" >&2; exit 1; }
access="$(jq -r .accessToken "$tmp/login.json")"
csrf="$(grep -i '^set-cookie: sentinel_csrf=' "$tmp/login.headers" | head -1 | sed -E 's/^[^=]*=([^;]*).*/\1/' | tr -d '\r')"
[[ -n "$csrf" ]] || { echo "no sentinel_csrf cookie in the login answer" >&2; exit 1; }
key="$(curl -sS -f -H "Authorization: Bearer $access" -H "X-CSRF-Token: $csrf" \
    -b "sentinel_csrf=$csrf" -H 'Content-Type: application/json' \
    -d '{"name":"bench","scope":"write"}' "$base/api/api-keys" | jq -r .key)"
[[ "$key" == snt_* ]] || { echo "no API key: $key" >&2; exit 1; }
for n in $(seq -f '%03g' 1 100); do
    body="$(jq -nc --arg id "bench-$n" --arg url "$base/health" \
        '{id: $id, name: ("Bench " + $id), url: $url, interval: "60s", public: true}')"
    code="$(curl -sS -o "$tmp/monitor.json" -w '%{http_code}' -H "Authorization: Bearer $key" \
        -H 'Content-Type: application/json' -d "$body" "$base/api/monitors")"
    [[ "$code" == 201 ]] || { echo "monitor bench-$n: $code $(cat "$tmp/monitor.json")" >&2; exit 1; }
done

auth=(-H "Authorization: Bearer $key")
monitors_url="$base/api/monitors"
badge_url="$base/api/public/monitors/bench-001/badge.svg"
uptime_url="$base/api/public/monitors/bench-001/badge.svg?kind=uptime&period=30d"
health_url="$base/health"
# The floor: a 404 from the fallback through every layer, no store access.
floor_url="$base/bench-no-such-route"

# Every URL answers what it should before anything is timed.
count="$(curl -sS -f "${auth[@]}" "$monitors_url" | jq '.monitors | length')"
[[ "$count" == 100 ]] || { echo "GET /api/monitors lists $count monitors, not 100" >&2; exit 1; }
sizes=""
for u in "$health_url" "$monitors_url" "$badge_url" "$uptime_url"; do
    sizes+="$(curl -sS -f -o /dev/null -w '%{size_download}' "${auth[@]}" "$u") "
done
[[ "$(curl -sS -o /dev/null -w '%{http_code}' "$floor_url")" == 404 ]] || { echo "$floor_url is not a 404" >&2; exit 1; }
curl -sS -f "$uptime_url" | grep -q '<svg' || { echo "the uptime badge is not an SVG" >&2; exit 1; }
echo "# body bytes (health, monitors, status badge, uptime badge): $sizes"
echo "# uptime badge: $(curl -sS "$uptime_url" | grep -o '<text[^>]*>[^<]*</text>' | sed 's/<[^>]*>//g' | sort -u | tr '\n' ' ')"

# ---- 4: wrk ---------------------------------------------------------------------------
for rep in $(seq "$reps"); do
    echo "# rep $rep/$reps (-t2 -c$conns -d${duration}s)"
    run_wrk not_found_404 "$conns" "$floor_url"
    run_wrk health "$conns" "$health_url"
    run_wrk monitors "$conns" "$monitors_url" "${auth[@]}"
    run_wrk badge_status "$conns" "$badge_url"
    run_wrk badge_uptime_30d "$conns" "$uptime_url"
done
echo "# one connection (-t1 -c1 -d${duration}s)"
run_wrk not_found_404 1 "$floor_url"
run_wrk health 1 "$health_url"
run_wrk monitors 1 "$monitors_url" "${auth[@]}"
run_wrk badge_status 1 "$badge_url"
run_wrk badge_uptime_30d 1 "$uptime_url"

# ---- 5: sign-in vs PBKDF2 ------------------------------------------------------------
"$bin/bench-login" --addr "$addr" --email "$email" --password "$password" --n "$login_n" \
    --json "$out/login.jsonl"

# ---- 6: the default general limit: what a 429 costs ----------------------------------
stop_server
start_server ""
echo "# server restarted at $base with the default RATE_LIMIT_MAX_REQUESTS (100 per 15 min)"
run_wrk health_default_limit "$conns" "$base/health"
run_wrk monitors_default_limit "$conns" "$base/api/monitors" "${auth[@]}"
stop_server

# ---- summary -------------------------------------------------------------------------
cat "$results" >>"$out/api.jsonl"
echo
echo "| Route | Connections | Runs | Requests/s (median; range) | p50 ms | p99 ms (median; range) | Non-2xx | Server CPU µs/req | ÷ /health req/s |"
echo "|---|---|---|---|---|---|---|---|---|"
jq -rs '
  def med: sort | .[(length - 1) / 2 | floor];
  (map(select(.name == "health")) | group_by(.connections)
     | map({key: (.[0].connections | tostring), value: (map(.requests_per_s) | med)}) | from_entries) as $base
  | group_by([.connections, .name]) | .[]
  | . as $runs
  | ($runs | map(.requests_per_s) | med) as $rps
  | "| \($runs[0].name) | \($runs[0].connections) | \($runs | length) | \($rps | floor) (\($runs | map(.requests_per_s) | min | floor)–\($runs | map(.requests_per_s) | max | floor)) | \($runs | map(.p50_ms) | med) | \($runs | map(.p99_ms) | med) (\($runs | map(.p99_ms) | min)–\($runs | map(.p99_ms) | max)) | \($runs | map(.non_2xx) | add) of \($runs | map(.requests) | add) | \($runs | map(.server_cpu_us_per_request) | med) | \(if $base[$runs[0].connections | tostring] then ($rps / $base[$runs[0].connections | tostring] * 1000 | round / 1000) else "—" end) |"
' "$results"
