"""What every example shares: where figures go, and a non-interactive matplotlib."""

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # examples write PNGs; no window needed

FIGURES = Path(os.environ.get("NUMLOSS_FIGURES", Path(__file__).parent / "figures"))


def save(fig, name: str) -> Path:
    """Save `fig` as FIGURES/name.png and say where."""
    FIGURES.mkdir(parents=True, exist_ok=True)
    path = FIGURES / f"{name}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    print(f"figure: {path}")
    return path
