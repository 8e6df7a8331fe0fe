# Sourced by run.sh and run_scaled.sh (needs .venv): the secrets every profile starts with.

# Rasa sends this secret with every action call (endpoints*.yml) and the action server
# refuses calls without it; a fresh random one for this run unless one is given. Every
# Rasa replica and the action server must share it.
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
