#!/usr/bin/env bash
# civicport on the shared SODA workload, measured beside the Datasette anchor in the same run.
#
#   bash bench/civicport_bench.sh all        # prep the anchor data, import, serve, load both, stop
#   bash bench/civicport_bench.sh imports|import|import_anchor|serve|load|stop
#   bash bench/civicport_bench.sh pages      # the web pages (bench_pages.py), after prepare and import
#   bash bench/civicport_bench.sh anchor serve|load|stop   # a step of the shared anchor script
#
# Environment (all optional):
#   BENCH_DIR   where the CSV, databases, logs and results go   (default /tmp/cpbench)
#   SHARED      the folder holding the shared bench/            (default ../shared next to the repo)
#   PORT        civicport port on 127.0.0.1                     (default 8000)
#   WORKERS     civicport server processes                      (default 2, one per core)
#   LOAD_ARGS   extra arguments for load.py, e.g. "--duration 5 --queries Q1,Q2"
#   PAGES_ARGS  extra arguments for bench_pages.py, e.g. "--requests 50 --no-browser"
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
SHARED=${SHARED:-$(cd "$REPO/../shared" && pwd)}
DIR=${BENCH_DIR:-/tmp/cpbench}
PORT=${PORT:-8000}
WORKERS=${WORKERS:-2}
CP_HOME=$DIR/civicport-home
CSV=$DIR/service_requests.csv
LOGS=$DIR/logs
DATASET_ID=bnch-0311
# The privacy guard flags the generated addresses and notes; going public needs a decision.
SYNTHETIC="Generated benchmark rows: no real person or place"
CIVICPORT=${CIVICPORT:-$REPO/.venv/bin/civicport}
mkdir -p "$LOGS"

anchor() { BENCH_DIR=$DIR bash "$SHARED/bench/datasette_anchor.sh" "$@"; }

prepare() {  # the anchor's venv, the 1M-row CSV and its indexed SQLite copy (reference for --verify-db)
  [ -x "$DIR/venv/bin/datasette" ] || anchor setup
  [ -f "$CSV" ] || anchor data
  [ -f "$DIR/service_requests.db" ] || { anchor ingest; anchor index; }
}

import() {
  rm -rf "$CP_HOME"
  CIVICPORT_HOME=$CP_HOME /usr/bin/time -v -o "$LOGS/civicport_import.time" \
    "$CIVICPORT" import "$CSV" --title "311 benchmark" --id "$DATASET_ID" --audience public \
    --privacy "address=accept:$SYNTHETIC" --privacy "description=accept:$SYNTHETIC" \
    > "$LOGS/civicport_import.out" 2>&1
  report "civicport import" "$LOGS/civicport_import.time"
}

# On this machine (a VM) a freshly written database is often only partly in the page cache, and
# a server whose file is half on disk measures the disk. Each server's file is read once before
# it is loaded, so both start warm.
warm() { cat "$@" > /dev/null; }

import_anchor() {  # sqlite-utils' import of the same CSV, into a scratch file (the verified copy stays)
  local scratch=$DIR/import_timing.db
  rm -f "$scratch" "$scratch-journal"
  /usr/bin/time -v -o "$LOGS/sqlite_utils_import.time" "$DIR/venv/bin/sqlite-utils" insert \
    "$scratch" service_requests "$CSV" --csv > "$LOGS/sqlite_utils_import.out" 2>&1
  rm -f "$scratch"
  report "sqlite-utils insert" "$LOGS/sqlite_utils_import.time"
}

imports() {  # both imports, alternately, twice: the import ratio from one session
  for _ in 1 2; do import_anchor; import; done
}

report() {  # report NAME TIME_FILE: wall time and peak RSS from a /usr/bin/time -v report
  printf '%-22s wall %s peak RSS %d MB\n' "$1" \
    "$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$2")" \
    $(( $(sed -n 's/.*Maximum resident set size (kbytes): //p' "$2") / 1024 )) \
    | tee -a "$LOGS/steps.txt"
}

serve() {
  warm "$CP_HOME/civicport.db"
  # The load generator is one client sending far more than an anonymous reader may: the
  # per-client rate limit is off here (an empty limit disables it).
  CIVICPORT_HOME=$CP_HOME CIVICPORT_RATE_LIMIT_ANONYMOUS= nohup "$CIVICPORT" serve --host 127.0.0.1 --port "$PORT" \
    --workers "$WORKERS" > "$LOGS/civicport_serve.out" 2>&1 &
  echo $! > "$DIR/civicport.pid"
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT/resource/$DATASET_ID.json?\$limit=1" >/dev/null && return 0
    sleep 0.2
  done
  echo "civicport did not start; see $LOGS/civicport_serve.out" >&2; exit 1
}

load() {
  # shellcheck disable=SC2086  # LOAD_ARGS is a list of words by design
  SHARED=$SHARED "$DIR/venv/bin/python" "$HERE/load_verified.py" "http://127.0.0.1:$PORT" --column soda_path \
    --var "dataset_id=$DATASET_ID" --server-pid "$(cat "$DIR/civicport.pid")" \
    --verify-db "$DIR/service_requests.db" --json "$DIR/results_civicport.json" ${LOAD_ARGS:-} \
    | tee "$LOGS/civicport_load.txt"
}

stop() { [ -f "$DIR/civicport.pid" ] && kill "$(cat "$DIR/civicport.pid")" 2>/dev/null; rm -f "$DIR/civicport.pid"; }

all() {
  prepare
  imports
  serve
  trap stop EXIT
  load
  stop
  warm "$DIR/service_requests.db"
  anchor serve
  anchor load
  anchor stop
}

pages() {  # the web pages on 1,000 small datasets beside the 1M-row one, one worker
  # shellcheck disable=SC2086  # PAGES_ARGS is a list of words by design
  BENCH_DIR=$DIR "$(dirname "$CIVICPORT")/python" "$HERE/bench_pages.py" --source "$CP_HOME" \
    --big-id "$DATASET_ID" --out "$DIR/results_pages.json" ${PAGES_ARGS:-} | tee "$LOGS/pages.txt"
}

command=${1:-all}
shift || true
"$command" "$@"
