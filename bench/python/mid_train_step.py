#!/usr/bin/env python3
"""The Engine.Bench "mid" training step in PyTorch, for a C#/PyTorch ratio on the same machine.

The same SD-XL-shaped UNet at 1/8 width as bench/Engine.Bench/MidPipeline.cs (blocks DownBlock2D, CrossAttnDownBlock2D
x2, UNetMidBlock2DCrossAttn, CrossAttnUpBlock2D x2, UpBlock2D; widths 40/80/160, heads 5/10/20 of dim 8, transformer
depths 1/2/10, context 256, pooled 160, time-id embedding 32, GroupNorm 8, linear projections), written out here
because Debian has no diffusers; seeded random weights (the numbers are timings, not outputs). The step is
MidPipeline.TrainingLoss + AdapterTrainer's update: posterior sample, DDPM add_noise at a uniform t, the rank mask
r(t) (power schedule, alpha 1), the UNet with adapters on to_q/to_k/to_v/to_out.0 of all 140 attentions, MSE against
the noise, backward, clip_grad_norm_(1), AdamW (lr 1e-4, betas 0.9/0.999, weight decay 1e-4), zero_grad, loss.item().

Adapters (LoRA, Vanilla T-LoRA, T-LoRA) and the rank schedule come from adapters.py, shared with
flux_mid_train_step.py; see there.

Debian 12's python3-torch is PyTorch 1.13: no fused scaled_dot_product_attention, so attention is
softmax(q k^T / sqrt(d)) v composed of matmuls. Prints one JSON line (--json) or a summary.

  /usr/bin/python3 bench/python/mid_train_step.py --method TLoRA --steps 8 --warmup 2 [--threads 1] [--json]
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from adapters import METHODS, Adapted, power_rank, set_mask, trainable

WIDTHS = [40, 80, 160]
HEADS = [5, 10, 20]
DEPTHS = [1, 2, 10]
CONTEXT, POOLED, TOKENS, TIME_ID_DIM = 256, 160, 77, 32
GROUPS, LATENT, SCALING = 8, 32, 0.13025
TEMB = 4 * WIDTHS[0]


class Attention(nn.Module):
    def __init__(self, dim, context, heads):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(context or dim, dim, bias=False)
        self.to_v = nn.Linear(context or dim, dim, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim)])

    def forward(self, x, context=None):
        b, n, d = x.shape
        c = x if context is None else context
        h = self.heads

        def split(t):
            return t.view(b, -1, h, d // h).transpose(1, 2)

        q, k, v = split(self.to_q(x)), split(self.to_k(c)), split(self.to_v(c))
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // h), -1)
        return self.to_out[0]((w @ v).transpose(1, 2).reshape(b, n, d))


class GEGLU(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.proj = nn.Linear(dim, 8 * dim)

    def forward(self, x):
        a, gate = self.proj(x).chunk(2, -1)
        return a * F.gelu(gate)


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn1 = Attention(dim, None, heads)
        self.attn2 = Attention(dim, CONTEXT, heads)
        self.ff = nn.Sequential(GEGLU(dim), nn.Dropout(0.0), nn.Linear(4 * dim, dim))

    def forward(self, x, context):
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), context) + x
        return self.ff(self.norm3(x)) + x


class Transformer2D(nn.Module):
    def __init__(self, dim, heads, depth):
        super().__init__()
        self.norm = nn.GroupNorm(GROUPS, dim, eps=1e-6)
        self.proj_in = nn.Linear(dim, dim)
        self.transformer_blocks = nn.ModuleList([BasicTransformerBlock(dim, heads) for _ in range(depth)])
        self.proj_out = nn.Linear(dim, dim)

    def forward(self, x, context):
        b, c, hh, ww = x.shape
        h = self.proj_in(self.norm(x).permute(0, 2, 3, 1).reshape(b, hh * ww, c))
        for block in self.transformer_blocks:
            h = block(h, context)
        h = self.proj_out(h).reshape(b, hh, ww, c).permute(0, 3, 1, 2).contiguous()
        return h + x


class Resnet(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.norm1 = nn.GroupNorm(GROUPS, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(TEMB, cout)
        self.norm2 = nn.GroupNorm(GROUPS, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (x if self.conv_shortcut is None else self.conv_shortcut(x)) + h


def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], -1)  # flip_sin_to_cos


class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        w = WIDTHS
        self.conv_in = nn.Conv2d(4, w[0], 3, padding=1)
        self.time_embedding = nn.Sequential(nn.Linear(w[0], TEMB), nn.SiLU(), nn.Linear(TEMB, TEMB))
        self.add_embedding = nn.Sequential(nn.Linear(POOLED + 6 * TIME_ID_DIM, TEMB), nn.SiLU(), nn.Linear(TEMB, TEMB))
        self.down = nn.ModuleList()
        cin = w[0]
        for i, cout in enumerate(w):
            block = nn.Module()
            block.resnets = nn.ModuleList([Resnet(cin if j == 0 else cout, cout) for j in range(2)])
            block.attentions = nn.ModuleList([Transformer2D(cout, HEADS[i], DEPTHS[i]) for _ in range(2)]) if i > 0 else None
            block.downsample = nn.Conv2d(cout, cout, 3, stride=2, padding=1) if i < len(w) - 1 else None
            self.down.append(block)
            cin = cout
        self.mid_resnets = nn.ModuleList([Resnet(w[-1], w[-1]), Resnet(w[-1], w[-1])])
        self.mid_attention = Transformer2D(w[-1], HEADS[-1], DEPTHS[-1])
        self.up = nn.ModuleList()
        rw = list(reversed(w))
        prev = rw[0]
        for i, cout in enumerate(rw):
            skip_in = rw[min(i + 1, len(w) - 1)]
            block = nn.Module()
            block.resnets = nn.ModuleList(
                [Resnet((prev if j == 0 else cout) + (skip_in if j == 2 else cout), cout) for j in range(3)])
            k = len(w) - 1 - i
            block.attentions = nn.ModuleList([Transformer2D(cout, HEADS[k], DEPTHS[k]) for _ in range(3)]) if k > 0 else None
            block.upsample = nn.Conv2d(cout, cout, 3, padding=1) if i < len(w) - 1 else None
            self.up.append(block)
            prev = cout
        self.conv_norm_out = nn.GroupNorm(GROUPS, w[0])
        self.conv_out = nn.Conv2d(w[0], 4, 3, padding=1)

    def forward(self, x, t, context, pooled, time_ids):
        emb = self.time_embedding(timestep_embedding(t, WIDTHS[0]))
        ids = timestep_embedding(time_ids.flatten(), TIME_ID_DIM).reshape(time_ids.shape[0], -1)
        emb = emb + self.add_embedding(torch.cat([pooled, ids], -1))
        h = self.conv_in(x)
        skips = [h]
        for block in self.down:
            for j, resnet in enumerate(block.resnets):
                h = resnet(h, emb)
                if block.attentions is not None:
                    h = block.attentions[j](h, context)
                skips.append(h)
            if block.downsample is not None:
                h = block.downsample(h)
                skips.append(h)
        h = self.mid_resnets[0](h, emb)
        h = self.mid_attention(h, context)
        h = self.mid_resnets[1](h, emb)
        for block in self.up:
            for j, resnet in enumerate(block.resnets):
                h = resnet(torch.cat([h, skips.pop()], 1), emb)
                if block.attentions is not None:
                    h = block.attentions[j](h, context)
            if block.upsample is not None:
                h = block.upsample(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.conv_out(F.silu(self.conv_norm_out(h)))


def attach(unet, method, rank):
    count = 0
    for module in list(unet.modules()):
        if isinstance(module, Attention):
            for name in ("to_q", "to_k", "to_v"):
                setattr(module, name, Adapted(getattr(module, name), method, rank))
            module.to_out[0] = Adapted(module.to_out[0], method, rank)
            count += 1
    return count


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
    unet = UNet().eval()
    unet.requires_grad_(False)
    unet_params = sum(p.numel() for p in unet.parameters())
    attentions = attach(unet, a.method, a.rank)
    params = trainable(unet)
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-4)
    min_rank = max(1, a.rank // 2)

    g = torch.Generator().manual_seed(1234)
    mean = torch.randn(1, 4, LATENT, LATENT, generator=g) / SCALING
    std = torch.full((1, 4, LATENT, LATENT), 0.05)
    context = torch.randn(1, TOKENS, CONTEXT, generator=g)
    pooled = torch.randn(1, POOLED, generator=g)
    time_ids = torch.tensor([[256.0, 256.0, 0.0, 0.0, 256.0, 256.0]])
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
    alphas_cumprod = torch.cumprod(1.0 - betas, 0).float()

    steps, fwd, bwd, upd, losses = [], [], [], [], []
    gen = torch.Generator()
    for s in range(1, a.warmup + a.steps + 1):
        t0 = time.perf_counter()
        gen.manual_seed(s)
        eps = torch.randn(mean.shape, generator=gen)
        latents = (mean + std * eps) * SCALING
        noise = torch.randn(latents.shape, generator=gen)
        t = torch.randint(0, 1000, (1,), generator=gen)
        ac = alphas_cumprod[t]
        noisy = ac.sqrt() * latents + (1 - ac).sqrt() * noise
        set_mask(a.rank, power_rank(t.item(), a.rank, min_rank))
        loss = F.mse_loss(unet(noisy, t, context, pooled, time_ids), noise)
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
        "unet_parameters": unet_params, "adapted_attentions": attentions,
        "trainable_parameters": sum(p.numel() for p in params),
        "step_ms": steps, "loss_ms": fwd, "backward_ms": bwd, "optimizer_ms": upd, "losses": losses,
    }
    if a.json:
        print(json.dumps(result))
    else:
        med = sorted(steps)[len(steps) // 2]
        print(f"PyTorch {torch.__version__} mid {a.method}: median {med:.1f} ms/step over {len(steps)} steps "
              f"({attentions} attentions, {unet_params:,} UNet params)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
