#!/usr/bin/env bash
# Checks the API against its OpenAPI document (openapi/openapi.json):
#  1. the document is valid OpenAPI 3.1 (openapi-spec-validator);
#  2. the running binary serves exactly this document at /openapi.json;
#  3. schemathesis sends generated requests to every endpoint of the running binary: no 5xx, and
#     every status, content type, header and body matches the document.
# Needs: python3 with openapi-spec-validator and schemathesis (pip install openapi-spec-validator
# schemathesis), jq, curl, and a built binary (default .build/debug/registrar).
#
#   scripts/api-conformance.sh [--binary PATH] [--max-examples N]
set -euo pipefail
cd "$(dirname "$0")/.."
binary=.build/debug/registrar
examples=20
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift ;;
    --max-examples) examples=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
document=openapi/openapi.json

echo "== openapi-spec-validator"
python3 -m openapi_spec_validator "$document"

work=$(mktemp -d /tmp/registrar-api.XXXXXX)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
base="http://127.0.0.1:$port"
cat >"$work/config.yaml" <<YAML
registration:
  rate_limits:
    registrations: { per_minute: 0 }
    failed_tokens: { per_minute: 0 }
policies:
  anonymous:
    grant_types:
      forbidden: []
YAML
db=(--config "$work/config.yaml" --database "$work/db.sqlite")
"$binary" clients create --admin --name ops --auth-method client_secret_post --json "${db[@]}" >"$work/admin.json"
"$binary" tokens create --policy anonymous --json "${db[@]}" >"$work/iat.json"
"$binary" serve --port "$port" --issuer "$base" "${db[@]}" --log-level error >"$work/server.out" 2>"$work/server.err" &
server=$!
for _ in $(seq 1 100); do curl -sf "$base/health/live" >/dev/null && break; sleep 0.1; done

echo "== the served document is the repository's"
python3 - "$document" "$base/openapi.json" <<'PY'
import json, sys, urllib.request
expected = json.load(open(sys.argv[1]))
served = json.load(urllib.request.urlopen(sys.argv[2]))
served.pop("servers", None); expected.pop("servers", None)
if served != expected:
    sys.exit("the served /openapi.json differs from openapi/openapi.json: run scripts/embed-openapi.py and rebuild")
print("identical")
PY

curl -s "$base/iam/api/client-registration" -H 'Content-Type: application/json' \
  -d '{"grant_types":["client_credentials"],"scope":"read write","client_name":"machine"}' >"$work/machine.json"
admin_id=$(jq -r .client_id "$work/admin.json"); admin_secret=$(jq -r .client_secret "$work/admin.json")
admin_token=$(curl -s -d grant_type=client_credentials -d client_id="$admin_id" --data-urlencode client_secret="$admin_secret" "$base/token" | jq -r .access_token)
cat >"$work/schemathesis.toml" <<TOML
[auth.openapi.registrationAccessToken]
bearer = "$(jq -r .registration_access_token "$work/machine.json")"

[auth.openapi.initialAccessToken]
bearer = "$(jq -r .token "$work/iat.json")"

[auth.openapi.clientBasic]
username = "$(jq -r .client_id "$work/machine.json")"
password = "$(jq -r .client_secret "$work/machine.json")"

[auth.openapi.adminAccessToken]
bearer = "$admin_token"
TOML

echo "== schemathesis ($examples examples per operation)"
schemathesis --config-file "$work/schemathesis.toml" run "$document" --url "$base" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --max-examples "$examples" --seed 7 --output-truncate true

kill -0 "$server" 2>/dev/null || { echo "the server died during the run:" >&2; tail -20 "$work/server.err" >&2; exit 1; }
echo "API conformance: document valid, served as is, schemathesis clean, server alive"
