#!/usr/bin/env bash
# Starts the whole stack on the tiny models shipped in tests/fixtures: one GPU service (jobs in runs/stack), the
# gateway (REST + hub) and the WebUI, each on a free loopback port (or SERVICE_PORT / GATEWAY_PORT / PORT), and prints
# the address to open with the WebUI's admin user and a fresh password. Ctrl+C stops all three. Run `bash .ci/setup` once first.
set -euo pipefail
cd "$(dirname "$0")/../.."
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
SERVICE_PORT="${SERVICE_PORT:-$(free_port)}"
GATEWAY_PORT="${GATEWAY_PORT:-$(free_port)}"
PORT="${PORT:-$(free_port)}"
for project in src/GpuService src/Gateway src/WebUI; do dotnet build "$project" -c Release -v quiet -nologo; done
mkdir -p runs/stack
# the secret the GPU service requires of its one client, the gateway: fresh for each start
export GpuService__ServiceToken="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
export Gateway__ServiceToken="$GpuService__ServiceToken"
# the gateway authenticates every caller: one fresh API key (admin scope) that the WebUI presents and that this
# script prints for REST and hub clients; the gateway keeps only its SHA-256
API_KEY="tlk_$(head -c 32 /dev/urandom | base64 | tr -d '/+=' | head -c 43)"
API_KEY_HASH="$(printf '%s' "$API_KEY" | sha256sum | cut -d' ' -f1)"
# the WebUI signs its admin in: a fresh password for each start, of which the WebUI is given only the hash
ADMIN_USER="${ADMIN_USER:-admin}"
ADMIN_PASSWORD="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
ADMIN_PASSWORD_HASH="$(printf '%s' "$ADMIN_PASSWORD" | dotnet src/WebUI/bin/Release/net10.0/TLoRA.WebUI.dll hash-password 2>/dev/null)" \
  || { echo "stack.sh: TLoRA.WebUI hash-password failed" >&2; exit 1; }
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null' EXIT INT TERM
dotnet src/GpuService/bin/Release/net10.0/tlora.dll serve --models tests/fixtures --data runs/stack --port "$SERVICE_PORT" &
pids+=($!)
ASPNETCORE_ENVIRONMENT=Production dotnet src/Gateway/bin/Release/net10.0/TLoRA.Gateway.dll \
  --urls "http://127.0.0.1:$GATEWAY_PORT" "--Gateway:Services:0=http://127.0.0.1:$SERVICE_PORT" \
  "--Gateway:Auth:ApiKeys:0:Name=stack" "--Gateway:Auth:ApiKeys:0:Hash=$API_KEY_HASH" \
  "--Gateway:Auth:ApiKeys:0:Owner=local" "--Gateway:Auth:ApiKeys:0:Scopes=admin" \
  "--Gateway:Limits:MaxStreams=64" "--Gateway:Limits:RequestsPerSecond=200" "--Gateway:Limits:RequestBurst=400" &
pids+=($!)
ASPNETCORE_ENVIRONMENT=Production WebUI__Admin__User="$ADMIN_USER" WebUI__Admin__PasswordHash="$ADMIN_PASSWORD_HASH" \
  dotnet src/WebUI/bin/Release/net10.0/TLoRA.WebUI.dll \
  --urls "http://127.0.0.1:$PORT" "--WebUI:Gateway=http://127.0.0.1:$GATEWAY_PORT" "--WebUI:GatewayApiKey=$API_KEY" &
pids+=($!)
for url in "http://127.0.0.1:$GATEWAY_PORT/health" "http://127.0.0.1:$PORT/health"; do
  for _ in $(seq 1 240); do
    if curl -fs "$url" >/dev/null 2>&1; then break; fi
    sleep 0.5
  done
done
echo
echo "T-LoRA is up: open http://127.0.0.1:$PORT"
echo "  sign in as $ADMIN_USER with password $ADMIN_PASSWORD (new at every start)"
echo "  gateway http://127.0.0.1:$GATEWAY_PORT (REST under /api, OpenAPI at /openapi/v1.json, hub at /hubs/jobs)"
echo "  API key for REST and hub clients (header X-Api-Key): $API_KEY"
echo "  GPU service 127.0.0.1:$SERVICE_PORT (gRPC, tlora.v1.TLoRAService)"
echo "Press Ctrl+C to stop."
wait -n "${pids[@]}"
