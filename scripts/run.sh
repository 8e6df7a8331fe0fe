#!/usr/bin/env bash
# Starts the action server, the Rasa server and the staff console together; Ctrl-C (or
# any one of them dying) stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false
RASA_PORT=${RASA_PORT:-5005}
ACTION_PORT=${ACTION_PORT:-5055}
# The staff console (python -m staff) reads STAFF_HOST / STAFF_PORT itself: 127.0.0.1:5080.
STAFF_PORT=${STAFF_PORT:-5080}
export STAFF_PORT
MODEL=${MODEL:-models/assistant.tar.gz}
source scripts/server_secrets.sh
# One TensorFlow thread per pool: the server's concurrency is its event loop's, and on a
# small machine TF's own pools only contend with it (bench/perf.py measures the effect).
export TF_INTRA_OP_PARALLELISM_THREADS=${TF_INTRA_OP_PARALLELISM_THREADS:-1}
export TF_INTER_OP_PARALLELISM_THREADS=${TF_INTER_OP_PARALLELISM_THREADS:-1}

ENDPOINTS=endpoints.yml
if [ "$ACTION_PORT" != 5055 ]; then
  # endpoints.yml names :5055; point Rasa at the port asked for instead.
  ENDPOINTS=$(mktemp --suffix=.yml)
  sed "s#localhost:5055#localhost:$ACTION_PORT#" endpoints.yml > "$ENDPOINTS"
fi

# The action server writes handoff records to the same tracker store.
export ENDPOINTS
.venv/bin/rasa run actions --actions actions --port "$ACTION_PORT" &
actions_pid=$!
.venv/bin/python -m server run --model "$MODEL" --port "$RASA_PORT" \
  --endpoints "$ENDPOINTS" --credentials credentials.yml ${api_args[@]+"${api_args[@]}"} &
rasa_pid=$!
# Its own process on its own (loopback) port, never a route of the public Rasa server.
# Niced: on a shared host the customers' turns come before staff pages (bench-staff).
nice -n "${STAFF_NICE:-10}" .venv/bin/python -m staff &
staff_pid=$!

stop() {
  trap - INT TERM EXIT
  kill -TERM "$actions_pid" "$rasa_pid" "$staff_pid" 2>/dev/null || true
  wait "$actions_pid" "$rasa_pid" "$staff_pid" 2>/dev/null || true
  [ "$ENDPOINTS" = endpoints.yml ] || rm -f "$ENDPOINTS"
}
trap stop INT TERM EXIT
echo "反诈助手: REST http://localhost:$RASA_PORT/webhooks/rest/webhook, actions :$ACTION_PORT," \
  "staff console http://${STAFF_HOST:-127.0.0.1}:$STAFF_PORT/staff (Ctrl-C stops all three)"
wait -n "$actions_pid" "$rasa_pid" "$staff_pid"
