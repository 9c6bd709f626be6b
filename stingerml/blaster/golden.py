"""Golden vectors: windows of a log with the firmware's exact float32 answers, for other test suites.

The firmware's and the browser app's own tests can check themselves against
stingerml with these files. :func:`golden_set` picks a deterministic set of
50×6 windows from a log and computes, through the public
:mod:`stingerml.blaster.firmware` API (float32-exact, the same bits on both
backends), what the device gives for each: the 30 rich features (the first 18
are the LR's summary features), the gyro RMS of the motion gate, the LR and
MLP logits, and the probabilities after the gate (``p_*``, what the device
uses) and before it (``raw_*``). It also replays a short stretch of the log
sample by sample (the ring buffer from empty, then wrapping).

Selection rule (in this order; a window picked twice keeps its first name and
gains the later case):

1. ``first_full_window``: log samples ``[0, 50)``, the first window the ring
   buffer holds after boot.
2. ``positive_<k>`` / ``negative_<k>``: up to :data:`PER_LABEL` dataset rows of
   each label (the browser trainer's dataset, SPEC §4), evenly spaced through
   that label's rows: row ``floor(j * count / PER_LABEL)`` for ``j = 0..``.
3. The motion gate, among the *pool* (the dataset rows, then every
   ``stride``-th window of the log, ``stride = ceil((n - 49) / POOL_WINDOWS)``):
   ``gate_still`` (lowest RMS under the gate), ``gate_below`` (highest RMS
   under the gate), ``gate_above`` (lowest RMS at or over it). Ties go to the
   first in pool order. If no pool window is under the gate, ``gate_still`` is
   made from the quietest one by halving its gyro values (toward 0) until its
   RMS is under the gate (said in ``notes``).
4. ``saturated``: the window starting 25 samples before the log's first int16
   value at -32768 or 32767 (clamped into the log). If the log has none, it is
   made from the first pool window by setting every value of samples 20..29
   to 32767 (value >= 0) or -32768 (said in ``notes``).
5. ``near_<0|half|1>_<lr|mlp>``: the pool window whose raw (ungated)
   probability is closest to 0, 0.5 and 1, for each model.

Writers: :func:`render_header` (``golden.h``), :func:`render_json`
(``golden.json``), :func:`render_readme` (``README.md``), :func:`write_golden`
(the three, replaced as a set).
"""
from __future__ import annotations

import json
import math
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from .._version import __version__
from ..core.atomic import write_set_to_folder
from ..core.constants import CHANNEL_NAMES, CHANNELS, WINDOW_SAMPLES
from ..core.constants import RICH_FEATURES as MLP_FEATURES
from ..core.constants import SUMMARY_FEATURES as LR_FEATURES
from ..core.errors import DatasetError
from ..formats.mlmd import HEADER_SIZE, LRModel, MLPModel, build, crc32
from . import firmware
from .dataset import build_dataset, interleave, windows_at
from .features import featurize_rich, featurize_summary
from .log import Log
from .modeldiff import f32_bits

PER_LABEL = 4
"""Dataset rows taken of each label."""
POOL_WINDOWS = 2000
"""About how many evenly strided log windows join the dataset rows in the search pool."""
STREAM_SAMPLES = 100
"""Samples of the replayed stretch (ring buffer empty → full → wrapped)."""
ULP_BOUND_FEATURES = 0
"""Features, RMS and logits: bit-equal for any IEEE float32 C without FMA contraction."""
ULP_BOUND_PROB = 1
"""Probabilities: bit-equal with glibc, musl or newlib ``expf``; another libm may be 1 ulp off."""
FILES = ("golden.h", "golden.json", "README.md")
FEATURE_ARRAYS = (("features_summary", LR_FEATURES), ("features_rich", MLP_FEATURES),
                  ("browser_features_summary", LR_FEATURES), ("browser_features_rich", MLP_FEATURES))
