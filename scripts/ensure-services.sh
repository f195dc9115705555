#!/usr/bin/env bash
# Makes sure Redis (127.0.0.1:6379) and NATS with JetStream (127.0.0.1:4222) answer, starting
# them from the installed binaries when nothing listens. Exits 1 with the way to get them otherwise.
set -u
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 1 50); do listening "$1" && return 0; sleep 0.1; done; return 1; }
missing=0

if ! listening 6379; then
  if command -v redis-server >/dev/null; then
    echo "starting redis-server on 127.0.0.1:6379"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    wait_port 6379 || { echo "redis-server did not come up on 6379"; missing=1; }
  else
    echo "Redis is not reachable on 127.0.0.1:6379 and redis-server is not installed."
    echo "  start it with:  apt-get install redis-server   (or: docker compose up -d redis)"
    missing=1
  fi
fi

if ! listening 4222; then
  if command -v nats-server >/dev/null; then
    echo "starting nats-server (JetStream) on 127.0.0.1:4222"
    mkdir -p "${TMPDIR:-/tmp}/berth-nats"
    nohup nats-server -a 127.0.0.1 -p 4222 -js -sd "${TMPDIR:-/tmp}/berth-nats" >/dev/null 2>&1 &
    wait_port 4222 || { echo "nats-server did not come up on 4222"; missing=1; }
  else
    echo "NATS is not reachable on 127.0.0.1:4222 and nats-server is not installed."
    echo "  start it with:  apt-get install nats-server && nats-server -js   (or: docker compose up -d nats)"
    missing=1
  fi
fi
exit $missing
