"""Training settings from a file: CrowdMind's ``train.yaml`` layout (seed 002), as YAML, JSON or TOML.

The layout (every key optional; an unknown key is an error naming its path)::

    random_seed: 42                 -> seed
    data:
      train_ratio: 0.70             -> split (the three together; default 0.70/0.15/0.15)
      val_ratio: 0.15
      test_ratio: 0.15
      preprocess: hands21           -> preprocess (a step that becomes part of the model; none when left out)
    model:
      hidden_layers: [64, 32]       -> hidden
      dropout_rate: 0.2             -> dropout
      activation: "relu"            (the only activation: anything else is an error)
      output_activation:            -> output_activation (regression: a target's bound;
        alpha: sigmoid                 linear, sigmoid or tanh; unnamed targets linear)
    training:
      epochs: 100                   -> epochs
      batch_size: 32                -> batch_size
      patience: 10                  -> patience
    quantization:
      calibration_samples: 100      -> calibration_rows

The format follows the file name: ``.yaml``/``.yml`` through PyYAML (the
optional ``yaml`` extra, imported only here), ``.json`` with :mod:`json`,
``.toml`` with :mod:`tomllib` (Python 3.11+). :func:`read_config` returns the
:class:`~.runs.RunSettings` field values the file sets; options given on the
command line win over them.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Dict, Tuple, Union

from ..core import jsonfile, preprocess
from ..core.errors import TabularDataError

PathLike = Union[str, Path]


def _int(path: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"'{path}' must be a whole number of 1 or more, not {v!r}")
    return v


def _ratio(path: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0 <= v < 1:
        raise ValueError(f"'{path}' must be a fraction in [0, 1), not {v!r}")
    return float(v)


def _layers(path: str, v: Any) -> list:
    if not isinstance(v, list) or not v:
        raise ValueError(f"'{path}' must be a list of layer sizes like [64, 32], not {v!r}")
    return [_int(path, n) for n in v]


def _activation(path: str, v: Any) -> None:
    if v != "relu":
        raise ValueError(f"'{path}' is {v!r}; stingerml's hidden layers are ReLU: write \"relu\" or leave it out")


def _output_activation(path: str, v: Any) -> Dict[str, str]:
    if not isinstance(v, dict) or not all(isinstance(k, str) and isinstance(w, str) for k, w in v.items()):
        raise ValueError(f"'{path}' must map target names to linear, sigmoid or tanh, not {v!r}")
    return dict(v)


def _preprocess(path: str, v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"'{path}' must be the name of a preprocessing step, not {v!r}")
    try:
        preprocess.check_name(v)  # the check of --preprocess
    except ValueError as exc:
        raise ValueError(f"'{path}': {exc}") from None
    return v


def _seed(path: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError(f"'{path}' must be a whole number of 0 or more, not {v!r}")
    return v


# key path -> (RunSettings field or None, value check/convert)
KEYS: Dict[str, Tuple[Any, Callable[[str, Any], Any]]] = {
    "random_seed": ("seed", _seed),
    "data.train_ratio": ("split.0", _ratio),
    "data.val_ratio": ("split.1", _ratio),
    "data.test_ratio": ("split.2", _ratio),
    "data.preprocess": ("preprocess", _preprocess),
    "model.hidden_layers": ("hidden", _layers),
    "model.dropout_rate": ("dropout", _ratio),
    "model.activation": (None, _activation),
    "model.output_activation": ("output_activation", _output_activation),
    "training.epochs": ("epochs", _int),
    "training.batch_size": ("batch_size", _int),
    "training.patience": ("patience", _int),
    "quantization.calibration_samples": ("calibration_rows", _int),
}
SECTIONS = ("data", "model", "training", "quantization")


MAX_CONFIG_BYTES = 1 << 20
"""Size limit of a config file (1 MiB); CrowdMind's train.yaml is under 1 KiB."""


def _load_yaml(yaml: Any, text: str, source: str) -> Any:
    """``yaml.safe_load`` after a scan of the events: no aliases (``*name``: a few lines can stand for
    billions of values) and at most ``jsonfile.MAX_DEPTH`` levels (PyYAML builds nodes recursively)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise TabularDataError(f"{source}: YAML aliases (*{event.anchor}) are not read in a config; "
                                   "write the values out")
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > jsonfile.MAX_DEPTH:
                raise TabularDataError(f"{source}: nested more than {jsonfile.MAX_DEPTH} levels deep; fix the config")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
    return yaml.safe_load(text)


def parse_document(path: PathLike) -> Dict[str, Any]:
    """The file's top-level mapping (YAML, JSON or TOML by the file's extension)."""
    p = Path(path)
    suffix = p.suffix.lower()
    raw = jsonfile.read_bytes(p, TabularDataError, fix="give a config file (check the path)",
                              max_bytes=MAX_CONFIG_BYTES)
    try:
        if suffix in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError:
                raise TabularDataError(f"{p}: reading YAML needs PyYAML: pip install 'stingerml[yaml]' "
                                       "(or give the same settings as .json or .toml)") from None
            doc = _load_yaml(yaml, raw.decode("utf-8"), str(p))
        elif suffix == ".json":
            doc = jsonfile.loads(raw, str(p), TabularDataError, fix="fix the config", kind=object)
        elif suffix == ".toml":
            try:
                import tomllib
            except ImportError:
                raise TabularDataError(f"{p}: reading TOML needs Python 3.11 or newer (tomllib); "
                                       "give the same settings as .json or .yaml") from None
            doc = tomllib.loads(raw.decode("utf-8"))
            jsonfile.check_depth(doc, str(p), TabularDataError, fix="fix the config")
        else:
            raise TabularDataError(f"{p}: unknown config format '{suffix or 'no extension'}'; "
                                   "name the file .yaml, .yml, .json or .toml")
    except TabularDataError:
        raise
    except RecursionError:  # tomllib recurses per nesting level
        raise TabularDataError(f"{p}: nested more than {jsonfile.MAX_DEPTH} levels deep; fix the config") from None
    except Exception as exc:  # each parser has its own error type; all mean "not readable"
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TabularDataError(f"{p}: not a valid {suffix[1:].upper()} file ({first}); fix the config") from exc
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise TabularDataError(f"{p}: a config is a mapping of settings (random_seed, data, model, training, "
                               f"quantization), not a {type(doc).__name__}")
    return doc


def read_config(path: PathLike) -> Dict[str, Any]:
    """The :class:`~.runs.RunSettings` values a config file sets (``split`` only when all three ratios are).

    Raises:
        TabularDataError: unreadable file, unknown key, wrong value type, or ratios given partly.
    """
    p = Path(path)
    doc = parse_document(p)
    flat: Dict[str, Any] = {}
    for key, value in doc.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise TabularDataError(f"{p}: '{key}' must be a section of keys, not {value!r}")
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[str(key)] = value
    out: Dict[str, Any] = {}
    split: Dict[int, float] = {}
    for key, value in flat.items():
        if key not in KEYS:
            raise TabularDataError(f"{p}: unknown setting '{key}'; the settings are {', '.join(KEYS)} "
                                   "(docs/crowdmind.md)")
        target, check = KEYS[key]
        try:
            value = check(key, value)
        except ValueError as exc:
            raise TabularDataError(f"{p}: {exc}") from None
        if target is None:
            continue
        if target.startswith("split."):
            split[int(target[-1])] = value
        else:
            out[target] = value
    if split:
        if len(split) != 3:
            raise TabularDataError(f"{p}: give all three of data.train_ratio, data.val_ratio, data.test_ratio "
                                   "(or none)")
        out["split"] = (split[0], split[1], split[2])
    return out
