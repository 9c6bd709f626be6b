"""The firmware's float32 inference (SPEC §10) written in C from the spec, for tests that compile it.

``C_INFERENCE`` needs ``<math.h>``, ``<stdint.h>`` and an ``mlWeights.h`` (the
weights, :func:`stingerml.formats.header.export_header`) included before it.
:func:`compile_c` builds a program with the system C compiler (IEEE float,
no FMA contraction) or skips the test when there is none.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

C_INFERENCE = r"""
static float sigmoid(float x) {
    if (x > 20.0f) return 1.0f;
    if (x < -20.0f) return 0.0f;
    return 1.0f / (1.0f + expf(-x));
}
static float scaled(float v, float mean, float scale) {
    float s = scale;
    if (s < 1e-10f) s = 1e-10f;
    return (v - mean) / s;
}
static void features(const int16_t w[50][6], float f[30], float *rms) {
    for (int c = 0; c < 6; c++) {
        float sum = 0, sq = 0, mx = 0, as = 0;
        for (int i = 0; i < 50; i++) {
            float v = (float)w[i][c], a = fabsf(v);
            sum += v; sq += v * v; as += a;
            if (a > mx) mx = a;
        }
        float mean = sum / 50.0f, var = sq / 50.0f - mean * mean;
        if (var < 0) var = 0;
        f[c] = mean; f[6 + c] = sqrtf(var); f[12 + c] = mx; f[18 + c] = as / 50.0f;
    }
    for (int g = 0; g < 2; g++) {
        float s = 0, s2 = 0, mx = 0;
        for (int i = 0; i < 50; i++) {
            float x = w[i][3 * g], y = w[i][3 * g + 1], z = w[i][3 * g + 2];
            float m2 = x * x + y * y + z * z, m = sqrtf(m2);
            s += m; s2 += m2;
            if (m > mx) mx = m;
        }
        float mean = s / 50.0f, var = s2 / 50.0f - mean * mean;
        if (var < 0) var = 0;
        f[24 + 3 * g] = mean; f[25 + 3 * g] = sqrtf(var); f[26 + 3 * g] = mx;
    }
    float gs = 0;
    for (int i = 0; i < 50; i++) {
        float x = w[i][3], y = w[i][4], z = w[i][5];
        gs += x * x + y * y + z * z;
    }
    *rms = sqrtf(gs / 50.0f);
}
static float lr_logit(const float f[30]) {
    float z = mlLrIntercept;
    for (int i = 0; i < ML_LR_FEATURES; i++) z += scaled(f[i], mlLrScalerMean[i], mlLrScalerScale[i]) * mlLrCoef[i];
    return z;
}
static float mlp_logit(const float f[30]) {
    float x[ML_MLP_FEATURES], h1[ML_MLP_H1], h2[ML_MLP_H2];
    for (int i = 0; i < ML_MLP_FEATURES; i++) x[i] = scaled(f[i], mlMlpScalerMean[i], mlMlpScalerScale[i]);
    for (int j = 0; j < ML_MLP_H1; j++) {
        float sum = mlMlpB1[j];
        for (int i = 0; i < ML_MLP_FEATURES; i++) sum += mlMlpW1[j * ML_MLP_FEATURES + i] * x[i];
        h1[j] = sum > 0 ? sum : 0;
    }
    for (int j = 0; j < ML_MLP_H2; j++) {
        float sum = mlMlpB2[j];
        for (int i = 0; i < ML_MLP_H1; i++) sum += mlMlpW2[j * ML_MLP_H1 + i] * h1[i];
        h2[j] = sum > 0 ? sum : 0;
    }
    float z = mlMlpB3;
    for (int i = 0; i < ML_MLP_H2; i++) z += mlMlpW3[i] * h2[i];
    return z;
}
"""


def compile_c(tmp_path: Path, source: str, files: dict) -> Path:
    """Write ``files`` and ``source`` into ``tmp_path``, compile; the executable's path (skip without a compiler)."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "main.c").write_text(source)
    exe = tmp_path / "main"
    build = subprocess.run([cc, "-std=c99", "-O0", "-ffp-contract=off", "-o", str(exe),
                            str(tmp_path / "main.c"), "-lm"], capture_output=True, text=True)
    if build.returncode != 0:
        pytest.skip(f"C compiler failed: {build.stderr[:500]}")
    return exe
