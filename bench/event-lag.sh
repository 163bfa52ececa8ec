#!/usr/bin/env bash
# Event lag engine → hub, as the gateway's own metric sees it: starts a GPU service and a gateway on free loopback
# ports (the tiny fixture models), runs one training job through the REST API, then prints the gateway's
# tlora_gateway_event_lag_seconds histogram (path="all": every event relayed to the hub's all-jobs group) with its
# mean. STEPS (default 20) sets the job's length. Needs a Release build (dotnet build TLoRA.sln -c Release) and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS="${STEPS:-20}"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
service_port=$(free_port)
gateway_port=$(free_port)
data=$(mktemp -d)
src/GpuService/bin/Release/net10.0/tlora serve --models tests/fixtures --data "$data" --port "$service_port" > "$data/service.log" 2>&1 &
service=$!
gateway_dir=src/Gateway/bin/Release/net10.0
"$gateway_dir/TLoRA.Gateway" --urls "http://127.0.0.1:$gateway_port" \
  "--Gateway:Services:0=http://127.0.0.1:$service_port" --Gateway:HealthCheckIntervalSeconds=0.5 > "$data/gateway.log" 2>&1 &
gateway=$!
trap 'kill $gateway $service 2>/dev/null; wait $gateway $service 2>/dev/null; rm -rf "$data"' EXIT
base="http://127.0.0.1:$gateway_port"
for _ in $(seq 1 120); do curl -fs "$base/health" > /dev/null 2>&1 && break; sleep 0.5; done
job=$(curl -fs -F image=@tests/fixtures/concept/toy-robot.jpg -F modelId=sdxl-tiny -F trigger=sks -F classWord=robot \
  -F method=tlora -F rank=4 -F "steps=$STEPS" -F checkpointInterval=10 -F previewSteps=1 -F 'validationPrompts=a {0}' \
  "$base/api/jobs" | python3 -c 'import json, sys; print(json.load(sys.stdin)["jobId"])')
for _ in $(seq 1 1200); do curl -fs "$base/api/jobs/$job" | grep -q '"state":"\(completed\|failed\|cancelled\)"' && break; sleep 0.5; done
sleep 1
metrics=$(curl -fs "$base/metrics" | grep '^tlora_gateway_event_lag_seconds' | grep 'path="all"')
echo "job $job ($STEPS steps): event lag engine → hub (gateway metric, path=all)"
echo "$metrics" | sed -E 's/otel_scope_name="[^"]*",?//; s/\} ([0-9.e+-]+).*/} \1/'
echo "$metrics" | awk '/_sum/ {s = $2} /_count/ {c = $2} END { if (c > 0) printf "mean %.1f ms over %d events\n", 1000 * s / c, c }'
