"""A penguins-like data set, generated (no file is bundled): three species on three islands, two sexes,
four measurements. The island carries signal the measurements do not: Chinstraps live only on Dream,
Gentoos only on Biscoe, and the measurements of Adelies and Chinstraps overlap here by design."""
from __future__ import annotations

from pathlib import Path
from typing import List

from stingerml.core.rng import XorShift32

SPECIES = ("Adelie", "Chinstrap", "Gentoo")
ISLANDS = {"Adelie": ("Biscoe", "Dream", "Torgersen"), "Chinstrap": ("Dream",), "Gentoo": ("Biscoe",)}
MEANS = {"Adelie": (40.0, 18.3, 190.0, 3700.0), "Chinstrap": (42.0, 18.4, 193.0, 3730.0),
         "Gentoo": (47.5, 15.0, 217.0, 5070.0)}
SPREAD = (3.0, 1.2, 7.0, 450.0)
COLUMNS = ("id", "species", "island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex")


def rows(n: int = 345, seed: int = 7) -> List[List[str]]:
    """``n`` rows of :data:`COLUMNS` (as text)."""
    rng = XorShift32(seed)
    out = []
    for r in range(n):
        sp = SPECIES[r % 3]
        island = ISLANDS[sp][int(rng() * len(ISLANDS[sp]))]
        sex = "male" if rng() < 0.5 else "female"
        boost = 1.04 if sex == "male" else 0.96
        vals = [m * (boost if k == 3 else 1.0) + s * (rng() + rng() + rng() - 1.5) * 2
                for k, (m, s) in enumerate(zip(MEANS[sp], SPREAD))]
        out.append([f"P{r:04d}", sp, island, *(f"{v:.1f}" for v in vals), sex])
    return out


def write_csv(path: Path, n: int = 345, seed: int = 7) -> Path:
    path.write_text("\n".join([",".join(COLUMNS)] + [",".join(r) for r in rows(n, seed)]) + "\n", encoding="utf-8")
    return path
