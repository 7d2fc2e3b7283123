#!/usr/bin/env bash
# Compares two builds of the portal on one page, taking turns so that the machine's drift
# falls on both: seeds USERS demo users for each (SQLite), signs in as the demo administrator,
# and prints req/s and p99 per round and number of connections.
#   bench/compare.sh OLD_BINARY NEW_BINARY [PAGE]      (PAGE defaults to /users?per_page=100)
# Build the old one from an earlier commit first, e.g.
#   git stash; git checkout <commit> && cargo build --release && cp target/release/concierge /tmp/concierge-old
# Needs wrk and curl. Run by hand, with nothing else running.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=$1 NEW=$2 PAGE=${3:-/users?per_page=100}
USERS=${USERS:-100000} ROUNDS=${ROUNDS:-3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for side in old new; do
  BIN=$OLD; [ $side = new ] && BIN=$NEW
  mkdir -p "$WORK/$side"
  DATABASE_URL=sqlite://$WORK/$side/db.sqlite $BIN seed-demo --users "$USERS" --buildings $((USERS / 100 + 20)) --events 0 --force | tail -1
done
round() { # side port
  local side=$1 port=$2 BIN=$OLD
  [ $side = new ] && BIN=$NEW
  local BASE=http://127.0.0.1:$port JAR=$WORK/$side/jar
  DATABASE_URL=sqlite://$WORK/$side/db.sqlite BIND=127.0.0.1:$port MAIL_DIR=$WORK/$side/mail RUST_LOG=warn $BIN serve > "$WORK/$side/log" 2>&1 &
  local SERVER=$!
  until curl -fs "$BASE/readyz" >/dev/null 2>&1; do sleep 0.05; done
  rm -f "$JAR"
  TOKEN=$(curl -fs -c "$JAR" "$BASE/sign-in" | grep -o 'name="csrf_token" value="[^"]*' | head -1 | sed 's/.*value="//')
  curl -fs -b "$JAR" -c "$JAR" -o /dev/null --data-urlencode "csrf_token=$TOKEN" \
    --data-urlencode "email=admin@demo.example" --data-urlencode "password=demo-harbor-lantern-2026" "$BASE/sign-in"
  export BENCH_COOKIE="concierge_session=$(awk '$6 == "concierge_session" {print $7}' "$JAR")"
  wrk -t2 -c4 -d3s -s bench/cookie.lua "$BASE$PAGE" >/dev/null
  for c in 4 16; do
    out=$(wrk -t2 -c$c -d10s --latency -s bench/cookie.lua "$BASE$PAGE")
    echo "$side c=$c $(echo "$out" | awk '/Requests\/sec/ {print $2}') req/s, p99 $(echo "$out" | awk '$1=="99%" {print $2}')"
  done
  kill $SERVER; wait $SERVER 2>/dev/null || true
}
for _ in $(seq "$ROUNDS"); do round old 18101; round new 18102; done
