#!/usr/bin/env python3
"""PyTorch side of the dispatch-overhead benchmark (bench/Torch.Bench runs the same workloads in C#).

Every workload is a function run(n) that executes its body n times in a plain for-loop; it is timed with
time.perf_counter_ns after a warm-up, over several repetitions, and the median time per iteration is reported.
The workloads, shapes and default iteration counts must stay in step with bench/Torch.Bench/Workloads.cs.

    /usr/bin/python3 bench/python/dispatch_bench.py                 # human-readable table
    /usr/bin/python3 bench/python/dispatch_bench.py --quick --json  # one JSON object with every result

--json --serve is what the C# harness uses: the script prints a JSON header line, then answers JSON requests read
one per line from stdin, so that the harness can alternate C# and PyTorch repetitions of the same workload:
    {"op": "warmup", "name": "add", "iters": 100000, "seconds": 0.2}  ->  {"ok": true}
    {"op": "rep", "name": "add", "iters": 100000}                      ->  {"us": 1.23}   (µs per iteration)
Any failure is answered {"error": "..."}; end of input ends the script.

Exit status 3 (with {"error": ...} under --json) when torch cannot be imported.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

# Name -> default iterations per repetition. Keep equal to Workloads.cs.
DEFAULT_ITERS = {
    "add": 100000,
    "mul": 100000,
    "silu": 100000,
    "view_permute": 100000,
    "dim": 200000,
    "matmul": 1000,
    "conv2d": 150,
    "autograd": 10000,
    "svd": 30,
    "lora_proj": 2000,
    "tlora_proj": 2000,
}
DEFAULT_REPS = 7
QUICK_SCALE = 0.02
QUICK_REPS = 3
WARMUP_SECONDS = 0.2
QUICK_WARMUP_SECONDS = 0.05


def build_workloads(torch):
    """Returns name -> run(n). Inputs are made once, outside the timed loops."""
    F = torch.nn.functional
    g = torch.Generator().manual_seed(0)

    x8 = torch.randn(8, 8, generator=g)
    y8 = torch.randn(8, 8, generator=g)

    def add(n):
        for _ in range(n):
            z = x8 + y8

    def mul(n):
        for _ in range(n):
            z = x8 * y8

    def silu(n):
        for _ in range(n):
            z = F.silu(x8)

    def view_permute(n):
        for _ in range(n):
            z = x8.view(2, 4, 8).permute(0, 2, 1)

    def dim(n):
        for _ in range(n):
            d = x8.dim()

    a = torch.randn(256, 512, generator=g)
    b = torch.randn(512, 128, generator=g)

    def matmul(n):
        for _ in range(n):
            z = a.matmul(b)

    inp = torch.randn(1, 64, 64, 64, generator=g)
    weight = torch.randn(64, 64, 3, 3, generator=g)

    def conv2d(n):
        for _ in range(n):
            z = F.conv2d(inp, weight, None, 1, 1)

    x = torch.randn(64, 64, generator=g)
    w = torch.randn(64, 64, generator=g).requires_grad_(True)
    m = torch.randn(256, 256, generator=g)

    def svd(n):
        for _ in range(n):
            z = torch.linalg.svd(m, full_matrices=False)

    def autograd(n):
        for _ in range(n):
            y = F.silu(x.matmul(w)).sum()
            y.backward()
            w.grad = None

    # one adapted attention projection of the bench's mid UNet (80 wide, 16x16 tokens, rank 16, 12 ranks unmasked), the
    # engine's LoRALinearLayer (masked) and OrthogonalLoRALinearLayer (stacked [Q; Q0], [P, P0]) written out
    xp = torch.randn(1, 256, 80, generator=g)
    wp = torch.randn(80, 80, generator=g)
    mask = torch.cat([torch.ones(1, 12), torch.zeros(1, 4)], 1)
    down = (torch.randn(16, 80, generator=g) / 16).requires_grad_(True)
    up = torch.zeros(80, 16).requires_grad_(True)
    u, s, vh = torch.linalg.svd(torch.randn(80, 80, generator=g) / 16, full_matrices=False)
    q, p, lam = vh[-16:].clone().requires_grad_(True), u[:, -16:].clone().requires_grad_(True), s[-16:].unsqueeze(0).clone().requires_grad_(True)
    q0, p0, lam0 = q.detach().clone(), p.detach().clone(), lam.detach().clone()

    def lora_proj(n):
        for _ in range(n):
            h = F.linear(xp, down) * mask.view(1, 1, -1)
            y = F.linear(xp, wp) + F.linear(h, up)
            y.sum().backward()
            down.grad = None
            up.grad = None

    def tlora_proj(n):
        for _ in range(n):
            qs = torch.cat([q, q0], 0)
            ps = torch.cat([p, p0], 1)
            scale = torch.cat([lam, -lam0], 1) * torch.cat([mask, mask], 1)
            z = F.linear(xp, qs) * scale.view(1, 1, -1)
            y = F.linear(xp, wp) + F.linear(z, ps)
            y.sum().backward()
            q.grad = None
            p.grad = None
            lam.grad = None

    return {
        "add": add, "mul": mul, "silu": silu, "view_permute": view_permute, "dim": dim,
        "matmul": matmul, "conv2d": conv2d, "autograd": autograd, "svd": svd,
        "lora_proj": lora_proj, "tlora_proj": tlora_proj,
    }


def warm_up(run, iters, seconds):
    """Untimed: allocator caches, lazy init. At least iters/10 iterations and at least `seconds`, as in Program.cs."""
    t_end = time.perf_counter() + seconds
    while True:
        run(max(1, iters // 10))
        if time.perf_counter() >= t_end:
            break


def timed_rep(run, iters):
    """One timed repetition: µs per iteration."""
    t0 = time.perf_counter_ns()
    run(iters)
    t1 = time.perf_counter_ns()
    return (t1 - t0) / 1000.0 / iters


def measure(run, iters, reps, warmup_seconds):
    warm_up(run, iters, warmup_seconds)
    return [timed_rep(run, iters) for _ in range(reps)]


def serve(workloads):
    """The --serve loop: one JSON request per stdin line, one JSON answer per stdout line."""
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            run = workloads[req["name"]]
            iters = int(req["iters"])
            if iters < 1:
                raise ValueError("iters must be at least 1")
            if req["op"] == "warmup":
                warm_up(run, iters, float(req.get("seconds", WARMUP_SECONDS)))
                answer = {"ok": True}
            elif req["op"] == "rep":
                answer = {"us": timed_rep(run, iters)}
            else:
                raise ValueError(f"unknown op {req['op']!r}")
        except Exception as e:  # report and keep serving
            answer = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(answer), flush=True)


def parse_iters(spec):
    out = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, value = part.partition("=")
        if name not in DEFAULT_ITERS or not value.isdigit() or int(value) < 1:
            raise argparse.ArgumentTypeError(f"bad --iters entry '{part}' (want name=N, names: {', '.join(DEFAULT_ITERS)})")
        out[name] = int(value)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="torch.set_num_threads (default: all cores)")
    p.add_argument("--quick", action="store_true", help=f"iterations x{QUICK_SCALE}, {QUICK_REPS} repetitions, {QUICK_WARMUP_SECONDS} s warm-ups")
    p.add_argument("--iterations", type=float, default=None, help="scale factor for the default iteration counts")
    p.add_argument("--reps", type=int, default=None, help="timed repetitions per workload (median is reported)")
    p.add_argument("--warmup", type=float, default=None, help="minimum untimed warm-up seconds per workload")
    p.add_argument("--iters", type=parse_iters, default={}, help="exact counts, e.g. add=1000,matmul=50 (overrides scaling)")
    p.add_argument("--only", default="", help="comma-separated workload names to run (default: all)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--serve", action="store_true", help="with --json: answer warm-up/repetition requests from stdin")
    args = p.parse_args()

    try:
        import torch
    except Exception as e:  # ImportError, or a broken install raising something else
        msg = f"cannot import torch with {sys.executable}: {e}"
        print(json.dumps({"error": msg}) if args.json else msg, flush=True)
        return 3

    scale = args.iterations if args.iterations is not None else (QUICK_SCALE if args.quick else 1.0)
    reps = args.reps if args.reps is not None else (QUICK_REPS if args.quick else DEFAULT_REPS)
    warmup = args.warmup if args.warmup is not None else (QUICK_WARMUP_SECONDS if args.quick else WARMUP_SECONDS)
    torch.set_num_threads(max(1, args.threads))
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(DEFAULT_ITERS)

    workloads = build_workloads(torch)
    info = {
        "python": platform.python_version(),
        "executable": sys.executable,
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "cores": os.cpu_count(),
    }
    if args.serve:
        if not args.json:
            p.error("--serve needs --json")
        print(json.dumps(info), flush=True)
        serve(workloads)
        return 0

    results = {}
    for name in names:
        if name not in workloads:
            p.error(f"unknown workload '{name}' (names: {', '.join(DEFAULT_ITERS)})")
        iters = args.iters.get(name, max(1, round(DEFAULT_ITERS[name] * scale)))
        times = measure(workloads[name], iters, reps, warmup)
        results[name] = {
            "iters": iters,
            "reps": reps,
            "median_us": statistics.median(times),
            "min_us": min(times),
            "max_us": max(times),
        }

    info["results"] = results
    if args.json:
        print(json.dumps(info))
    else:
        print(f"PyTorch {info['torch_version']} (Python {info['python']}), threads {info['threads']}, cores {info['cores']}")
        for name, r in results.items():
            print(f"  {name:<13} {r['median_us']:>12.3f} us/iter  (min {r['min_us']:.3f}, max {r['max_us']:.3f}, "
                  f"{r['iters']} iters x {r['reps']} reps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
