#!/usr/bin/env python3
"""Makes a variant of tests/fixtures to prove that no test hard-codes a fact of one fixture set.

    python3 tests/make_variant_fixtures.py OUT            # then: TLORA_FIXTURES=OUT dotnet test tests/Engine.Tests ...

Only facts whose expected results the tests compute themselves are swapped, so every test can still pass:
- sdxl-tiny/unet/config.json: sample_size 8 -> 12 (native resolution 64 -> 96 px; no weight or reference output
  depends on it);
- sdxl-tiny/reference_cases.json: the T-LoRA rank schedule's rank / r_min / alpha -> 8 / 3 / 0.5 with the schedule's
  values recomputed by the official formula r = floor(((T - t)/T)^alpha * (rank - r_min)) + r_min (the reference
  adapters keep rank 4: the parity tests that read both must notice the mismatch and say so);
- sdxl-tiny/unet and flux-tiny/transformer: the single checkpoint file split into two shards with a
  *.safetensors.index.json, as real SD-XL / FLUX.1-dev downloads are (the same tensors, bytes unchanged).
Nothing is computed with the engine. Needs only the Python standard library.
"""
import json
import math
import shutil
import struct
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent / "fixtures"


def read_safetensors(path):
    data = path.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    return header, data[8 + n:]


def write_safetensors(path, entries, metadata):
    """entries: list of (name, dtype, shape, bytes) in order."""
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, _, _, raw in entries:
            f.write(raw)


def shard(folder, stem="diffusion_pytorch_model"):
    single = folder / f"{stem}.safetensors"
    header, data = read_safetensors(single)
    metadata = header.pop("__metadata__", None)
    names = sorted(header, key=lambda k: header[k]["data_offsets"][0])
    half = len(names) // 2
    weight_map, total = {}, 0
    for i, part in enumerate([names[:half], names[half:]], start=1):
        file = f"{stem}-{i:05d}-of-00002.safetensors"
        entries = []
        for name in part:
            h = header[name]
            a, b = h["data_offsets"]
            entries.append((name, h["dtype"], h["shape"], data[a:b]))
            weight_map[name] = file
            total += b - a
        write_safetensors(folder / file, entries, metadata)
    (folder / f"{stem}.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2))
    single.unlink()


def main(out):
    out = Path(out)
    if out.exists():
        sys.exit(f"{out} exists; give a new folder")
    shutil.copytree(SRC, out)
    unet_config = out / "sdxl-tiny" / "unet" / "config.json"
    c = json.loads(unet_config.read_text())
    c["sample_size"] = 12
    unet_config.write_text(json.dumps(c, indent=2))

    cases_path = out / "sdxl-tiny" / "reference_cases.json"
    cases = json.loads(cases_path.read_text())
    t = cases["tlora"]
    t["rank"], t["min_rank"], t["alpha"] = 8, 3, 0.5
    T = t["T"]
    t["rank_schedule"] = {
        k: math.floor(((T - int(k)) / T) ** t["alpha"] * (t["rank"] - t["min_rank"])) + t["min_rank"]
        for k in t["rank_schedule"]}
    cases_path.write_text(json.dumps(cases, indent=2))

    shard(out / "sdxl-tiny" / "unet")
    shard(out / "flux-tiny" / "transformer")
    print(f"variant fixtures in {out}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
