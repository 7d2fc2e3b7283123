#!/usr/bin/env bash
# Benchmarks SCIM reads: seeds USERS demo users, starts the release binary, then measures a
# filter `userName eq "…"` (one user among USERS), a filter that finds none, a page of users
# and a group, with wrk at 4 and 16 connections; then provisioning: SCIM POSTs of new users at
# 16 connections for PROVISION (20s), each one an invited user and an invitation in the outbox.
# Writes a table to docs/BENCHMARKS.md. Run by hand; never part of the test suite.
#   bench/scim.sh [USERS] [POSTGRES_URL]      (DURATION=10s)
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${1:-1000000}
PG_URL=${2:-}
DURATION=${DURATION:-10s}
PROVISION=${PROVISION:-20}  # seconds; 0 skips provisioning
PORT=${PORT:-18081}
BASE="http://127.0.0.1:$PORT"
OUT=${OUT:-docs/BENCHMARKS.md}
for tool in wrk curl bc; do
  command -v $tool >/dev/null || { echo "bench: $tool is missing (apt-get install wrk curl bc)"; exit 1; }
done
cargo build --release --quiet
BIN=target/release/concierge
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null && wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
if [ -n "$PG_URL" ]; then DB_URL=$PG_URL; BACKEND=PostgreSQL; else DB_URL="sqlite://$WORK/bench.db"; BACKEND=SQLite; fi
echo "seeding $USERS users on $BACKEND…"
DATABASE_URL=$DB_URL $BIN seed-demo --users "$USERS" --buildings 20 --events 0 --force | tail -1
export SCIM_TOKEN=$(DATABASE_URL=$DB_URL $BIN create-api-token --name bench --maker admin@demo.example \
  --scopes "scim users.view users.manage" --days 7)
# The per-token limit is raised: this measures the server, not the limit.
DATABASE_URL=$DB_URL BIND=127.0.0.1:$PORT MAIL_DIR=$WORK/mail RUST_LOG=warn API_REQUESTS_PER_MINUTE=100000000 \
  $BIN serve > "$WORK/server.log" 2>&1 &
SERVER=$!
until curl -fs "$BASE/readyz" >/dev/null 2>&1; do sleep 0.01; done
auth=(-H "Authorization: Bearer $SCIM_TOKEN")
# One user about halfway through, by the name SCIM knows them by.
ONE=$(curl -fs "${auth[@]}" "$BASE/scim/v2/Users?startIndex=$(( USERS / 2 ))&count=1&attributes=userName" \
  | grep -o '"userName":"[^"]*"' | head -1 | sed 's/"userName":"//; s/"$//')
[ -n "$ONE" ] || { echo "bench: no user found"; exit 1; }
FILTER="/scim/v2/Users?filter=userName%20eq%20%22${ONE//@/%40}%22"
COUNT=$(curl -fs "${auth[@]}" "$BASE$FILTER" | grep -o '"totalResults":[0-9]*')
[ "$COUNT" = '"totalResults":1' ] || { echo "bench: the filter found $COUNT"; exit 1; }

ROWS=()
measure() { # name path
  local row="| $1 | \`$2\` |" errors=0
  for conns in 4 16; do
    local out; out=$(wrk -t2 -c"$conns" -d"$DURATION" --timeout 30s --latency -s bench/scim-get.lua "$BASE$2")
    local rps p99
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    errors=$(( errors + $(echo "$out" | awk '/Non-2xx/ {print $NF}' | grep . || echo 0) ))
    row+=" $rps | $p99 |"
    echo "$1 ($conns connections): $rps req/s, p99 $p99"
  done
  ROWS+=("$row $errors |")
}
measure "filter userName eq (one of $USERS)" "$FILTER"
measure "filter externalId eq (none)" "/scim/v2/Users?filter=externalId%20eq%20%22nobody%22"
measure "a page of 100 users" "/scim/v2/Users?count=100"
measure "a group, without members" "/scim/v2/Groups/2?excludedAttributes=members"

provision() {
  echo "provisioning for ${PROVISION}s at 16 connections…"
  out=$(wrk -t2 -c16 -d"${PROVISION}s" --timeout 30s --latency -s bench/scim-create.lua "$BASE/scim/v2/Users")
  sent=$(echo "$out" | awk '/requests in/ {print $1}')
  refused=$(echo "$out" | awk '/Non-2xx/ {print $NF}' | grep . || echo 0)
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  # What the database holds, not what wrk counted.
  made=$(curl -fs "${auth[@]}" "$BASE/scim/v2/Users?count=0&filter=emails.value%20ew%20%22%40bench.example%22" \
    | grep -o '"totalResults":[0-9]*' | cut -d: -f2)
  rate=$(echo "scale=1; $made / $PROVISION" | bc)
  echo "provisioning: $made users made in ${PROVISION}s ($rate/s), $refused refused of $sent, p99 $p99"
  PROVISIONED="Provisioning: SCIM \`POST /Users\` of new users, 16 connections for ${PROVISION} s: **$made users made**
(read back by a filter), **$rate users/s**, $refused of $sent requests refused, p99 $p99."
}
PROVISIONED=""
[ "$PROVISION" = 0 ] || provision

{
  echo "## SCIM at $USERS users on $BACKEND — $(date -u +%Y-%m-%d)"
  echo
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/ {print $2}') GiB."
  echo "Command: \`bench/scim.sh $USERS${PG_URL:+ <postgres-url>}\` (wrk, 2 threads, $DURATION each)."
  echo
  echo '| request | path | req/s (4 conn.) | p99 (4) | req/s (16 conn.) | p99 (16) | non-2xx |'
  echo '|---|---|---|---|---|---|---|'
  printf '%s\n' "${ROWS[@]}"
  echo
  [ -z "$PROVISIONED" ] || printf '%s\n\n' "$PROVISIONED"
  echo
} | tee -a "$OUT"
