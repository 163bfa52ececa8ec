#!/usr/bin/env bash
# Starts the whole stack on the tiny models shipped in tests/fixtures: one GPU service (gRPC on 127.0.0.1:50051,
# jobs in runs/stack) and the gateway with the WebUI on http://127.0.0.1:5080. Ctrl+C stops both.
# Run `bash .ci/setup` once first (npm packages, browser-test tools). PORT / SERVICE_PORT override the ports.
set -euo pipefail
cd "$(dirname "$0")/../.."
PORT="${PORT:-5080}"
SERVICE_PORT="${SERVICE_PORT:-50051}"
dotnet build TLoRA.sln -c Release -v quiet -nologo
mkdir -p runs/stack
# the secret the service requires of its one client, the gateway: fresh for each start
TOKEN="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
GpuService__ServiceToken="$TOKEN" dotnet src/GpuService/bin/Release/net10.0/tlora.dll serve --models tests/fixtures --data runs/stack --port "$SERVICE_PORT" &
service=$!
# the gateway runs as the one local development owner (Gateway:Auth:DevelopmentAnonymous, Development only):
# anyone who can reach 127.0.0.1:$PORT acts as that owner. See README "Security" for a real deployment.
Gateway__ServiceToken="$TOKEN" Gateway__Auth__DevelopmentAnonymous=true ASPNETCORE_ENVIRONMENT=Development dotnet src/Gateway/bin/Release/net10.0/TLoRA.Gateway.dll \
  --urls "http://127.0.0.1:$PORT" "--Gateway:Services:0=http://127.0.0.1:$SERVICE_PORT" &
gateway=$!
trap 'kill $gateway $service 2>/dev/null; wait 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 120); do
  if curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then break; fi
  sleep 0.5
done
echo
echo "T-LoRA studio is up: open http://127.0.0.1:$PORT (REST under /api, OpenAPI at /openapi/v1.json, hub at /hubs/jobs)."
echo "Press Ctrl+C to stop."
wait -n $gateway $service
