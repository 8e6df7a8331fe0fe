#!/usr/bin/env bash
# Scale-out profile on this machine: one action server and several Rasa replicas sharing
# PostgreSQL (conversations), Redis (per-conversation locks) and RabbitMQ (event stream),
# as endpoints.scale.yml describes. Ctrl-C stops everything. A replica that dies is
# reported and the others keep serving (that is the point of replicas); the profile stops
# when the action server or the last replica stops.
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2

MODEL=${MODEL:-models/assistant.tar.gz}
ACTION_PORT=${ACTION_PORT:-5055}
RASA_PORTS=${RASA_PORTS:-"5005 5006"}

# endpoints.scale.yml names these without defaults (Rasa refuses unset variables), so the
# loopback defaults live here. Override any of them in the environment.
export ACTION_SERVER_URL=${ACTION_SERVER_URL:-http://127.0.0.1:$ACTION_PORT/webhook}
export DB_HOST=${DB_HOST:-127.0.0.1} DB_PORT=${DB_PORT:-5432} DB_DATABASE=${DB_DATABASE:-test}
export DB_USER=${DB_USER:-postgres} DB_PASSWORD=${DB_PASSWORD:-}
export REDIS_HOST=${REDIS_HOST:-127.0.0.1} REDIS_PORT=${REDIS_PORT:-6379} REDIS_DB=${REDIS_DB:-1}
export REDIS_PASSWORD=${REDIS_PASSWORD:-} REDIS_KEY_PREFIX=${REDIS_KEY_PREFIX:-fanzha}
export RABBITMQ_HOST=${RABBITMQ_HOST:-127.0.0.1} RABBITMQ_PORT=${RABBITMQ_PORT:-5672}
export RABBITMQ_USERNAME=${RABBITMQ_USERNAME:-guest} RABBITMQ_PASSWORD=${RABBITMQ_PASSWORD:-guest}
export RABBITMQ_EXCHANGE=${RABBITMQ_EXCHANGE:-fanzha-events} RABBITMQ_QUEUE=${RABBITMQ_QUEUE:-rasa_events}
# The action server writes handoff records to the tracker store this file names.
export ENDPOINTS=endpoints.scale.yml
# Rate-limit buckets and the WeChat channel's nonces, MsgIds and buttons in the same Redis
# (core/settings.py, server/shared_state.py): the replicas allow one limit between them,
# and a WeChat retry or replay is recognised on whichever replica it lands.
export SHARED_STATE=${SHARED_STATE:-redis}

source scripts/server_secrets.sh

if [ ! -f "$MODEL" ]; then
  echo "找不到模型 $MODEL，请先运行 make train / model $MODEL missing: run make train" >&2
  exit 2
fi
# Rasa waits silently forever for a missing PostgreSQL: say what is missing up front.
.venv/bin/python -m deploy.check_services || exit 2

pids=()
relay_pid=""
stop() {
  trap - INT TERM EXIT
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  # The relay last: it sends what the replicas stored while stopping, then exits.
  if [ -n "$relay_pid" ]; then
    kill -TERM "$relay_pid" 2>/dev/null || true
    wait "$relay_pid" 2>/dev/null || true
  fi
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

# PostgreSQL's events table -> RabbitMQ, nothing lost (deploy/event_relay.py). Started
# before the replicas so that its cursor exists before their first event.
# Each child in a session of its own: Ctrl-C reaches this script alone, which stops them
# in order and exits 130; otherwise a child that died of the same SIGINT first could be
# taken for a crash (exit 1), depending on which process the signal reached first.
setsid .venv/bin/python -m deploy.event_relay &
relay_pid=$!
relay_reported=0

setsid .venv/bin/rasa run actions --actions actions --port "$ACTION_PORT" &
actions_pid=$!
pids+=("$actions_pid")
rasa_pids=()
for port in $RASA_PORTS; do
  setsid .venv/bin/python -m server run --model "$MODEL" --endpoints "$ENDPOINTS" \
    --credentials credentials.yml --port "$port" ${api_args[@]+"${api_args[@]}"} &
  rasa_pids+=($!)
  pids+=($!)
done

echo "反诈助手 scale-out profile (models load in about a minute; Ctrl-C stops all):"
for port in $RASA_PORTS; do
  echo "  replica  REST http://127.0.0.1:$port/webhooks/rest/webhook  widget http://127.0.0.1:$port/chat"
done
echo "  actions  http://127.0.0.1:$ACTION_PORT/webhook"
echo "  relay    deploy.event_relay: PostgreSQL events -> RabbitMQ exchange $RABBITMQ_EXCHANGE"
echo "  stores   PostgreSQL $DB_HOST:$DB_PORT/$DB_DATABASE, Redis $REDIS_HOST:$REDIS_PORT/$REDIS_DB, RabbitMQ $RABBITMQ_HOST:$RABBITMQ_PORT exchange $RABBITMQ_EXCHANGE queue $RABBITMQ_QUEUE"

while true; do
  wait -n || true
  if ! kill -0 "$actions_pid" 2>/dev/null; then
    echo "动作服务器已停止 / the action server stopped: stopping the profile" >&2
    exit 1
  fi
  if [ "$relay_reported" -eq 0 ] && ! kill -0 "$relay_pid" 2>/dev/null; then
    echo "事件中继已停止：事件仍在 PostgreSQL，重启中继后补发 / the event relay stopped: events stay in PostgreSQL and are sent when it runs again (python -m deploy.event_relay)" >&2
    relay_reported=1
  fi
  alive=0
  for pid in "${rasa_pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then alive=$((alive + 1)); fi
  done
  if [ "$alive" -eq 0 ]; then
    echo "所有 Rasa 副本都已停止 / every Rasa replica stopped: stopping the profile" >&2
    exit 1
  fi
  echo "一个 Rasa 副本已停止，其余 $alive 个继续服务 / a replica stopped, $alive still serving" >&2
done
