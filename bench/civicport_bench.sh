#!/usr/bin/env bash
# civicport on the shared SODA workload, measured beside the Datasette anchor in the same run.
#
#   bash bench/civicport_bench.sh all        # prep the anchor data, import, serve, load both, stop
#   bash bench/civicport_bench.sh import|serve|load|anchor|stop
#
# Environment (all optional):
#   BENCH_DIR   where the CSV, databases, logs and results go   (default /tmp/cpbench)
#   SHARED      the folder holding the shared bench/            (default ../shared next to the repo)
#   PORT        civicport port on 127.0.0.1                     (default 8000)
#   WORKERS     civicport server processes                      (default 2, one per core)
#   LOAD_ARGS   extra arguments for load.py, e.g. "--duration 5 --queries Q1,Q2"
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
    > "$LOGS/civicport_import.out" 2>&1
  printf 'civicport import       wall %s peak RSS %d MB\n' \
    "$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$LOGS/civicport_import.time")" \
    $(( $(sed -n 's/.*Maximum resident set size (kbytes): //p' "$LOGS/civicport_import.time") / 1024 )) \
    | tee -a "$LOGS/steps.txt"
}

serve() {
  CIVICPORT_HOME=$CP_HOME nohup "$CIVICPORT" serve --host 127.0.0.1 --port "$PORT" \
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
  import
  serve
  trap stop EXIT
  load
  stop
  anchor serve
  anchor load
  anchor stop
}

"${1:-all}"
