#!/usr/bin/env bash
# Benchmarks Concierge: seeds USERS demo users, starts the release binary, signs in, and drives
# it with wrk. Prints one table and writes it to docs/BENCHMARKS.md.
#   bench/run.sh [USERS] [POSTGRES_URL]
# EVENTS (default 1,000,000) audit events are seeded too, over a year, for the Audit log's pages.
# Run by hand; never part of the test suite. Needs wrk, curl and bc (apt-get install wrk curl bc).
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${1:-100000}
PG_URL=${2:-}
DURATION=${DURATION:-10s}
# Each page is measured at each of these numbers of connections.
CONNECTIONS=${CONNECTIONS:-4 16}
PORT=${PORT:-18080}
BASE="http://127.0.0.1:$PORT"
OUT=${OUT:-docs/BENCHMARKS.md}
EVENTS=${EVENTS:-1000000}

for tool in wrk curl bc; do
  command -v $tool >/dev/null || { echo "bench: $tool is missing (apt-get install wrk curl bc)"; exit 1; }
done
cargo build --release --quiet
BIN=target/release/concierge
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null && wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT

if [ -n "$PG_URL" ]; then DB_URL=$PG_URL; BACKEND=PostgreSQL; else DB_URL="sqlite://$WORK/bench.db"; BACKEND=SQLite; fi
echo "seeding $USERS users on $BACKEND…"
SEED_START=$(date +%s.%N)
DATABASE_URL=$DB_URL $BIN seed-demo --users "$USERS" --buildings $(( USERS / 100 + 20 )) --events "$EVENTS" --force | tail -1
SEED_SECONDS=$(echo "$(date +%s.%N) - $SEED_START" | bc)

START=$(date +%s%N)
DATABASE_URL=$DB_URL BIND=127.0.0.1:$PORT MAIL_DIR=$WORK/mail RUST_LOG=warn $BIN serve > "$WORK/server.log" 2>&1 &
SERVER=$!
until curl -fs "$BASE/readyz" >/dev/null 2>&1; do sleep 0.005; done
READY_MS=$(( ($(date +%s%N) - START) / 1000000 ))
IDLE_KB=$(awk '/VmRSS/ {print $2}' /proc/$SERVER/status)
IDLE_OWN_KB=$(awk '/RssAnon/ {print $2}' /proc/$SERVER/status)

# Sign in as the demo administrator; keep the session cookie for wrk.
JAR=$WORK/jar
TOKEN=$(curl -fs -c "$JAR" "$BASE/sign-in" | grep -o 'name="csrf_token" value="[^"]*' | head -1 | sed 's/.*value="//')
curl -fs -b "$JAR" -c "$JAR" -o /dev/null --data-urlencode "csrf_token=$TOKEN" \
  --data-urlencode "email=admin@demo.example" --data-urlencode "password=demo-harbor-lantern-2026" "$BASE/sign-in"
export BENCH_COOKIE="concierge_session=$(awk '$6 == "concierge_session" {print $7}' "$JAR")"
# (To a file first: `grep -q` closing the pipe early made curl fail, and pipefail with it.)
curl -fs -o "$WORK/users.html" -H "Cookie: $BENCH_COOKIE" "$BASE/users"
grep -q "Add New User" "$WORK/users.html" || { echo "bench: sign-in failed"; exit 1; }

# A deep page: the cursor of a page near the end of the list.
DEEP=$(curl -fs -H "Cookie: $BENCH_COOKIE" "$BASE/users?dir=desc&per_page=100" | grep -o 'href="[^"]*" rel="next"' | sed 's/href="//; s/" rel="next"//; s/&amp;/\&/g; s/&#38;/\&/g')
DEEP=${DEEP/dir=desc&/}
USER_ID=$(( USERS / 2 ))
# A search that finds one user: the local part of that user's email.
RARE=$(curl -fs -H "Cookie: $BENCH_COOKIE" "$BASE/users/$USER_ID" | grep -o '[a-z.]*[0-9]*@demo.example' | head -1 | sed 's/@.*//')

ROWS=()
measure() { # name path: one row, a figure per number of connections
  local name=$1 path=$2
  local row="| $name | \`$path\` |" errors=0
  for conns in $CONNECTIONS; do
    local out; out=$(wrk -t2 -c"$conns" -d"$DURATION" --timeout 30s --latency -s bench/cookie.lua "$BASE$path")
    local rps p99
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    errors=$(( errors + $(echo "$out" | awk '/Non-2xx/ {print $NF}' | grep . || echo 0) ))
    row+=" $rps | $p99 |"
    echo "$name ($conns connections): $rps req/s, p99 $p99"
    LAST_RPS=$rps
  done
  ROWS+=("$row $errors |")
}

