#!/usr/bin/env bash
# Before `make test`: the servers the tests use for real. PostgreSQL, Redis and RabbitMQ
# (the scale-out profile's, on loopback) and Chromium (the browser tests).
#
# Missing ones are installed from Debian's packages and started on loopback when this
# runs as root on Debian; otherwise this says which are missing and how to get them.
# It prints the pytest marker expression that leaves out what still cannot run (empty
# when everything is there); tests/conftest.py makes those tests fail, or skip with
# ALLOW_MISSING_SERVICES=1.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

services_missing() { "$PY" -m deploy.check_services >/dev/null 2>&1 && return 1 || return 0; }
browser_missing() { ! command -v chromium >/dev/null || ! fc-list :lang=zh 2>/dev/null | grep -q .; }
can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }

apt_install() {
  apt-get install -y -qq "$@" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$@" >/dev/null 2>&1; }
}

start_services() {
  # The same commands this project's CI machines start them with.
  if ! pg_isready -q -h 127.0.0.1 2>/dev/null; then
    cluster=$(ls /etc/postgresql 2>/dev/null | head -n 1)
    [ -n "$cluster" ] && pg_ctlcluster --skip-systemctl-redirect "$cluster" main start 2>/dev/null
    # Trust on loopback for the test database, as the scale-out profile's defaults assume.
    hba=/etc/postgresql/$cluster/main/pg_hba.conf
    if [ -f "$hba" ] && ! grep -q "^host all all 127.0.0.1/32 trust" "$hba"; then
      sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
      pg_ctlcluster --skip-systemctl-redirect "$cluster" main reload 2>/dev/null
    fi
    su postgres -c "createdb test" 2>/dev/null
  fi
  redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 \
    --port 6379 --save "" --appendonly no >/dev/null 2>&1
  if ! "$PY" -m deploy.check_services 2>&1 | grep -q RabbitMQ; then :; else
    rabbitmq-server -detached >/dev/null 2>&1
    for _ in $(seq 60); do "$PY" -m deploy.check_services >/dev/null 2>&1 && break; sleep 1; done
  fi
}

if services_missing && can_install; then
  echo "make test: 安装并启动 PostgreSQL、Redis、RabbitMQ / installing and starting them" >&2
  apt_install postgresql redis-server rabbitmq-server
  start_services
fi
if browser_missing && can_install; then
  echo "make test: 安装 Chromium 和中文字体 / installing Chromium and a CJK font" >&2
  apt_install chromium fonts-wqy-microhei
fi

# The screenshot reader's opencv-python (rapidocr's dependency) loads libGL.so.1.
if ! ldconfig -p 2>/dev/null | grep -q 'libGL\.so\.1' && can_install; then
  echo "make test: 安装 libgl1（截图识别需要）/ installing libgl1 for the OCR" >&2
  apt_install libgl1
fi

left_out=()
if services_missing; then
  "$PY" -m deploy.check_services >&2
  echo "  Debian: apt-get install postgresql redis-server rabbitmq-server (as root), then start them" >&2
  left_out+=("not scale")
fi
if browser_missing; then
  echo "✗ Chromium 或中文字体缺失 / Chromium or a CJK font is missing: apt-get install chromium fonts-wqy-microhei" >&2
  left_out+=("not browser")
fi
joined=""
for part in "${left_out[@]+"${left_out[@]}"}"; do joined="${joined:+$joined and }$part"; done
echo "$joined"
