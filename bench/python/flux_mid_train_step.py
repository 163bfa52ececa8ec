#!/usr/bin/env python3
"""The Engine.Bench "flux-mid" training step in PyTorch, for a C#/PyTorch ratio on the same machine.

The same FluxTransformer2DModel as bench/Engine.Bench/FluxMid.cs, written out layer for layer after src/Engine/Flux
(FluxTransformer2DModel, FluxTransformerBlock, FluxSingleTransformerBlock, FluxAttention, FluxPosEmbed,
AdaLayerNormZero / ZeroSingle / Continuous, CombinedTimestepGuidanceTextProjEmbeddings, PixArtAlphaTextProjection,
RMSNorm, FeedForward "gelu-approximate") because Debian has no diffusers: 6 heads x 64 = 384 wide, 4 double-stream +
8 single-stream blocks, RoPE axes 8/28/28 (theta 10000), guidance embedding, in_channels 64 (16 latent channels packed
2x2), context width = flux-tiny's T5 d_model and pooled width = its CLIP hidden size (read from
tests/fixtures/flux-tiny when found, else 32 / 32), 32 T5 tokens (FluxMid loads the pipeline with max_sequence_length
32), trained at 256^2: 32x32 latents -> 16x16 = 256 packed image tokens. Seeded random weights (the numbers are
timings, not outputs).

The step is FluxPipeline.TrainingLoss + AdapterTrainer's update, as Cases.Train times it: reseed, posterior sample
z = mean + std * eps, x0 = (z - shift_factor) * scaling_factor, noise ~ N(0, 1), u ~ U[0, 1) -> index int(u * 1000)
of the training schedule (use_dynamic_shifting: sigma = (1000 - index) / 1000 unshifted, t = sigma * 1000), the rank
mask r(t) (linear schedule in float32, r_min = rank / 2; none for LoRA), noisy = (1 - sigma) x0 + sigma noise, packed
2x2, image ids (0, row, col), the transformer(timestep = t / 1000, guidance = 1, both x 1000 inside) with adapters on
to_q/to_k/to_v of all 12 attentions and to_out.0/add_q_proj/add_k_proj/add_v_proj of the 4 double-stream ones (not
to_add_out: FluxPipeline.AttentionProjections), unpacked, MSE against the velocity noise - x0, backward,
clip_grad_norm_(1), AdamW (lr 1e-4, betas 0.9/0.999, eps 1e-8, weight decay 1e-4), zero_grad, loss.item().

Not timed, on either side: text encoding and the VAE encode. The C# bench runs FluxPipeline.PrepareTraining (CLIP +
T5 + VAE posterior of the concept image) once before the loop and times only the steps, so here the T5 hidden states
[1, 32, 32], the pooled CLIP output [1, 32] and the posterior mean/std [1, 16, 32, 32] are random tensors made once
before the loop.

Adapters come from adapters.py (shared with mid_train_step.py). Debian 12's python3-torch is PyTorch 1.13: no fused
scaled_dot_product_attention, so attention is softmax(q k^T / sqrt(d)) v composed of matmuls. Prints one JSON line
(--json) or a summary.

  /usr/bin/python3 bench/python/flux_mid_train_step.py --method TLoRA --steps 8 --warmup 2 [--threads 1] [--json]
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from adapters import METHODS, Adapted, linear_rank_f32, set_mask, trainable

HEADS, HEAD_DIM = 6, 64
INNER = HEADS * HEAD_DIM
DOUBLE, SINGLE = 4, 8
AXES = [8, 28, 28]
IN_CHANNELS = 64
TIME_PROJ = 256
IMAGE_SIZE, VAE_SCALE, LATENT_CHANNELS = 256, 8, 16
TOKENS = 32  # FluxMid.Load: max_sequence_length 32
T_TRAIN = 1000
GUIDANCE = 1  # FluxPipeline.TrainerGuidance


def fixture_config():
    """(joint_attention_dim, pooled_projection_dim, scaling_factor, shift_factor) from tests/fixtures/flux-tiny, as
    FluxMid.Config and the pipeline's VAE take them; flux-tiny's values when the fixture is not found."""
    values = [32, 32, 0.3611, 0.1159]
    here = os.path.dirname(os.path.abspath(__file__))
    folder = os.path.join(here, "..", "..", "tests", "fixtures", "flux-tiny")

    def load(component):
        path = os.path.join(folder, component, "config.json")
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return json.load(f)

    t5, clip, vae = load("text_encoder_2"), load("text_encoder"), load("vae")
    if t5:
        values[0] = t5["d_model"]
    if clip:
        values[1] = clip["hidden_size"]
    if vae:
        values[2] = vae["scaling_factor"]
        values[3] = vae.get("shift_factor") or 0.0
    return values


JOINT, POOLED, SCALING, SHIFT = fixture_config()


def timestep_embedding(t, dim):
    """Timesteps(256, flip_sin_to_cos, downscale_freq_shift 0)."""
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32) * -math.log(10000) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], -1)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        variance = x.float().pow(2).mean(-1, keepdim=True)
        return x * torch.rsqrt(variance + self.eps) * self.weight


class TimestepEmbedding(nn.Module):
    def __init__(self, fin, dim):
        super().__init__()
        self.linear_1 = nn.Linear(fin, dim)
        self.linear_2 = nn.Linear(dim, dim)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


class CombinedTimestepGuidanceTextProjEmbeddings(nn.Module):
    def __init__(self, dim, pooled):
        super().__init__()
        self.timestep_embedder = TimestepEmbedding(TIME_PROJ, dim)
        self.guidance_embedder = TimestepEmbedding(TIME_PROJ, dim)
        self.text_embedder = TimestepEmbedding(pooled, dim)  # PixArtAlphaTextProjection with silu: the same two linears

    def forward(self, t, g, pooled):
        emb = self.timestep_embedder(timestep_embedding(t, TIME_PROJ))
        emb = emb + self.guidance_embedder(timestep_embedding(g, TIME_PROJ))
        return emb + self.text_embedder(pooled)


def rotary(ids):
    """FluxPosEmbed: per axis, angles pos * 1 / 10000^(2j / dim) in float64, cos and sin repeated pairwise, float32."""
    pos = ids.float().double()
    cos, sin = [], []
    for i, dim in enumerate(AXES):
        freqs = 1.0 / torch.tensor(10000.0, dtype=torch.float64).pow(torch.arange(0, dim, 2, dtype=torch.float64) / dim)
        angles = pos[:, i:i + 1] * freqs[None]
        cos.append(angles.cos().repeat_interleave(2, 1).float())
        sin.append(angles.sin().repeat_interleave(2, 1).float())
    return torch.cat(cos, -1), torch.cat(sin, -1)


def apply_rotary(x, rope):
    cos, sin = rope
    pairs = x.reshape(*x.shape[:-1], -1, 2)
    rotated = torch.stack([-pairs[..., 1], pairs[..., 0]], -1).flatten(3)
    return x.float() * cos[None, None] + rotated.float() * sin[None, None]


class FluxAttention(nn.Module):
    def __init__(self, dim, joint):
        super().__init__()
        self.norm_q, self.norm_k = RMSNorm(HEAD_DIM), RMSNorm(HEAD_DIM)
        self.to_q, self.to_k, self.to_v = nn.Linear(dim, INNER), nn.Linear(dim, INNER), nn.Linear(dim, INNER)
        self.joint = joint
        if joint:
            self.add_k_proj, self.add_v_proj, self.add_q_proj = nn.Linear(dim, INNER), nn.Linear(dim, INNER), nn.Linear(dim, INNER)
            self.to_add_out = nn.Linear(INNER, dim)
            self.norm_added_q, self.norm_added_k = RMSNorm(HEAD_DIM), RMSNorm(HEAD_DIM)
            self.to_out = nn.ModuleList([nn.Linear(INNER, dim), nn.Dropout(0.0)])

    def forward(self, x, context, rope):
        b = x.shape[0]

        def heads(t):
            return t.view(b, -1, HEADS, HEAD_DIM).transpose(1, 2)

        q, k, v = self.norm_q(heads(self.to_q(x))), self.norm_k(heads(self.to_k(x))), heads(self.to_v(x))
        if context is not None:
            q = torch.cat([self.norm_added_q(heads(self.add_q_proj(context))), q], 2)
            k = torch.cat([self.norm_added_k(heads(self.add_k_proj(context))), k], 2)
            v = torch.cat([heads(self.add_v_proj(context)), v], 2)
        q, k = apply_rotary(q, rope), apply_rotary(k, rope)
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(HEAD_DIM), -1)
        o = (w @ v).transpose(1, 2).reshape(b, -1, INNER)
        if context is None:
            return o, None  # pre_only: the attended values, unprojected
        n = context.shape[1]
        return self.to_out[1](self.to_out[0](o[:, n:])), self.to_add_out(o[:, :n])


class AdaLayerNormZero(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.linear = nn.Linear(dim, 6 * dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6, elementwise_affine=False)

    def forward(self, x, emb):
        shift, scale, gate, shift_mlp, scale_mlp, gate_mlp = self.linear(F.silu(emb)).chunk(6, 1)
        return self.norm(x) * (scale[:, None] + 1) + shift[:, None], gate, shift_mlp, scale_mlp, gate_mlp


class AdaLayerNormZeroSingle(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.linear = nn.Linear(dim, 3 * dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6, elementwise_affine=False)

    def forward(self, x, emb):
        shift, scale, gate = self.linear(F.silu(emb)).chunk(3, 1)
        return self.norm(x) * (scale[:, None] + 1) + shift[:, None], gate


class AdaLayerNormContinuous(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.linear = nn.Linear(dim, 2 * dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6, elementwise_affine=False)

    def forward(self, x, emb):
        scale, shift = self.linear(F.silu(emb)).chunk(2, 1)
        return self.norm(x) * (scale + 1)[:, None] + shift[:, None]


class GELU(nn.Module):
    def __init__(self, fin, fout):
        super().__init__()
        self.proj = nn.Linear(fin, fout)

    def forward(self, x):
        return F.gelu(self.proj(x), approximate="tanh")


class FeedForward(nn.Module):
    """FeedForward(dim, activation_fn "gelu-approximate"): GELU(dim -> 4 dim, tanh), dropout, linear 4 dim -> dim."""

    def __init__(self, dim):
        super().__init__()
        self.net = nn.ModuleList([GELU(dim, 4 * dim), nn.Dropout(0.0), nn.Linear(4 * dim, dim)])

    def forward(self, x):
        return self.net[2](self.net[1](self.net[0](x)))


class FluxTransformerBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm1, self.norm1_context = AdaLayerNormZero(dim), AdaLayerNormZero(dim)
        self.attn = FluxAttention(dim, joint=True)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6, elementwise_affine=False)
        self.ff = FeedForward(dim)
        self.norm2_context = nn.LayerNorm(dim, eps=1e-6, elementwise_affine=False)
        self.ff_context = FeedForward(dim)

    def forward(self, h, c, temb, rope):
        nh, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.norm1(h, temb)
        nc, c_gate_msa, c_shift_mlp, c_scale_mlp, c_gate_mlp = self.norm1_context(c, temb)
        attn, c_attn = self.attn(nh, nc, rope)
        h = h + gate_msa[:, None] * attn
        h = h + gate_mlp[:, None] * self.ff(self.norm2(h) * (scale_mlp[:, None] + 1) + shift_mlp[:, None])
        c = c + c_gate_msa[:, None] * c_attn
        c = c + c_gate_mlp[:, None] * self.ff_context(self.norm2_context(c) * (c_scale_mlp[:, None] + 1) + c_shift_mlp[:, None])
        return c, h


class FluxSingleTransformerBlock(nn.Module):
    def __init__(self, dim, mlp_ratio=4.0):
        super().__init__()
        mlp = int(dim * mlp_ratio)
        self.norm = AdaLayerNormZeroSingle(dim)
        self.proj_mlp = nn.Linear(dim, mlp)
        self.proj_out = nn.Linear(dim + mlp, dim)
        self.attn = FluxAttention(dim, joint=False)

    def forward(self, h, temb, rope):
        n, gate = self.norm(h, temb)
        mlp = F.gelu(self.proj_mlp(n), approximate="tanh")
        attn, _ = self.attn(n, None, rope)
        return h + gate[:, None] * self.proj_out(torch.cat([attn, mlp], 2))


class FluxTransformer2DModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.time_text_embed = CombinedTimestepGuidanceTextProjEmbeddings(INNER, POOLED)
        self.context_embedder = nn.Linear(JOINT, INNER)
        self.x_embedder = nn.Linear(IN_CHANNELS, INNER)
        self.transformer_blocks = nn.ModuleList([FluxTransformerBlock(INNER) for _ in range(DOUBLE)])
        self.single_transformer_blocks = nn.ModuleList([FluxSingleTransformerBlock(INNER) for _ in range(SINGLE)])
        self.norm_out = AdaLayerNormContinuous(INNER)
        self.proj_out = nn.Linear(INNER, IN_CHANNELS)

    def forward(self, hidden, context, pooled, timestep, img_ids, txt_ids, guidance):
        rope = rotary(torch.cat([txt_ids.float(), img_ids.float()], 0))
        h = self.x_embedder(hidden)
        temb = self.time_text_embed(timestep.float() * 1000, guidance.float() * 1000, pooled)
        c = self.context_embedder(context)
        for block in self.transformer_blocks:
            c, h = block(h, c, temb, rope)
        n = c.shape[1]
        h = torch.cat([c, h], 1)
        for block in self.single_transformer_blocks:
            h = block(h, temb, rope)
        return self.proj_out(self.norm_out(h[:, n:], temb))


def attach(model, method, rank):
    """FluxPipeline.AttentionProjections: to_q, to_k, to_v, to_out.0, add_q_proj, add_k_proj, add_v_proj where present."""
    attentions, projections = 0, 0
    for module in list(model.modules()):
        if isinstance(module, FluxAttention):
            names = ["to_q", "to_k", "to_v"] + (["add_q_proj", "add_k_proj", "add_v_proj"] if module.joint else [])
            for name in names:
                setattr(module, name, Adapted(getattr(module, name), method, rank))
            if module.joint:
                module.to_out[0] = Adapted(module.to_out[0], method, rank)
            attentions += 1
            projections += len(names) + (1 if module.joint else 0)
    return attentions, projections


def pack(latents):
    b, c, h, w = latents.shape
    return latents.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 2, 4, 1, 3, 5).reshape(b, h // 2 * (w // 2), c * 4)


def unpack(packed, h, w):
    b, _, c4 = packed.shape
    return packed.reshape(b, h // 2, w // 2, c4 // 4, 2, 2).permute(0, 3, 1, 4, 2, 5).reshape(b, c4 // 4, h, w)


def image_ids(rows, cols):
    ids = torch.zeros(rows, cols, 3)
    ids[..., 1] = torch.arange(rows, dtype=torch.float32)[:, None]
    ids[..., 2] = torch.arange(cols, dtype=torch.float32)[None, :]
    return ids.reshape(rows * cols, 3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--method", choices=METHODS, default="TLoRA")
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = FluxTransformer2DModel().eval()
    model.requires_grad_(False)
    model_params = sum(p.numel() for p in model.parameters())
    attentions, projections = attach(model, a.method, a.rank)
    params = trainable(model)
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-4)
    min_rank = max(1, a.rank // 2)

    # what FluxPipeline.PrepareTraining computes once, before the timed steps: random stand-ins of the right shapes
    latent = IMAGE_SIZE // VAE_SCALE
    g = torch.Generator().manual_seed(1234)
    mean = torch.randn(1, LATENT_CHANNELS, latent, latent, generator=g) / SCALING + SHIFT
    std = torch.full((1, LATENT_CHANNELS, latent, latent), 0.05)
    context = torch.randn(1, TOKENS, JOINT, generator=g)
    pooled = torch.randn(1, POOLED, generator=g)
    txt_ids = torch.zeros(TOKENS, 3)

    steps, fwd, bwd, upd, losses = [], [], [], [], []
    gen = torch.Generator()
    for s in range(1, a.warmup + a.steps + 1):
        t0 = time.perf_counter()
        gen.manual_seed(s)
        eps = torch.randn(mean.shape, generator=gen)
        x0 = (mean + std * eps - SHIFT) * SCALING
        noise = torch.randn(x0.shape, generator=gen)
        u = torch.rand(1, generator=gen)
        index = min(max(int((u * float(T_TRAIN)).item()), 0), T_TRAIN - 1)
        sigma = torch.tensor(float(T_TRAIN - index), dtype=torch.float32) / float(T_TRAIN)
        timestep = (sigma * float(T_TRAIN)).item()
        sigma = sigma.item()
        if a.method != "LoRA":
            set_mask(a.rank, linear_rank_f32(timestep, a.rank, min_rank, T_TRAIN))
        noisy = x0 * (1.0 - sigma) + noise * sigma
        h, w = x0.shape[2], x0.shape[3]
        ids = image_ids(h // 2, w // 2)
        guidance = torch.full([1], GUIDANCE, dtype=torch.int64)
        t = torch.full([1], timestep, dtype=torch.float32) / 1000.0
        out = model(pack(noisy), context, pooled, t, ids, txt_ids, guidance)
        loss = F.mse_loss(unpack(out, h, w), noise - x0)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad()
        value = loss.item()
        t3 = time.perf_counter()
        if not math.isfinite(value):
            raise SystemExit(f"loss is {value} at step {s}")
        if s > a.warmup:
            steps.append((t3 - t0) * 1e3)
            fwd.append((t1 - t0) * 1e3)
            bwd.append((t2 - t1) * 1e3)
            upd.append((t3 - t2) * 1e3)
            losses.append(value)

    result = {
        "torch": torch.__version__, "method": a.method, "rank": a.rank, "threads": torch.get_num_threads(),
        "transformer_parameters": model_params, "adapted_attentions": attentions, "adapted_projections": projections,
        "trainable_parameters": sum(p.numel() for p in params),
        "step_ms": steps, "loss_ms": fwd, "backward_ms": bwd, "optimizer_ms": upd, "losses": losses,
    }
    if a.json:
        print(json.dumps(result))
    else:
        med = sorted(steps)[len(steps) // 2]
        print(f"PyTorch {torch.__version__} flux-mid {a.method}: median {med:.1f} ms/step over {len(steps)} steps "
              f"({attentions} attentions, {projections} adapted projections, {model_params:,} transformer params, "
              f"{sum(p.numel() for p in params):,} trainable)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