measure "healthz (HTTP ceiling)" "/healthz"; HEALTHZ_RPS=$LAST_RPS
measure "sign-in page" "/sign-in"
measure "users list, page 1 (100 rows)" "/users?per_page=100"; LIST_RPS=$LAST_RPS
measure "users list, deep page" "${DEEP:-/users?per_page=100}"
measure "sort by last sign-in" "/users?sort=last_sign_in&dir=desc&per_page=100"
measure "sort by group" "/users?sort=group&per_page=100"
measure "search" "/users?q=novak&per_page=100"
measure "search, a full name" "/users?q=nina+novak&per_page=100"
measure "search, rare (one user)" "/users?q=${RARE}&per_page=100"
measure "search sorted by last sign-in" "/users?q=zhang&sort=last_sign_in&dir=desc&per_page=100"
measure "search sorted by last sign-in, rare" "/users?q=${RARE}&sort=last_sign_in&dir=desc&per_page=100"
measure "search sorted by group" "/users?q=zhang&sort=group&per_page=100"
measure "search in every email, sorted by company" "/users?q=example&sort=company&per_page=100"
measure "search for a group's name" "/users?q=support&per_page=100"
measure "search for a company, sorted by company" "/users?q=summit&sort=company&per_page=100"
measure "search for a first name, sorted by email" "/users?q=nina&sort=email&per_page=100"
measure "search for a first name also inside others, sorted by email" "/users?q=lena&sort=email&per_page=100"
measure "search, two letters (a surname)" "/users?q=xu&per_page=100"
measure "search, two letters, sorted by company" "/users?q=xu&sort=company&per_page=100"
measure "search, one letter" "/users?q=q&per_page=100"
measure "search, one letter, sorted by company" "/users?q=q&sort=company&per_page=100"
measure "search in a small group (Admin), sorted by company" "/users?q=zhang&group=1&sort=company&per_page=100"
measure "search filtered by status, sorted by last sign-in" "/users?q=zhang&status=disabled&sort=last_sign_in&dir=desc&per_page=100"
measure "filtered by a group" "/users?group=2&per_page=100"
measure "filtered by status, sorted by last sign-in" "/users?status=invited&sort=last_sign_in&dir=desc&per_page=100"
measure "user page" "/users/$USER_ID"

# The Audit log at EVENTS events: the newest page, each kind of filter, and an old page.
if [ "$EVENTS" -gt 0 ]; then
  PERSON=$(curl -fs -H "Cookie: $BENCH_COOKIE" "$BASE/users/$USER_ID" | grep -o '[a-z.]*[0-9]*@demo.example' | head -1)
  WEEK_FROM=$(date -u -d '-60 days' +%Y-%m-%d); WEEK_TO=$(date -u -d '-54 days' +%Y-%m-%d)
  OLD=$(( EVENTS / 10 ))
  measure "audit log, newest page (50 events)" "/audit"
  measure "audit log, an old page" "/audit?before=$OLD"
  measure "audit log, user changes" "/audit?category=users"
  measure "audit log, while signed in as someone" "/audit?impersonated=1"
  measure "audit log, one person's user changes" "/audit?user=$PERSON&category=users"
  measure "audit log, done by one person" "/audit?actor=$PERSON"
  measure "audit log, one week of settings" "/audit?category=settings&from=$WEEK_FROM&to=$WEEK_TO"
fi

# The CSV export of every user, timed, and the server's peak memory with it.
# The server's own memory (RssAnon) is sampled while it runs: the peak RSS also counts the pages of
# the database file SQLite maps, which the kernel shares and can drop.
curl -fs -o "$WORK/export.csv" -w '%{time_total}' -H "Cookie: $BENCH_COOKIE" "$BASE/users/export.csv" > "$WORK/export.time" &
EXPORTING=$!
OWN_PEAK_KB=0
while kill -0 $EXPORTING 2>/dev/null; do
  OWN_KB=$(awk '/RssAnon/ {print $2}' /proc/$SERVER/status)
  [ "$OWN_KB" -gt "$OWN_PEAK_KB" ] && OWN_PEAK_KB=$OWN_KB
  sleep 0.02
done
wait $EXPORTING
EXPORT_SECONDS=$(cat "$WORK/export.time")
EXPORT_ROWS=$(( $(wc -l < "$WORK/export.csv") - 1 ))
EXPORT_PEAK_KB=$(awk '/VmHWM/ {print $2}' /proc/$SERVER/status)
DB_MB=$([ -z "$PG_URL" ] && echo $(( $(stat -c %s "$WORK/bench.db") / 1048576 )) || true)
ROWS+=("| CSV export of all users ($EXPORT_ROWS rows) | \`/users/export.csv\` | — | ${EXPORT_SECONDS}s total |$(for c in $CONNECTIONS; do printf ' — | — |'; done) 0 |")
echo "export: $EXPORT_ROWS rows in ${EXPORT_SECONDS}s, peak RSS $((EXPORT_PEAK_KB / 1024)) MiB, own memory $((OWN_PEAK_KB / 1024)) MiB"

