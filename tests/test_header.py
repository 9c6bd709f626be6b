"""mlWeights.h export: exact float32 round trip, and the C compiler's view of the same weights."""
from __future__ import annotations

import json
import struct
import subprocess
from array import array
from pathlib import Path

import pytest
from c_inference import C_INFERENCE, compile_c

from stingerml.blaster import firmware as fw
from stingerml.core.errors import ModelFormatError
from stingerml.formats import mlmd
from stingerml.formats.header import export_header, parse_header

FIRMWARE = Path(__file__).resolve().parent.parent / "vectors" / "firmware"
BROWSER = FIRMWARE.parent / "browser"


def models(prefix):
    return tuple(mlmd.parse((BROWSER / f"{prefix}.{kind}.mlmd").read_bytes()) for kind in ("lr", "mlp"))


def f32_bits(values):
    return struct.pack(f"<{len(values)}f", *values)


@pytest.mark.parametrize("prefix", ["tiny", "session_a"])
def test_round_trip_bits(prefix):
    lr, mlp = models(prefix)
    lr2, mlp2 = parse_header(export_header(lr, mlp))
    assert mlmd.build(lr2) == mlmd.build(lr)  # the same payload bytes = the same float32 bits
    assert mlmd.build(mlp2) == mlmd.build(mlp)


def test_round_trip_awkward_values():
    # Values that 8 fixed decimals lose: tiny, huge, subnormal, negative zero, integers.
    lr = mlmd.parse((BROWSER / "tiny.lr.mlmd").read_bytes())
    odd = [1.17549435e-38, 1e-45, -0.0, 3.4028235e38, 2.0, 1e-9, 123456.789, -7.1e-6, 0.1] * 2
    lr.coef = array("f", odd)
    lr.intercept = 1e-7
    text = export_header(lr, models("tiny")[1])
    assert f32_bits(parse_header(text)[0].coef) == f32_bits(lr.coef)
    assert "%.8f" % 1e-9 == "0.00000000"  # why the original format was not enough


def test_layout():
    text = export_header(*models("tiny"))
    for line in ("#define ML_WINDOW_SAMPLES 50", "#define ML_MLP_H1 64", "#define ML_MLP_H2 32",
                 "static const float mlLrScalerMean[18] = {", "static const float mlMlpW1[1920] = {",
                 "static const float mlMlpW2[2048] = {", "static const float mlMlpB3 = "):
        assert line in text


def test_parse_original_style_header():
    # The firmware's original generator: 8 fixed decimals, sizes as numbers.
    lr, mlp = models("tiny")
    def block(name, values):
        return f"static const float {name}[{len(values)}] = {{\n\t" + ", ".join("%.8ff" % v for v in values) + ",\n};\n"
    text = "#pragma once\n#define ML_LR_FEATURES 18   // summary\n" + "".join([
        block("mlLrScalerMean", lr.mean), block("mlLrScalerScale", lr.scale), block("mlLrCoef", lr.coef),
        "static const float mlLrIntercept = %.8ff;\n" % lr.intercept,
        block("mlMlpScalerMean", mlp.mean), block("mlMlpScalerScale", mlp.scale), block("mlMlpW1", mlp.W1),
        block("mlMlpB1", mlp.b1), block("mlMlpW2", mlp.W2), block("mlMlpB2", mlp.b2), block("mlMlpW3", mlp.W3),
        "static const float mlMlpB3 = %.8ff;\n" % mlp.b3])
    lr2, mlp2 = parse_header(text)
    assert lr2.coef == array("f", [float("%.8f" % v) for v in lr.coef])
    assert mlp2.W1 == array("f", [float("%.8f" % v) for v in mlp.W1])
    assert mlp2.W1 != mlp.W1  # 8 fixed decimals do not keep every float32 bit


def test_parse_errors():
    text = export_header(*models("tiny"))
    with pytest.raises(ModelFormatError, match="mlMlpB3"):
        parse_header(text.replace("mlMlpB3", "mlMlpB4"))
    with pytest.raises(ModelFormatError, match="ML_MLP_H1"):
        parse_header(text.replace("#define ML_MLP_H1 64", "#define ML_MLP_H1 63"))
    with pytest.raises(ModelFormatError, match="lists"):
        parse_header(text.replace("static const float mlLrCoef[18] = {\n\t", "static const float mlLrCoef[18] = {\n\t1.0f, "))
    lr, mlp = models("tiny")
    lr.coef[0] = float("nan")
    with pytest.raises(ModelFormatError, match="non-finite"):
        export_header(lr, mlp)


C_PROGRAM = r"""
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include "mlWeights.h"
""" + C_INFERENCE + r"""
int main(void) {
    float f[ML_MLP_FEATURES];
    for (;;) {
        for (int i = 0; i < ML_MLP_FEATURES; i++)
            if (scanf("%f", &f[i]) != 1) return 0;
        float z = lr_logit(f);
        printf("%a %a ", (double)z, (double)sigmoid(z));
        z = mlp_logit(f);
        printf("%a %a\n", (double)z, (double)sigmoid(z));
    }
}
"""


@pytest.mark.parametrize("prefix", ["tiny", "factory"])
def test_compiled_header_matches_python_float32(tmp_path, prefix):
    if prefix == "factory":
        lr, mlp = (mlmd.parse((FIRMWARE / f"factory_{k}.mlmd").read_bytes()) for k in ("lr", "mlp"))
    else:
        lr, mlp = models(prefix)
    exe = compile_c(tmp_path, C_PROGRAM, {"mlWeights.h": export_header(lr, mlp)})
    rows = [json.loads(line)["features_rich"] for line in (FIRMWARE / "tiny.windows.jsonl").read_text().splitlines()[:12]]
    rows = [list(array("f", r)) for r in rows]
    stdin = "\n".join(" ".join("%.9g" % v for v in r) for r in rows) + "\n"
    run = subprocess.run([str(exe)], input=stdin, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    c_rows = [[float.fromhex(t) for t in line.split()] for line in run.stdout.splitlines()]
    assert len(c_rows) == len(rows)
    columns = [array("f", [r[j] for r in rows]) for j in range(30)]
    z_lr = fw.lr_logit_columns(columns, lr.mean, lr.scale, lr.coef, lr.intercept)
    z_mlp = fw.mlp_logit_columns(columns, mlp.mean, mlp.scale, mlp.W1, mlp.b1, mlp.W2, mlp.b2, mlp.W3, mlp.b3)
    for r, (zl, pl, zm, pm) in enumerate(c_rows):
        assert z_lr[r] == zl and z_mlp[r] == zm, f"row {r}: logits differ"
        for py, c in ((fw.sigmoid_f32(z_lr[r]), pl), (fw.sigmoid_f32(z_mlp[r]), pm)):
            a, b = (struct.unpack("<i", struct.pack("<f", v))[0] for v in (py, c))
            assert abs(a - b) <= 1, f"row {r}: probabilities {py!r} vs {c!r}"
