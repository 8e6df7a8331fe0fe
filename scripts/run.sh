#!/usr/bin/env bash
# `make run`: the action server, the Rasa server and the staff console, kept running by
# deploy/supervise.py.
# A process that dies is restarted after a back-off, with a log line saying what
# happened; a spare Rasa server (RASA_SPARES, default 1) loads the model beforehand and
# takes the port over within a second when the serving one dies; while the action server
# is down, the Rasa server answers with the safe reply. Ctrl-C stops everything (exit 130).
# Under systemd: docs/systemd.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false
RASA_PORT=${RASA_PORT:-5005}
ACTION_PORT=${ACTION_PORT:-5055}
# The staff console (python -m staff) reads STAFF_HOST / STAFF_PORT itself: 127.0.0.1:5080.
STAFF_PORT=${STAFF_PORT:-5080}
export STAFF_PORT
MODEL=${MODEL:-models/assistant.tar.gz}
# Each spare holds a second copy of the model in memory; RASA_SPARES=0 saves that, and a
# Rasa server that dies is then back after a cold start (about a minute).
RASA_SPARES=${RASA_SPARES:-1}
if ! [[ "$RASA_SPARES" =~ ^[0-8]$ ]]; then
  echo "RASA_SPARES 必须是 0 到 8 / RASA_SPARES must be 0 to 8, got '$RASA_SPARES'" >&2
  exit 2
fi
source scripts/server_secrets.sh
# One TensorFlow thread per pool: the server's concurrency is its event loop's, and on a
# small machine TF's own pools only contend with it (bench/perf.py measures the effect).
export TF_INTRA_OP_PARALLELISM_THREADS=${TF_INTRA_OP_PARALLELISM_THREADS:-1}
export TF_INTER_OP_PARALLELISM_THREADS=${TF_INTER_OP_PARALLELISM_THREADS:-1}

ENDPOINTS=endpoints.yml
cleanup=()
if [ "$ACTION_PORT" != 5055 ]; then
  # endpoints.yml names :5055; point Rasa at the port asked for instead.
  ENDPOINTS=$(mktemp --suffix=.yml)
  sed "s#localhost:5055#localhost:$ACTION_PORT#" endpoints.yml > "$ENDPOINTS"
  cleanup=(--remove-on-exit "$ENDPOINTS")
fi

# The action server writes handoff records to the same tracker store.
export ENDPOINTS
# Every Rasa server binds its port only when it is free: the spare waits for it.
export SERVER_WAIT_FOR_PORT=1
echo "反诈助手: REST http://localhost:$RASA_PORT/webhooks/rest/webhook, actions :$ACTION_PORT," \
  "staff console http://${STAFF_HOST:-127.0.0.1}:$STAFF_PORT/staff (Ctrl-C stops all three)"
# exec: the supervisor is this process, so a Ctrl-C reaches it and it alone (each child
# runs in a session of its own), and it stops the children in order. The staff console is
# its own process on its own (loopback) port, never a route of the public Rasa server;
# niced, so on a shared host customers' turns come before staff pages.
exec .venv/bin/python -m deploy.supervise ${cleanup[@]+"${cleanup[@]}"} \
  -- "actions@$ACTION_PORT" .venv/bin/rasa run actions --actions actions --port "$ACTION_PORT" \
  -- "rasa@$RASA_PORT:$((RASA_SPARES + 1))" .venv/bin/python -m server run --model "$MODEL" \
  --port "$RASA_PORT" --endpoints "$ENDPOINTS" --credentials credentials.yml \
  ${api_args[@]+"${api_args[@]}"} \
  -- "staff@$STAFF_PORT" nice -n "${STAFF_NICE:-10}" .venv/bin/python -m staff
