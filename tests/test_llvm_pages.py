"""Giving back LLVM's clean pages (issue 28, stingerml/_kernels/llvm_pages.py): only read-only mappings of
libllvmlite.so without a private page are released, and the kernels run the same after it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stingerml._kernels.llvm_pages import clean_ranges

ROOT = Path(__file__).resolve().parents[1]
LIB = "/venv/llvmlite/binding/libllvmlite.so"


def _mapping(span: str, perms: str, path: str, anonymous: int) -> str:
    return (f"{span} {perms} 00000000 fe:00 5326347    {path}\n"
            f"Size:              1024 kB\nRss:                512 kB\nAnonymous:      {anonymous:>8} kB\n"
            "THPeligible:    0\nVmFlags: rd mr mw me\n")


def test_only_read_only_mappings_of_the_library_without_private_pages():
    smaps = "".join([
        _mapping("7f0000000000-7f0000365000", "r--p", LIB, 0),  # headers, symbols: released
        _mapping("7f0000365000-7f0005394000", "r-xp", LIB, 0),  # code: released
        _mapping("7f0005394000-7f0009677000", "r--p", LIB, 1804),  # RELRO (relocated copies): kept
        _mapping("7f0009677000-7f000983c000", "rw-p", LIB, 0),  # writable data: kept
        _mapping("7f000983c000-7f0009865000", "r-xp", "/usr/lib/libc.so.6", 0),  # another file: kept
        _mapping("7f0009865000-7f0009866000", "r-xp", LIB + " (deleted)", 0),  # replaced on disk: kept
        _mapping("7f0009866000-7f0009867000", "r--s", LIB, 0),  # shared: kept
        "7f0009867000-7f0009868000 rw-p 00000000 00:00 0\nAnonymous:         4 kB\n",  # anonymous memory
    ]).splitlines(keepends=True)
    assert clean_ranges(smaps, LIB) == [(0x7F0000000000, 0x7F0000365000), (0x7F0000365000, 0x7F0005394000)]


def test_a_mapping_whose_anonymous_line_is_missing_is_kept():
    smaps = ("7f0000000000-7f0000365000 r-xp 00000000 fe:00 1 " + LIB + "\nRss: 4 kB\n"
             + _mapping("7f0000365000-7f0005394000", "r-xp", "/other.so", 0)).splitlines(keepends=True)
    assert clean_ranges(smaps, LIB) == []


SCRIPT = """
import os
from llvmlite.binding import ffi
from stingerml._kernels import llvm_pages
llvm_pages.enable()
from stingerml._kernels import kernels, set_backend
set_backend("numba")
from stingerml._kernels import jit, pure  # imports numba: released before and after

def resident(ranges):
    total, inside = 0, False
    for line in open("/proc/self/smaps"):
        fields = line.split()
        if not fields[0].endswith(":"):
            start, end = (int(a, 16) for a in fields[0].split("-"))
            inside = (start, end) in ranges
        elif inside and fields[0] == "Rss:":
            total += int(fields[1])
    return total

X = [0.5, -1.0, 2.0, 1.5, 0.25, -3.0, 4.0, 2.0, 1.0]  # 3 rows x 3 features
assert jit.scaler_fit(X, 3, 3) == pure.scaler_fit(X, 3, 3)  # loads a kernel (through LLVM), then releases
ranges = set(llvm_pages._ranges)
assert llvm_pages._enabled and ranges, "nothing to release"
assert resident(ranges) == 0, resident(ranges)
mean, scale = pure.scaler_fit(X, 3, 3)
assert jit.scaler_transform(X, 3, 3, mean, scale) == pure.scaler_transform(X, 3, 3, mean, scale)  # LLVM again
print("ok", len(ranges))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only (/proc/self/smaps, madvise)")
def test_released_pages_come_back_and_kernels_run_the_same():
    pytest.importorskip("numba")
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.startswith("ok"), done.stdout + done.stderr
