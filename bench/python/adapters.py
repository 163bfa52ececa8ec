"""The engine's adapters and rank schedules in plain PyTorch, shared by the PyTorch peers of Engine.Bench's training
steps (mid_train_step.py for "mid", flux_mid_train_step.py for "flux-mid"), so both time the same adapter code.

Adapters, as the engine has them (src/Engine/Adapters): LoRA = up(down(x) * mask), down ~ N(0, 1/r), up = 0 (Vanilla
T-LoRA: with the mask, LoRA: without); T-LoRA = a stacked form of p(q(x)*lambda*m) - p0(q0(x)*lambda0*m): one linear
over [Q; Q0], a scale [lambda*m, -lambda0*m], one linear over [P, P0], SVD-initialised (last components). Every
adapter reads the one rank mask of the current step from Ctx (the engine's RankMaskContext).

Rank schedules (RankSchedule.RankAt): the power schedule of the SD-XL code (float64, floor) and the linear schedule of
the official FLUX code (each operation rounded to float32, int() truncation).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

METHODS = ["LoRA", "VanillaTLoRA", "TLoRA"]


class LoRA(nn.Module):
    def __init__(self, fin, fout, rank, masked):
        super().__init__()
        self.down = nn.Linear(fin, rank, bias=False)
        self.up = nn.Linear(rank, fout, bias=False)
        nn.init.normal_(self.down.weight, 0, 1.0 / rank)
        nn.init.zeros_(self.up.weight)
        self.masked = masked

    def forward(self, x, mask):
        h = self.down(x)
        if self.masked:
            h = h * mask[:, : h.shape[-1]].view(*([1] * (h.dim() - 1)), -1)
        return self.up(h)


class OrthoLoRA(nn.Module):
    def __init__(self, fin, fout, rank):
        super().__init__()
        r = torch.randn(fout, fin) / rank
        u, s, vh = torch.linalg.svd(r, full_matrices=False)
        k = s.shape[0]
        self.q = nn.Parameter(vh[k - rank:].clone())
        self.p = nn.Parameter(u[:, k - rank:].clone())
        self.lam = nn.Parameter(s[k - rank:].clone().unsqueeze(0))
        self.register_buffer("q0", self.q.detach().clone())
        self.register_buffer("p0", self.p.detach().clone())
        self.register_buffer("lam0", self.lam.detach().clone())

    def forward(self, x, mask):
        r = self.q.shape[0]
        m = mask[:, :r]
        q = torch.cat([self.q, self.q0], 0)
        p = torch.cat([self.p, self.p0], 1)
        scale = torch.cat([self.lam, -self.lam0], 1) * torch.cat([m, m], 1)
        z = F.linear(x, q) * scale.view(*([1] * (x.dim() - 1)), -1)
        return F.linear(z, p)


class Ctx:
    """The rank mask shared by every adapter, set per step from the timestep."""
    mask = None


class Adapted(nn.Module):
    """A frozen Linear plus an adapter delta."""

    def __init__(self, base, method, rank):
        super().__init__()
        self.base = base
        fin, fout = base.in_features, base.out_features
        r = min(rank, fin, fout)
        self.adapter = OrthoLoRA(fin, fout, r) if method == "TLoRA" else LoRA(fin, fout, r, method == "VanillaTLoRA")

    def forward(self, x):
        return self.base(x) + self.adapter(x, Ctx.mask)


def trainable(model):
    """The adapters' parameters, made trainable (the frozen model's are not)."""
    params = [p for n, p in model.named_parameters() if ".adapter." in n and p.requires_grad]
    for p in params:
        p.requires_grad_(True)
    return params


def power_rank(t, rank, min_rank, alpha=1.0, T=1000):
    """RankScheduleKind.Power: floor(((T - t) / T)^alpha * (rank - min_rank)) + min_rank, in float64."""
    return math.floor(((T - t) / T) ** alpha * (rank - min_rank)) + min_rank


def linear_rank_f32(t, rank, min_rank, T=1000):
    """RankScheduleKind.Linear, as the official FLUX code: int((T - t) * (rank - min_rank) / T) + min_rank with t a
    float32 tensor, so every operation rounds to float32; clamped to [min_rank, rank]."""
    max_t = torch.tensor(float(T), dtype=torch.float32)
    tc = torch.tensor(float(t), dtype=torch.float32).clamp(0, T)
    r = int(((max_t - tc) * (rank - min_rank)) / max_t) + min_rank
    return max(min_rank, min(rank, r))


def set_mask(rank, active):
    """Ctx.mask = [1, rank] with ones in the first `active` columns."""
    Ctx.mask = torch.zeros(1, rank)
    Ctx.mask[:, :active] = 1
