"""docs/asl-landmarks.md and docs/crowdmind.md: their Python blocks run, in order, in one namespace, in a
fresh folder (as a reader would run them)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
NOT_RUN = "_(Not run by the tests: "


def python_blocks(page: Path):
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks, k = [], 0
    while k < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[k])
        if m:
            end = next(j for j in range(k + 1, len(lines)) if lines[j].startswith("```"))
            skipped = k > 0 and lines[k - 1].startswith(NOT_RUN)
            if m.group(1) == "python" and not skipped:
                blocks.append((k + 1, "\n".join(lines[k + 1:end])))
            k = end
        k += 1
    return blocks


@pytest.mark.parametrize("page", ["asl-landmarks.md", "crowdmind.md"])
def test_page_runs(page, tmp_path, monkeypatch, capsys):
    if page == "asl-landmarks.md":
        pytest.importorskip("numpy")  # the page writes an .npz with numpy, as seed 001 does
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    found = python_blocks(DOCS / page)
    assert len(found) == {"asl-landmarks.md": 6, "crowdmind.md": 3}[page]  # a block lost to a typo fails
    for line, code in found:
        exec(compile(code, f"{page}:{line}", "exec"), namespace)  # noqa: S102 (the docs' own code)
    assert os.listdir(tmp_path)
