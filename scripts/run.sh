#!/usr/bin/env bash
# Starts the action server and the Rasa server together; Ctrl-C (or either one dying)
# stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false
RASA_PORT=${RASA_PORT:-5005}
ACTION_PORT=${ACTION_PORT:-5055}
MODEL=${MODEL:-models/assistant.tar.gz}
# Rasa sends this secret with every action call (endpoints.yml) and the action server
# refuses calls without it; a fresh random one for this run unless one is given.
if [ -z "${ACTION_SERVER_SECRET:-}" ]; then
  ACTION_SERVER_SECRET=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))')
fi
export ACTION_SERVER_SECRET

# Rasa's HTTP API (trackers, parse, model) stays off; an internal profile turns it on by
# setting RASA_API_JWT_SECRET, and then only behind HS256 JWTs, never --auth-token (one
# static token in the URL, compared in plain). Note: the secret shows in `ps` output.
api_args=()
if [ -n "${RASA_API_JWT_SECRET:-}" ]; then
  if [ ${#RASA_API_JWT_SECRET} -lt 32 ]; then
    echo "RASA_API_JWT_SECRET must be at least 32 characters (e.g. openssl rand -hex 32)" >&2
    exit 2
  fi
  api_args=(--enable-api --jwt-secret "$RASA_API_JWT_SECRET" --jwt-method HS256)
fi

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
.venv/bin/rasa run --model "$MODEL" --port "$RASA_PORT" \
  --endpoints "$ENDPOINTS" --credentials credentials.yml ${api_args[@]+"${api_args[@]}"} &
rasa_pid=$!

stop() {
  trap - INT TERM EXIT
  kill -TERM "$actions_pid" "$rasa_pid" 2>/dev/null || true
  wait "$actions_pid" "$rasa_pid" 2>/dev/null || true
  [ "$ENDPOINTS" = endpoints.yml ] || rm -f "$ENDPOINTS"
}
trap stop INT TERM EXIT
echo "反诈助手: REST http://localhost:$RASA_PORT/webhooks/rest/webhook, actions :$ACTION_PORT (Ctrl-C stops both)"
wait -n "$actions_pid" "$rasa_pid"
