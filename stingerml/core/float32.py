"""Float32 arithmetic in pure Python: rounding a double to float32, and C ``expf`` bit for bit.

The firmware computes in float32 and links the C library's ``expf``; the int8
emulator (:mod:`.quantized`) and the firmware kernels
(``stingerml._kernels.firmware_pure``, whose numba twin reuses these constants)
take both from here.
"""
from __future__ import annotations

import math
import struct
from array import array

_F32 = array("f", [0.0])


def f32(x: float) -> float:
    """``x`` rounded to the nearest float32 (returned as a Python float)."""
    _F32[0] = x
    return _F32[0]



# Arm optimized-routines expf, as in glibc/musl/newlib: EXP2_TAB[i] = bits(2**(i/32)) - (i << 47)
EXP2_TAB = (
    0x3FF0000000000000, 0x3FEFD9B0D3158574, 0x3FEFB5586CF9890F, 0x3FEF9301D0125B51,
    0x3FEF72B83C7D517B, 0x3FEF54873168B9AA, 0x3FEF387A6E756238, 0x3FEF1E9DF51FDEE1,
    0x3FEF06FE0A31B715, 0x3FEEF1A7373AA9CB, 0x3FEEDEA64C123422, 0x3FEECE086061892D,
    0x3FEEBFDAD5362A27, 0x3FEEB42B569D4F82, 0x3FEEAB07DD485429, 0x3FEEA47EB03A5585,
    0x3FEEA09E667F3BCD, 0x3FEE9F75E8EC5F74, 0x3FEEA11473EB0187, 0x3FEEA589994CCE13,
    0x3FEEACE5422AA0DB, 0x3FEEB737B0CDC5E5, 0x3FEEC49182A3F090, 0x3FEED503B23E255D,
    0x3FEEE89F995AD3AD, 0x3FEEFF76F2FB5E47, 0x3FEF199BDD85529C, 0x3FEF3720DCEF9069,
    0x3FEF5818DCFBA487, 0x3FEF7C97337B9B5F, 0x3FEFA4AFA2A490DA, 0x3FEFD0765B6E4540,
)
EXP_INV_LN2_N = float.fromhex("0x1.71547652b82fep+0") * 32
EXP_C0 = float.fromhex("0x1.c6af84b912394p-5") / 32 / 32 / 32
EXP_C1 = float.fromhex("0x1.ebfce50fac4f3p-3") / 32 / 32
EXP_C2 = float.fromhex("0x1.62e42ff0c52d6p-1") / 32
EXP_OVERFLOW = float.fromhex("0x1.62e42ep6")  # above: +inf
EXP_UNDERFLOW = float.fromhex("-0x1.9fe368p6")  # below: 0
_U64 = struct.Struct("<Q")
_F64 = struct.Struct("<d")


def expf(x: float) -> float:
    """C ``expf`` of a float32 ``x``, bit-exact with glibc, musl and newlib.

    ``x*32/ln2 = k + r`` (``k`` rounded to nearest even), ``exp(x) =
    2**(k/32) * 2**(r/32)``: a table gives ``2**((k mod 32)/32)``, the
    exponent gets ``k // 32``, a cubic in ``r`` the rest; all in double
    (no FMA), rounded once to float32.
    """
    if x != x:
        return x
    if x > EXP_OVERFLOW:
        return math.inf
    if x < EXP_UNDERFLOW:
        return 0.0
    z = EXP_INV_LN2_N * x
    k = round(z)  # ties to even, like the C code's z + 0x1.8p52 trick
    r = z - k
    s = _F64.unpack(_U64.pack((EXP2_TAB[k & 31] + (k << 47)) & 0xFFFFFFFFFFFFFFFF))[0]
    y = (EXP_C0 * r + EXP_C1) * (r * r) + (EXP_C2 * r + 1.0)
    return f32(y * s)
