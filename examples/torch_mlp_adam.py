"""A PyTorch-dialect MLP trained with Adam and a cosine learning-rate schedule, as PyTorch's
tutorials write it (only the import line differs): two interleaved spirals, classified."""
from __future__ import annotations

import math

import tapegrad.torch as torch
from tapegrad.torch import nn


def spirals(n: int, gen: torch.Generator) -> tuple:
    """``n`` points per class on two interleaved spirals with a little noise, and their labels."""
    t = torch.rand(n, generator=gen) * 2 * math.pi + 0.5
    xs, ys = [], []
    for k in range(2):
        angle = t + k * math.pi
        pts = torch.stack([t * torch.cos(angle), t * torch.sin(angle)], dim=1) / 4
        xs.append(pts + 0.02 * torch.randn(n, 2, generator=gen))
        ys.append(torch.full((n,), k, dtype=torch.long))
    return torch.cat(xs), torch.cat(ys)


def main(small: bool = False) -> dict:
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    n, epochs = (200, 200) if small else (1000, 500)
    X, y = spirals(n, gen)
    model = nn.Sequential(nn.Linear(2, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        opt.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        opt.step()
        sched.step()
    with torch.no_grad():
        accuracy = (model(X).argmax(dim=1) == y).float().mean().item()
    print(f"spirals: loss {loss.item():.4f}, accuracy {accuracy:.3f}, final lr {sched.get_last_lr()[0]:.2e}")
    return {"loss": loss.item(), "accuracy": accuracy, "lr": sched.get_last_lr()[0]}


if __name__ == "__main__":
    main()
