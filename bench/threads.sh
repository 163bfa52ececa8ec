#!/usr/bin/env bash
# Thread settings from measurements: libtorch intra-op threads (1, 2) × OpenMP wait policy (PASSIVE, ACTIVE) ×
# background load (idle, one process spinning on a core), for matmul / conv2d / svd (bench/Torch.Bench, ms per op)
# and the mid SD-XL training step (bench/Engine.Bench, ms per step). Prints one line per combination.
# Usage: bash bench/threads.sh   (builds both benches in Release first; about 10 minutes on 2 cores)
set -uo pipefail
cd "$(dirname "$0")/.."
dotnet build bench/Torch.Bench -c Release -nologo -v q >/dev/null
dotnet build bench/Engine.Bench -c Release -nologo -v q >/dev/null
torch_bench=bench/Torch.Bench/bin/Release/net10.0/TLoRA.Torch.Bench.dll
engine_bench=bench/Engine.Bench/bin/Release/net10.0/TLoRA.Engine.Bench.dll
spinner=""
start_load() { sh -c 'while :; do :; done' & spinner=$!; }
stop_load() {
  if [ -n "$spinner" ]; then kill "$spinner" 2>/dev/null || true; wait "$spinner" 2>/dev/null || true; fi
  spinner=""
}
trap stop_load EXIT
printf '%-6s %-8s %-8s | %s\n' threads policy load "matmul / conv2d / svd (median) | mid training ms/step (LoRA, Vanilla, T-LoRA)"
for load in idle spinning; do
  for threads in 1 2; do
    for policy in PASSIVE ACTIVE; do
      [ "$load" = spinning ] && start_load
      ops=$(OMP_WAIT_POLICY=$policy dotnet "$torch_bench" --no-python --no-breakdown --threads "$threads" \
              --only matmul,conv2d,svd --iterations 0.3 --reps 3 2>/dev/null \
            | awk -F'|' '$1 ~ /^(matmul|conv2d|svd) *$/ {gsub(/ +/, " ", $3); printf "%s:%s ", $1, $3}' | sed 's/  */ /g')
      step=$(OMP_WAIT_POLICY=$policy dotnet "$engine_bench" --only mid --no-sample --threads "$threads" --steps 3 \
               --rounds 1 --warmup 1 2>/dev/null | awk -F'|' '/Memory|^2\./ {exit} $1 ~ /^ *mid *$/ && $6 ~ /[0-9]/ {gsub(/ +/, " ", $6); printf "%s ", $6}
                                                         /FAILED/ {printf "FAILED "}')
      stop_load
      printf '%-6s %-8s %-8s | %s | %s\n' "$threads" "$policy" "$load" "$ops" "$step"
    done
  done
done
