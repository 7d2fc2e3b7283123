#!/usr/bin/env bash
# Runs the independent SCIM checker scim2-tester (PyPI, python-scim) against a real portal:
# a fresh SQLite database with demo users and one building, an API token made by a
# non-owner administrator, the debug binary that `cargo test` built.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=/tmp/concierge-scim-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q "scim2-tester==0.5.2" "scim2-client==0.13.2" "scim2-models==0.12.3" httpx
cargo build -q
dir=$(mktemp -d)
export DATABASE_URL="sqlite://$dir/concierge.db" MAIL_DIR="$dir/mail" BCRYPT_COST=4
./target/debug/concierge seed-demo --users 20 --buildings 1 --events 0 >/dev/null
token=$(./target/debug/concierge create-api-token --name "scim2-tester" \
  --scopes "scim users.view users.manage groups.manage" --days 7 --maker admin@demo.example)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BIND="127.0.0.1:$port" ./target/debug/concierge serve >"$dir/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
"$venv/bin/python" .ci/scim-check.py "http://127.0.0.1:$port/scim/v2" "$token"