"""Per-window feature rows ``(name, width)``, in file order."""
_FEATURE_NOTES = {
    "features_summary": "firmware features (float accumulators): mean, std, absmax per channel",
    "features_rich": "firmware features: summary, absmean, accel/gyro magnitude mean, std, max",
    "browser_features_summary": "the browser trainer's features of the same windows (double accumulators, SPEC 5)",
    "browser_features_rich": "the browser trainer's rich features (double accumulators, SPEC 5)",
}
WINDOW_OUTPUTS = ("rms", "z_lr", "z_mlp", "p_lr", "p_mlp", "raw_lr", "raw_mlp")
"""Per-window float32 scalars, in file order (after the features)."""
_SATURATED = (-32768, 32767)


@dataclass
class GoldenWindow:
    """One chosen window.

    Attributes:
        name: identifier (the first case it was chosen for, e.g. ``positive_0``).
        cases: every case of the selection rule it stands for.
        start: first log sample, or -1 for a made-up window.
        label: its dataset label (1, 0), or -1 when it is not a dataset row.
        samples: ``array('h')`` of 50×6 raw counts, ``[sample][channel]``, oldest first.
    """

    name: str
    cases: List[str]
    start: int
    label: int
    samples: array


@dataclass
class GoldenSet:
    """Chosen windows, the device's answers for them, and a replayed stretch.

    ``outputs`` holds ``array('f')`` columns: each of :data:`FEATURE_ARRAYS`
    (N×width, row-major) and of :data:`WINDOW_OUTPUTS` (N). ``stream`` is the raw stretch
    (``array('h')``, samples×6) from log sample ``stream_start``;
    ``stream_p_lr``/``stream_p_mlp`` the gated probabilities after each push.
    """

    source: str
    samples: int
    lr: LRModel
    mlp: MLPModel
    model_files: Dict[str, str]
    windows: List[GoldenWindow]
    outputs: Dict[str, array]
    stream_start: int
    stream: array
    stream_p_lr: array
    stream_p_mlp: array
    notes: List[str] = field(default_factory=list)

    def crc(self, kind: str) -> int:
        """Payload CRC-32 of the ``lr``/``mlp`` model, as stored in its MLMD header."""
        return crc32(build(self.lr if kind == "lr" else self.mlp)[HEADER_SIZE:])


# --------------------------------------------------------------------------- selection


def _closest(values: Sequence[float], target: float, allowed: Sequence[int]) -> Optional[int]:
    """Index in ``allowed`` order of the value closest to ``target`` (first on ties), or None."""
    best = None
    for i in allowed:
        if best is None or abs(values[i] - target) < abs(values[best] - target):
            best = i
    return best


