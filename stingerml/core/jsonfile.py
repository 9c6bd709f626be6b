"""The one guarded reader of every JSON file stingerml reads (run folders, checkpoints, models,
schemas, reports, training folders): bounded size and nesting depth, standard JSON only (no
``NaN``/``Infinity``), the top-level type checked, and every failure one line of the caller's
error class naming the file and what to do. Field checks of the parsed object are
:func:`field` (a type, and a range for numbers).
"""
from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any, Optional, Tuple, Type, Union

from .errors import StingerError

MAX_BYTES = 64 << 20
"""Default size limit of a JSON file (64 MiB); larger files are refused before they are read."""
MAX_DEPTH = 32
"""Nesting limit (objects and arrays); stingerml's own files nest at most 5 deep."""


def finite(obj: Any) -> Any:
    """``obj`` (dicts, lists, tuples, numbers, ...) with every non-finite float replaced by ``None``:
    JSON has no NaN or infinity (JavaScript's ``JSON.stringify`` writes ``null`` too), and the
    reader here refuses them. Use it with ``json.dumps(..., allow_nan=False)`` for every JSON written."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads(data: Union[bytes, str], source: str, error: Type[StingerError], *, fix: str,
          kind: type = dict, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``data`` (UTF-8 JSON, at most ``max_depth`` levels, top level of type ``kind``).

    Raises ``error("{source}: ...; {fix}")`` (one line) on anything else.
    """
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
        doc = json.loads(text, parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise error(f"{source}: not UTF-8 text; {fix}") from None
    except RecursionError:
        raise error(f"{source}: JSON nested more than {max_depth} levels deep; {fix}") from None
    except ValueError as exc:
        raise error(f"{source}: not valid JSON ({_first_line(exc)}); {fix}") from None
    if _depth(doc) > max_depth:
        raise error(f"{source}: JSON nested more than {max_depth} levels deep; {fix}")
    if not isinstance(doc, kind):
        raise error(f"{source}: not a JSON {_KIND_NAMES.get(kind, kind.__name__)}; {fix}")
    return doc


def read(path: Union[str, "os.PathLike[str]"], error: Type[StingerError], *, fix: str, kind: type = dict,
         max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """Read and parse the JSON file ``path`` (a regular file of at most ``max_bytes``; see :func:`loads`)."""
    data = read_bytes(path, error, fix=fix, max_bytes=max_bytes)
    return loads(data, str(path), error, fix=fix, kind=kind, max_depth=max_depth)


def read_bytes(path: Union[str, "os.PathLike[str]"], error: Type[StingerError], *, fix: str,
               max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of ``path``, a regular file of at most ``max_bytes`` (a device or FIFO is never read)."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise error(f"{p}: not a regular file; {fix}")
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"{p}: cannot read: {exc.strerror or exc}; {fix}") from None
    if len(data) > max_bytes:
        raise error(f"{p}: larger than {max_bytes} bytes, too large for this file; {fix}")
    return data


def check_depth(doc: Any, source: str, error: Type[StingerError], *, fix: str, max_depth: int = MAX_DEPTH) -> None:
    """The nesting limit of :func:`loads` for a document another parser (YAML, TOML) returned."""
    if _depth(doc) > max_depth:
        raise error(f"{source}: nested more than {max_depth} levels deep; {fix}")


_KIND_NAMES = {dict: "object", list: "array", str: "string"}


def _depth(doc: Any) -> int:
    """Nesting depth of parsed JSON (iterative: any depth json.loads returned is measured)."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        node, d = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, d)
            stack.extend((v, d + 1) for v in (node.values() if isinstance(node, dict) else node))
    return deepest


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


_TYPE_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "a string",
               list: "an array", dict: "an object", type(None): "null"}


def field(doc: dict, key: str, kinds: Union[type, Tuple[type, ...]], source: str, error: Type[StingerError], *,
          fix: str, low: Optional[float] = None, high: Optional[float] = None) -> Any:
    """``doc[key]``, checked: one of ``kinds`` (``int`` never accepts a boolean; ``float`` accepts
    a whole number and must be finite) and, for numbers, within ``[low, high]``."""
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    if key not in doc:
        raise error(f"{source}: \"{key}\" is missing; {fix}")
    value = doc[key]
    ok = any(_is(value, k) for k in kinds)
    if not ok:
        want = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
        raise error(f"{source}: \"{key}\" must be {want}, not {_show(value)}; {fix}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if (low is not None and value < low) or (high is not None and value > high):
            raise error(f"{source}: \"{key}\" is {_show(value)}, outside [{low}, {high}]; {fix}")
    return value


def _is(value: Any, kind: type) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))


def _show(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


class Nullable:
    """A :func:`check` schema that also accepts ``null``."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema


def check(value: Any, schema: Any, source: str, error: Type[StingerError], *, fix: str, where: str = "") -> None:
    """Check parsed JSON ``value`` against ``schema``; the first mismatch is one ``error`` line naming its path.

    A schema is a type or a tuple of types (as in :func:`field`; ``object`` accepts anything), a
    :class:`Nullable`, a one-item list ``[item_schema]`` (an array of items) or a dict
    ``{key: schema}`` (an object that has these keys; a key ending in ``?`` may be missing; other
    keys are not looked at).
    """
    name = f'"{where}"' if where else "the top level"
    if isinstance(schema, Nullable):
        if value is not None:
            check(value, schema.schema, source, error, fix=fix, where=where)
    elif isinstance(schema, list):
        if not isinstance(value, list):
            raise error(f"{source}: {name} must be an array, not {_show(value)}; {fix}")
        for i, item in enumerate(value):
            check(item, schema[0], source, error, fix=fix, where=f"{where}[{i}]")
    elif isinstance(schema, dict):
        if not isinstance(value, dict):
            raise error(f"{source}: {name} must be an object, not {_show(value)}; {fix}")
        for key, sub in schema.items():
            bare = key[:-1] if key.endswith("?") else key
            path = f"{where}.{bare}" if where else bare
            if bare in value:
                check(value[bare], sub, source, error, fix=fix, where=path)
            elif not key.endswith("?"):
                raise error(f"{source}: \"{path}\" is missing; {fix}")
    else:
        kinds = schema if isinstance(schema, tuple) else (schema,)
        if object not in kinds and not any(_is(value, k) for k in kinds):
            want = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
            raise error(f"{source}: {name} must be {want}, not {_show(value)}; {fix}")