# 32 sign-ins at once (bcrypt cost 12), from a second wrk, while the list is measured.
SIGN_IN_JAR=$WORK/sign-in-jar
SIGN_IN_TOKEN=$(curl -fs -c "$SIGN_IN_JAR" "$BASE/sign-in" | grep -o 'name="csrf_token" value="[^"]*' | head -1 | sed 's/.*value="//')
export SIGN_IN_COOKIE="concierge_session=$(awk '$6 == "concierge_session" {print $7}' "$SIGN_IN_JAR")"
export SIGN_IN_BODY="csrf_token=$SIGN_IN_TOKEN&email=admin%40demo.example&password=demo-harbor-lantern-2026"
wrk -t1 -c32 -d"$DURATION" --timeout 30s -s bench/sign-in.lua "$BASE/sign-in" > "$WORK/sign-ins.txt" &
SIGN_INS=$!
sleep 1
CONNECTIONS=${CONNECTIONS##* } measure "users list during 32 concurrent sign-ins" "/users?per_page=100"
wait $SIGN_INS || true
SIGN_IN_RATE=$(awk '/Requests\/sec/ {print $2}' "$WORK/sign-ins.txt")
SIGN_IN_ERRORS=$(awk '/Non-2xx/ {print $NF}' "$WORK/sign-ins.txt")
echo "sign-ins meanwhile: $SIGN_IN_RATE per second, ${SIGN_IN_ERRORS:-0} refused"

# An import of 2,000 users (one all-or-nothing transaction) while four connections save a profile
# (a write each): how long the writers wait, and whether any fails.
CSRF=$(curl -fs -H "Cookie: $BENCH_COOKIE" "$BASE/profile/edit" | grep -o 'name="csrf_token" value="[^"]*' | head -1 | sed 's/.*value="//')
export WRITE_BODY="csrf_token=$CSRF&first_name=Ada&last_name=Admin&phone=%2B1+702+555+0100&title=Manager&job_function=tenant&notification_preference=all"
{
  echo "email,first_name,last_name,phone,title,job_function,company,group"
  for i in $(seq 1 2000); do echo "imported.$i@bench.example,Ivy,Import $i,+1 702 555 0100,Clerk,tenant,Bench Co,Customer"; done
} > "$WORK/import.csv"
wrk -t1 -c4 -d"$DURATION" --timeout 30s --latency -s bench/write.lua "$BASE/profile" > "$WORK/writes.txt" &
WRITES=$!
sleep 1
IMPORT=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -H "Cookie: $BENCH_COOKIE" \
  --data-urlencode "csrf_token=$CSRF" --data-urlencode "csv@$WORK/import.csv" "$BASE/users/import/confirm")
wait $WRITES || true
WRITE_P99=$(awk '$1 == "99%" {print $2}' "$WORK/writes.txt")
WRITE_MAX=$(awk '/Latency/ {print $4}' "$WORK/writes.txt")
WRITE_ERRORS=$(awk '/Non-2xx/ {print $NF}' "$WORK/writes.txt")
echo "import of 2,000 users: HTTP ${IMPORT% *} in ${IMPORT#* }s; profile saves meanwhile: p99 $WRITE_P99, max $WRITE_MAX, ${WRITE_ERRORS:-0} errors"

PEAK_KB=$(awk '/VmHWM/ {print $2}' /proc/$SERVER/status)
DB_MB=$([ -z "$PG_URL" ] && echo $(( $(stat -c %s "$WORK/bench.db") / 1048576 )) || true)
RATIO=$(echo "scale=2; $LIST_RPS / $HEALTHZ_RPS" | bc)

{
  echo "## $USERS users and $EVENTS audit events on $BACKEND — $(date -u +%Y-%m-%d)"
  echo
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/ {print $2}') GiB."
  echo "Command: \`bench/run.sh $USERS${PG_URL:+ <postgres-url>}\` (wrk, 2 threads, $DURATION each)."
  echo
  printf '| page | path |'; for c in $CONNECTIONS; do printf ' req/s (%s conn.) | p99 (%s) |' "$c" "$c"; done; echo ' non-2xx |'
  printf '|---|---|'; for c in $CONNECTIONS; do printf -- '---|---|'; done; echo '---|'

  printf '%s\n' "${ROWS[@]}"
  echo
  echo "- seeding: ${SEED_SECONDS%.*} s; start to \`/readyz\` answering: $READY_MS ms${DB_MB:+; database file $DB_MB MiB}"
  echo "- server memory: idle $((IDLE_KB / 1024)) MiB ($((IDLE_OWN_KB / 1024)) MiB its own); peak after the export $((EXPORT_PEAK_KB / 1024)) MiB (its own, not the mapped database file: $((OWN_PEAK_KB / 1024)) MiB); peak at the end $((PEAK_KB / 1024)) MiB (VmHWM)"
  echo "- users list page 1 / \`/healthz\` requests/s: $RATIO"
  echo "- sign-ins completed per second during the burst: $SIGN_IN_RATE (refused: ${SIGN_IN_ERRORS:-0})"
  echo "- import of 2,000 users: HTTP ${IMPORT% *} in ${IMPORT#* } s; profile saves from 4 connections meanwhile: p99 $WRITE_P99, max $WRITE_MAX, non-2xx ${WRITE_ERRORS:-0}"
  echo
} | tee -a "$OUT"
