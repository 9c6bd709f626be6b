"""Foundations: no domain knowledge, no stingerml import outside ``core``.

:mod:`.matrix` (the one way to pass a matrix), :mod:`.dense` (a trained feed-forward
network as plain data), :mod:`.quantized` (its full-int8 form and the integer
emulator), :mod:`.float32` (float32 rounding and C ``expf``), :mod:`.rng`,
:mod:`.jsmath` (V8's math), :mod:`.errors`, :mod:`.progress`, :mod:`.atomic`
(atomic files and output sets), :mod:`.binary` (little-endian arrays),
:mod:`.constants` (the device's fixed facts that several layers read).
"""