def _pool_starts(n: int, dataset_starts: Sequence[int]) -> List[int]:
    last = n - WINDOW_SAMPLES
    stride = max(1, -(-(last + 1) // POOL_WINDOWS))
    return list(dataset_starts) + list(range(0, last + 1, stride))


def _quieted(samples: array, pool: List[int], rms: Sequence[float], lr: LRModel, mlp: MLPModel,
             notes: List[str]) -> array:
    """The quietest pool window with its gyro values halved (toward 0) until it is under the gate."""
    i = min(range(len(pool)), key=lambda j: rms[j])
    made = windows_at(samples, [pool[i]], WINDOW_SAMPLES)
    halvings, level = 0, rms[i]
    while level >= firmware.GATE_RMS:
        for c in range(3, CHANNELS):
            made[c::CHANNELS] = array("h", [int(v / 2) for v in made[c::CHANNELS]])
        halvings += 1
        level = firmware.predict_batch(made, 1, WINDOW_SAMPLES, lr, mlp)["rms"][0]
    notes.append(f"gate_still is made up: no window of the log is under the motion gate, so the gyro values of "
                 f"the quietest window (sample {pool[i]}, RMS {rms[i]:.6g}) were halved {halvings} time(s), "
                 f"toward 0, to RMS {level:.6g}")
    return made


def select_windows(log: Log, lr: LRModel, mlp: MLPModel) -> Tuple[List[GoldenWindow], List[str]]:
    """The windows of the selection rule (module docstring) and notes on made-up ones.

    Raises:
        DatasetError: the log is shorter than one window.
    """
    n = len(log)
    if n < WINDOW_SAMPLES:
        raise DatasetError(f"{log.source}: {n} samples; golden vectors need at least one "
                           f"{WINDOW_SAMPLES}-sample window. Record a longer log.")
    samples = interleave(log)
    ds = build_dataset(log)
    pool = _pool_starts(n, ds.starts)
    out = firmware.predict_batch(windows_at(samples, pool, WINDOW_SAMPLES), len(pool), WINDOW_SAMPLES, lr, mlp)
    rms = out["rms"]
    chosen: List[GoldenWindow] = []
    notes: List[str] = []

    def take(case: str, start: int, label: int = -1, made: Optional[array] = None) -> None:
        if made is None:
            for w in chosen:
                if w.start == start:
                    w.cases.append(case)
                    return
        window = made if made is not None else windows_at(samples, [start], WINDOW_SAMPLES)
        chosen.append(GoldenWindow(case, [case], -1 if made is not None else start, label, window))

    label_of = {s: ds.labels[r] for r, s in enumerate(ds.starts)}
    take("first_full_window", 0, label_of.get(0, -1))
    for label, kind in ((1, "positive"), (0, "negative")):
        rows = [r for r in range(len(ds)) if ds.labels[r] == label]
        picks = sorted({len(rows) * j // PER_LABEL for j in range(PER_LABEL)}) if rows else []
        for k, j in enumerate(picks):
            take(f"{kind}_{k}", ds.starts[rows[j]], label)
        if not rows:
            notes.append(f"the log's dataset has no {kind} rows")

    def take_pool(case: str, i: Optional[int]) -> None:
        if i is not None:
            take(case, pool[i], label_of.get(pool[i], -1))

    every = range(len(pool))
    under = [i for i in every if rms[i] < firmware.GATE_RMS]
    over = [i for i in every if rms[i] >= firmware.GATE_RMS]
    if under:
        take_pool("gate_still", min(under, key=lambda i: rms[i]))
        take_pool("gate_below", max(under, key=lambda i: rms[i]))
    else:
        take("gate_still", -1, made=_quieted(samples, pool, rms, lr, mlp, notes))
    take_pool("gate_above", min(over, key=lambda i: rms[i]) if over else None)

    hit = next((i // CHANNELS for i, v in enumerate(samples) if v in _SATURATED), None)
    if hit is not None:
        take("saturated", min(max(hit - WINDOW_SAMPLES // 2, 0), n - WINDOW_SAMPLES))
    else:
        made = windows_at(samples, [pool[0]], WINDOW_SAMPLES)
        for i in range(20 * CHANNELS, 30 * CHANNELS):
            made[i] = 32767 if made[i] >= 0 else -32768
        take("saturated", -1, made=made)
        notes.append(f"saturated is made up: the log has no int16 value at -32768 or 32767, so samples "
                     f"20..29 of the window at sample {pool[0]} were set to 32767 (value >= 0) or -32768")
    for kind in ("lr", "mlp"):
        for tag, target in (("0", 0.0), ("half", 0.5), ("1", 1.0)):
            take_pool(f"near_{tag}_{kind}", _closest(out[f"raw_{kind}"], target, every))
    return chosen, notes


def golden_set(log: Log, lr: LRModel, mlp: MLPModel, model_files: Optional[Dict[str, str]] = None) -> GoldenSet:
    """Select windows from ``log`` and compute the device's answers with ``lr`` and ``mlp``.

    ``model_files`` names the model files (``{"lr": ..., "mlp": ...}``) for the
    written files' provenance. The replayed stretch starts at the first
    positive dataset row (sample 0 when there is none).
    """
    windows, notes = select_windows(log, lr, mlp)
    flat = array("h")
    for w in windows:
        flat += w.samples
    n = len(windows)
    out = firmware.predict_batch(flat, n, WINDOW_SAMPLES, lr, mlp)
    X = out["features"]
    columns = [X[j::MLP_FEATURES] for j in range(MLP_FEATURES)]
    summary = array("f")
    for r in range(n):
        summary += X[r * MLP_FEATURES : r * MLP_FEATURES + LR_FEATURES]
    outputs = {"features_summary": summary, "features_rich": X,
               "browser_features_summary": featurize_summary(flat, n),
               "browser_features_rich": featurize_rich(flat, n), "rms": out["rms"],
               "z_lr": firmware.lr_logit_columns(columns, lr.mean, lr.scale, lr.coef, lr.intercept),
               "z_mlp": firmware.mlp_logit_columns(columns, mlp.mean, mlp.scale, mlp.W1, mlp.b1, mlp.W2, mlp.b2,
                                                   mlp.W3, mlp.b3)}
    for key in ("p_lr", "p_mlp", "raw_lr", "raw_mlp"):
        outputs[key] = out[key]
    positives = [w.start for w in windows if w.label == 1]
    start = positives[0] if positives else 0
    samples = interleave(log)
    stream = samples[CHANNELS * start : CHANNELS * min(start + STREAM_SAMPLES, len(log))]
    p_lr, p_mlp = firmware.replay_samples(stream, lr, mlp)
    return GoldenSet(Path(log.source).name, len(log), lr, mlp, dict(model_files or {"lr": "?", "mlp": "?"}),
                     windows, outputs, start, stream, p_lr, p_mlp, notes)


# --------------------------------------------------------------------------- writers


def _hex(value: float) -> str:
    return f"0x{f32_bits(value):08x}"


def _c_bits(values: Sequence[float]) -> str:
    return ", ".join(_hex(v) + "u" for v in values)


def _c_ints(values: Sequence[int]) -> str:
    return ", ".join(str(v) for v in values)


def _rows(gs: GoldenSet, key: str, width: int) -> List[array]:
    col = gs.outputs[key]
    return [col[r * width : (r + 1) * width] for r in range(len(gs.windows))]


def render_header(gs: GoldenSet) -> str:
    """The text of ``golden.h`` (C99; every float as its ``uint32_t`` bit pattern)."""
    n, ns = len(gs.windows), len(gs.stream) // CHANNELS
    lines = [
        "#pragma once",
        f"// Golden vectors generated by stingerml {__version__} (stingerml golden) from {gs.source}.",
        "// Do not edit. Every float is its IEEE-754 binary32 bit pattern; see README.md.",
        "#include <stdint.h>",
        "#include <string.h>",
        "",
        f"#define GOLDEN_N {n}",
        f"#define GOLDEN_WINDOW_SAMPLES {WINDOW_SAMPLES}",
        f"#define GOLDEN_CHANNELS {CHANNELS}",
        f"#define GOLDEN_SUMMARY_FEATURES {LR_FEATURES}",
        f"#define GOLDEN_RICH_FEATURES {MLP_FEATURES}",
        f"#define GOLDEN_GATE_RMS {firmware.GATE_RMS:.1f}f",
        f"#define GOLDEN_LR_CRC32 0x{gs.crc('lr'):08x}u   // payload CRC-32 in the MLMD header of {gs.model_files['lr']}",
        f"#define GOLDEN_MLP_CRC32 0x{gs.crc('mlp'):08x}u  // payload CRC-32 in the MLMD header of {gs.model_files['mlp']}",
        f"#define GOLDEN_ULP_BOUND_FEATURES {ULP_BOUND_FEATURES}  // features, rms, logits (IEEE float, no FMA)",
        f"#define GOLDEN_ULP_BOUND_PROB {ULP_BOUND_PROB}      // probabilities (0 with glibc/musl/newlib expf)",
        f"#define GOLDEN_STREAM_SAMPLES {ns}",
        "",
        "static inline float golden_f32(uint32_t bits) { float f; memcpy(&f, &bits, sizeof f); return f; }",
        "",
        "static const char *const golden_name[GOLDEN_N] = {",
        *(f'\t"{w.name}",  // {" ".join(w.cases)}' for w in gs.windows),
        "};",
        "// first log sample of each window; -1: made up (see README.md)",
        f"static const int32_t golden_start[GOLDEN_N] = {{{_c_ints([w.start for w in gs.windows])}}};",
        "// dataset label: 1 positive, 0 negative, -1 not a dataset row",
        f"static const int8_t golden_label[GOLDEN_N] = {{{_c_ints([w.label for w in gs.windows])}}};",
        "",
        "// raw IMU counts [window][sample][ax ay az gx gy gz], oldest sample first",
        "static const int16_t golden_windows[GOLDEN_N][GOLDEN_WINDOW_SAMPLES][GOLDEN_CHANNELS] = {",
    ]
    for w in gs.windows:
        lines.append(f"\t{{  // {w.name}")
        lines += [f"\t\t{{{_c_ints(w.samples[i : i + CHANNELS])}}}," for i in range(0, len(w.samples), CHANNELS)]
        lines.append("\t},")
    lines.append("};")
    for key, width in FEATURE_ARRAYS:
        dim = "GOLDEN_SUMMARY_FEATURES" if width == LR_FEATURES else "GOLDEN_RICH_FEATURES"
        lines += ["", f"// {_FEATURE_NOTES[key]}", f"static const uint32_t golden_{key}[GOLDEN_N][{dim}] = {{"]
        lines += [f"\t{{{_c_bits(row)}}}," for row in _rows(gs, key, width)]
        lines.append("};")
    lines.append("")
    for key in WINDOW_OUTPUTS:
        lines.append(f"static const uint32_t golden_{key}[GOLDEN_N] = {{{_c_bits(gs.outputs[key])}}};")
    lines += ["", f"// stream: log samples from {gs.stream_start}, pushed one by one into an empty ring buffer",
              "static const int16_t golden_stream[GOLDEN_STREAM_SAMPLES][GOLDEN_CHANNELS] = {"]
    lines += [f"\t{{{_c_ints(gs.stream[i : i + CHANNELS])}}}," for i in range(0, len(gs.stream), CHANNELS)]
    lines.append("};")
    lines.append("// gated probabilities after each push (0 until the buffer holds 50 samples)")
    for key, values in (("p_lr", gs.stream_p_lr), ("p_mlp", gs.stream_p_mlp)):
        lines.append(f"static const uint32_t golden_stream_{key}[GOLDEN_STREAM_SAMPLES] = {{{_c_bits(values)}}};")
    return "\n".join(lines) + "\n"


def _number(value: float) -> Optional[float]:
    """The float32 value as a JSON number (its exact double; null if not finite: see the bits)."""
    return value if math.isfinite(value) else None


def _json_floats(values: Sequence[float]) -> Dict[str, list]:
    return {"bits": [_hex(v) for v in values], "values": [_number(v) for v in values]}


def golden_dict(gs: GoldenSet) -> dict:
    """The content of ``golden.json`` as a JSON-ready dict."""
    windows = []
    for r, w in enumerate(gs.windows):
        entry = {"name": w.name, "cases": w.cases, "start": w.start, "label": w.label,
                 "samples": [list(w.samples[i : i + CHANNELS]) for i in range(0, len(w.samples), CHANNELS)]}
        for key, width in FEATURE_ARRAYS:
            entry[key] = _json_floats(_rows(gs, key, width)[r])
        for key in WINDOW_OUTPUTS:
            v = gs.outputs[key][r]
            entry[key] = {"bits": _hex(v), "value": _number(v)}
        windows.append(entry)
    return {
        "format": "stingerml-golden",
        "version": 1,
        "generator": f"stingerml {__version__}",
        "log": {"name": gs.source, "samples": gs.samples},
        "models": {kind: {"file": gs.model_files[kind], "payload_crc32": f"0x{gs.crc(kind):08x}"}
                   for kind in ("lr", "mlp")},
        "window_samples": WINDOW_SAMPLES,
        "channels": list(CHANNEL_NAMES),
        "gate_rms": firmware.GATE_RMS,
        "ulp_bound": {"features": ULP_BOUND_FEATURES, "rms": ULP_BOUND_FEATURES, "logits": ULP_BOUND_FEATURES,
                      "probabilities": ULP_BOUND_PROB},
        "notes": gs.notes,
        "windows": windows,
        "stream": {"start": gs.stream_start,
                   "samples": [list(gs.stream[i : i + CHANNELS]) for i in range(0, len(gs.stream), CHANNELS)],
                   "p_lr": _json_floats(gs.stream_p_lr), "p_mlp": _json_floats(gs.stream_p_mlp)},
    }


def _json_text(obj: object, depth: int = 0) -> str:
    """JSON with one item per line, except that a list of scalars stays on one line."""
    inner = " " * (depth + 1)
    if isinstance(obj, dict):
        items, brackets = [f"{inner}{json.dumps(k)}: {_json_text(v, depth + 1)}" for k, v in obj.items()], "{}"
    elif isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        items, brackets = [inner + _json_text(v, depth + 1) for v in obj], "[]"
    else:
        return json.dumps(obj, allow_nan=False)
    if not items:
        return brackets
    return brackets[0] + "\n" + ",\n".join(items) + "\n" + " " * depth + brackets[1]


def render_json(gs: GoldenSet) -> str:
    """The text of ``golden.json`` (floats as ``bits`` hex strings and exact numbers)."""
    return _json_text(golden_dict(gs)) + "\n"


def render_readme(gs: GoldenSet) -> str:
    """The text of the folder's ``README.md``: what each array is, and two test examples."""
    table = "\n".join(f"| `{w.name}` | {', '.join(w.cases)} | {w.start} | {w.label} |" for w in gs.windows)
    notes = "".join(f"- {note}\n" for note in gs.notes) or "- none: every window is a real window of the log.\n"
    return _README.format(version=__version__, source=gs.source, samples=gs.samples, n=len(gs.windows),
                          lr=gs.model_files["lr"], mlp=gs.model_files["mlp"], lr_crc=f"{gs.crc('lr'):08x}",
                          mlp_crc=f"{gs.crc('mlp'):08x}", table=table, notes=notes,
                          stream_start=gs.stream_start, stream_n=len(gs.stream) // CHANNELS)


def write_golden(gs: GoldenSet, out_dir: Union[str, Path], option: str = "--out") -> Dict[str, Path]:
    """Write ``golden.h``, ``golden.json`` and ``README.md`` into ``out_dir`` (created if missing) as
    a set: all three new or, after an error or a kill, the old ones (:func:`stingerml.core.atomic.write_set`).
    Other files in ``out_dir`` are left alone. Returns the paths.

    Raises:
        OutputError: ``out_dir`` cannot be created or written (its old files are kept); the message
            names ``option`` as what to change.
    """
    texts = (render_header(gs), render_json(gs), render_readme(gs))
    files = {name: text.encode("utf-8") for name, text in zip(FILES, texts)}
    out = write_set_to_folder(out_dir, files, members=FILES, option=option)
    return {name: out / name for name in FILES}


_README = """\
# Golden vectors

Generated by stingerml {version} (`stingerml golden`) from `{source}` ({samples}
samples) with the LR model `{lr}` (payload CRC-32 `0x{lr_crc}`) and the MLP
model `{mlp}` (payload CRC-32 `0x{mlp_crc}`). Do not edit; regenerate.

Each of the {n} windows is 50 samples × 6 channels (`ax ay az gx gy gz`, raw
int16 counts, oldest first), pushed into an **empty** ring buffer; the
expected values are what the firmware computes right after the 50th push
(C `float` arithmetic, no FMA). Every float is given as its IEEE-754
binary32 bit pattern (`uint32_t` in `golden.h`, a hex string `bits` in
`golden.json`, next to `value`, a JSON number that is exactly that float32).

| array (`golden.h`) | JSON key | shape | what |
|---|---|---|---|
| `golden_windows` | `samples` | N×50×6 int16 | the window |
| `golden_features_summary` | `features_summary` | N×18 | LR features: mean, std, absmax per channel |
| `golden_features_rich` | `features_rich` | N×30 | MLP features: summary, absmean, accel/gyro magnitude mean, std, max |
| `golden_browser_features_summary`, `golden_browser_features_rich` | `browser_features_summary`, `browser_features_rich` | N×18, N×30 | the same features as the browser trainer computes them (double accumulators, then float32) |
| `golden_rms` | `rms` | N | gyro RMS of the motion gate (gated when < 60) |
| `golden_z_lr`, `golden_z_mlp` | `z_lr`, `z_mlp` | N | logits before the sigmoid |
| `golden_p_lr`, `golden_p_mlp` | `p_lr`, `p_mlp` | N | probabilities after the gate (what the device uses) |
| `golden_raw_lr`, `golden_raw_mlp` | `raw_lr`, `raw_mlp` | N | probabilities without the gate |
| `golden_stream` | `stream.samples` | {stream_n}×6 | log samples from {stream_start}, pushed one by one |
| `golden_stream_p_lr`, `golden_stream_p_mlp` | `stream.p_lr`, `stream.p_mlp` | {stream_n} | gated probabilities after each push (0 for the first 49) |

`golden_name`, `golden_start` (first log sample, -1 if made up) and
`golden_label` (dataset label, -1 if not a dataset row) say where each window
comes from. Bounds: features, RMS and logits are bit-equal
(`GOLDEN_ULP_BOUND_FEATURES` 0); probabilities are bit-equal with glibc, musl
or newlib `expf`, within `GOLDEN_ULP_BOUND_PROB` (1 ulp) with another libm.
Before comparing, check that the device runs these models:
`GOLDEN_LR_CRC32` / `GOLDEN_MLP_CRC32` are the CRCs in their MLMD headers
(`stingerml export-header --lr {lr} --mlp {mlp} -o mlWeights.h` gives the
same weights as a header).

| window | cases | start | label |
|---|---|---|---|
{table}

Notes (made-up windows, missing rows):
{notes}
## Firmware: a PlatformIO native unit test (`test/test_golden/test_main.cpp`)

Adapt `mlPredictWindow` to your inference entry point; build with
`-ffp-contract=off` so that the compiler does not fuse multiply-adds.

```cpp
#include <unity.h>
#include "golden.h"
#include "mlInfer.h"   // your firmware: float mlPredictWindow(const int16_t w[50][6], bool mlp, float *rms)

static uint32_t bits(float f) {{ uint32_t u; memcpy(&u, &f, sizeof u); return u; }}

void test_golden_windows(void) {{
    for (int i = 0; i < GOLDEN_N; i++) {{
        float rms;
        float p_lr = mlPredictWindow(golden_windows[i], false, &rms);
        float p_mlp = mlPredictWindow(golden_windows[i], true, &rms);
        TEST_ASSERT_EQUAL_HEX32_MESSAGE(golden_rms[i], bits(rms), golden_name[i]);
        TEST_ASSERT_EQUAL_HEX32_MESSAGE(golden_p_lr[i], bits(p_lr), golden_name[i]);
        TEST_ASSERT_EQUAL_HEX32_MESSAGE(golden_p_mlp[i], bits(p_mlp), golden_name[i]);
    }}
}}

int main(int, char **) {{
    UNITY_BEGIN();
    RUN_TEST(test_golden_windows);
    return UNITY_END();
}}
```

Run it with `pio test -e native` (an `[env:native]` with `platform = native`).

## Browser app: a `node:test` check (`golden.test.mjs`)

```js
import {{ test }} from 'node:test';
import assert from 'node:assert/strict';
import {{ readFileSync }} from 'node:fs';
import {{ featuresRich }} from './train.js';  // your app: Float32Array(30) of one window

const golden = JSON.parse(readFileSync(new URL('./golden.json', import.meta.url)));
const bits = (x) => {{ const v = new DataView(new ArrayBuffer(4)); v.setFloat32(0, x, true);
  return '0x' + v.getUint32(0, true).toString(16).padStart(8, '0'); }};

test('rich features match stingerml to the bit', () => {{
  for (const w of golden.windows) {{
    const got = featuresRich(w.samples);
    assert.equal(got.length, 30);
    got.forEach((x, j) => assert.equal(bits(x), w.browser_features_rich.bits[j], `${{w.name}} feature ${{j}}`));
  }}
}});
```

Run it with `node --test`. The browser trainer accumulates features in double
(`browser_features_*`), the firmware in float (`features_*`): a JavaScript
emulation of the firmware compares with `features_*`, `z_*` and `p_*`.
"""
