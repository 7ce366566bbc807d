#!/usr/bin/env bash
# Sentinel's benchmarks (see bench/RESULTS.md). Builds the release binaries first.
#
#   bench/run.sh            # all four
#   bench/run.sh tls        # CPU per fresh HTTPS check vs curl
#   bench/run.sh engine     # the engine at 10,000 monitors / 60 s (4 minutes)
#   bench/run.sh stats      # 90-day window from rollups vs a raw scan
#   bench/run.sh api        # the API under wrk (100 monitors, badges) and login vs PBKDF2
#   bench/run.sh coldstart  # each Lambda function: process start → first event answered
#
# Environment: CARGO_TARGET_DIR (default: the workspace's target/), ENGINE_DURATION
# (seconds, default 240: one warm-up interval + 3 steady minutes), TLS_N (checks per
# run, default 2000); for `api` see bench/api.sh (API_DURATION, API_REPS, …).
# Results: printed, and appended as JSON lines to bench/out/.
set -euo pipefail

cd "$(dirname "$0")/.."
what="${1:-all}"
case "$what" in all|tls|engine|stats|api|coldstart) ;; *)
    echo "usage: $0 [all|tls|engine|stats|api|coldstart]" >&2; exit 2 ;;
esac

functions=(auth users monitors metrics export api-keys public ecs scheduler prober notifier ecs-collector)
if [[ "$what" == all || "$what" == api ]]; then
    cargo build --release -p sentinel-bench -p sentinel-server
elif [[ "$what" == coldstart ]]; then
    cargo build --release -p sentinel-bench "${functions[@]/#/--package=sentinel-fn-}"
else
    cargo build --release -p sentinel-bench
fi
bin="${CARGO_TARGET_DIR:-target}/release"
out="bench/out"
mkdir -p "$out"

echo "# $(date -u +%F) on $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)"

if [[ "$what" == all || "$what" == tls ]]; then
    command -v curl >/dev/null || { echo "curl is needed for the tls benchmark" >&2; exit 1; }
    n="${TLS_N:-2000}"
    # Headline: one thread each side, IP literal (no DNS), both TLS 1.3 + X25519.
    "$bin/bench-tls" --n "$n" --reps 3 --json "$out/tls.jsonl"
    # As the engine runs it: multi-thread runtime.
    "$bin/bench-tls" --n "$n" --reps 3 --runtime multi --json "$out/tls.jsonl"
    # With a host name: the prober resolves it on every check, curl caches it.
    "$bin/bench-tls" --n "$n" --reps 3 --host localhost --json "$out/tls.jsonl"
fi

if [[ "$what" == all || "$what" == engine ]]; then
    # 10,000 monitors need ~20 fds here, but leave room for slow targets (max_in_flight).
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
    "$bin/bench-engine" --monitors 10000 --interval 60 \
        --duration "${ENGINE_DURATION:-240}" --json "$out/engine.jsonl"
fi

if [[ "$what" == all || "$what" == stats ]]; then
    "$bin/bench-stats" --days 90 --json "$out/stats.jsonl"
fi

if [[ "$what" == all || "$what" == api ]]; then
    bench/api.sh
fi

if [[ "$what" == all || "$what" == coldstart ]]; then
    [[ "$what" == all ]] && cargo build --release "${functions[@]/#/--package=sentinel-fn-}"
    scripts/test-services install
    services_env=$(scripts/test-services start)
    eval "$services_env"
    trap 'scripts/test-services stop "$SENTINEL_SERVICES_DIR"' EXIT
    "$bin/bench-cold-start" --bin-dir "$bin" --endpoint "$SENTINEL_TEST_AWS_ENDPOINT" \
        --runs "${COLD_RUNS:-15}" --json "$out/cold-start.jsonl"
    echo
    echo "| Function | bootstrap, stripped | zipped |"
    echo "|---|---|---|"
    for f in "${functions[@]}"; do
        python3 - "$bin/$f" "$f" <<'PY'
import io, os, sys, zipfile
path, name = sys.argv[1], sys.argv[2]
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    z.write(path, "bootstrap")
print(f"| `{name}` | {os.path.getsize(path) / 1e6:.1f} MB | {len(buf.getvalue()) / 1e6:.1f} MB |")
PY
    done
fi
