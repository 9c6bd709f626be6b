"""The helper process of the two-process pure-Python MLP: ``python -m stingerml._kernels.helper``.

Started by :mod:`.peer` (never by hand); it trains its share of each fit with
:func:`.pure.mlp_fit_share` until the main process closes its stdin.
"""
from __future__ import annotations

from . import peer, pure

if __name__ == "__main__":
    peer.serve(pure.mlp_fit_share)
