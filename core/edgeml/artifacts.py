"""Typed artifacts that stages hand to one another, and how they sit on disk.

Everything is written deterministically (``.npy`` files, sorted JSON), so the
same config and seed give byte-identical stage directories. ``.npz`` is
avoided on purpose: its zip entries carry the current time.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgeml.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from edgeml.programs import Program

SPLITS = ("train", "val", "test")


def write_json(path: Path, data: Any) -> None:
    """Write JSON with sorted keys and a trailing newline (byte-stable)."""
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=_jsonable) + "\n")


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise DataError(f"{path} is missing: re-run the stage that writes it") from exc
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON ({exc}): delete it and re-run its stage") from exc


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tree_hashes(root: Path, exclude: tuple[str, ...] = ()) -> dict[str, str]:
    """sha256 of every file under ``root``, keyed by its POSIX path relative to root."""
    out: dict[str, str] = {}
    for p in sorted(Path(root).rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and rel not in exclude:
            out[rel] = file_sha256(p)
    return out


def digest(data: Any) -> str:
    """sha256 of a JSON-able value (sorted keys), used for config and input keys."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=_jsonable).encode()).hexdigest()


@dataclass
class FeatureSet:
    """Features and labels for the train/val/test splits, plus the feature spec.

    ``x[split]`` is float32 with shape ``(n, *input_shape)``. ``y[split]`` is
    int64 class indices for single-label tasks, or float32 of any shape
    ``(n, ...)`` for the others: several yes/no targets per example (NaN
    where a target is unknown), or padded per-example object lists. ``spec`` describes exactly how features are computed
    (window, hop, filters, scaling) so device code can reproduce them; it goes
    into the preprocess manifest. ``classes`` names the label indices.
    """

    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    classes: list[str]
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x["train"].shape[1:])

    def save(self, out_dir: Path) -> None:
        for split in SPLITS:
            if split not in self.x or split not in self.y:
                raise DataError(f"feature set lacks the '{split}' split: the app's preprocess must return all of {SPLITS}")
            if len(self.x[split]) != len(self.y[split]):
                raise DataError(f"'{split}' has {len(self.x[split])} inputs but {len(self.y[split])} labels")
            np.save(out_dir / f"x_{split}.npy", np.ascontiguousarray(self.x[split], dtype=np.float32))
            y = np.asarray(self.y[split])
            y_dtype = np.float32 if np.issubdtype(y.dtype, np.floating) else np.int64
            np.save(out_dir / f"y_{split}.npy", np.ascontiguousarray(y, dtype=y_dtype))
        write_json(out_dir / "feature_spec.json",
                   {"schema": "edgeml.features/1", "classes": self.classes, "spec": self.spec,
                    "input_shape": list(self.input_shape),
                    "counts": {s: int(len(self.y[s])) for s in SPLITS}})

    @classmethod
    def load(cls, stage_dir: Path) -> "FeatureSet":
        meta = read_json(stage_dir / "feature_spec.json")
        x, y = {}, {}
        for split in SPLITS:
            x[split] = _load_npy(stage_dir / f"x_{split}.npy")
            y[split] = _load_npy(stage_dir / f"y_{split}.npy")
        return cls(x=x, y=y, classes=list(meta["classes"]), spec=dict(meta["spec"]))


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError as exc:
        raise DataError(f"{path} is missing: re-run the stage that writes it") from exc
    except ValueError as exc:
        raise DataError(f"{path} is corrupt ({exc}): delete it and re-run its stage") from exc


@dataclass
class TrainedModel:
    """A float model as the train stage leaves it.

    ``path`` is relative to the train stage directory (a file such as
    ``model.keras``, ``model.pt``, ``model.skops``). ``test_outputs`` are the
    float model's scores on the test split, shape ``(n, n_classes)``.
    """

    kind: str
    path: str
    test_outputs: np.ndarray
    metrics: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def save(self, out_dir: Path) -> None:
        np.save(out_dir / "test_outputs.npy", np.asarray(self.test_outputs))
        write_json(out_dir / "model.json", {"schema": "edgeml.model/1", "kind": self.kind, "path": self.path,
                                             "metrics": self.metrics, "info": self.info})

    @classmethod
    def load(cls, stage_dir: Path) -> "TrainedModel":
        meta = read_json(stage_dir / "model.json")
        return cls(kind=meta["kind"], path=meta["path"], test_outputs=_load_npy(stage_dir / "test_outputs.npy"),
                   metrics=meta.get("metrics", {}), info=meta.get("info", {}))


@dataclass
class QuantParams:
    """Affine quantization of a tensor: ``real = scale * (q - zero_point)``."""

    scale: float
    zero_point: int
    dtype: str = "int8"

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """Float to int8 the way TFLite's QUANTIZE op and C's ``roundf`` do it.

        ``q = clip(round_half_away_from_zero(float32(x) / float32(scale)) + zero_point, -128, 127)``.
        Reference runtime, device runtime and generated device code must all
        use this one rule, or parity compares different inputs.
        """
        if self.dtype != "int8":
            raise DataError(f"quantize supports int8 tensors, not {self.dtype}: add the rule for it in QuantParams")
        x = np.asarray(x, dtype=np.float32)
        if not np.isfinite(x).all():
            raise DataError("features contain NaN or inf: fix the app's preprocess")
        v = x / np.float32(self.scale)
        # Round half away from zero without adding 0.5, which float32 can round up.
        magnitude = np.floor(np.abs(v))
        magnitude += (np.abs(v) - magnitude) >= 0.5
        return np.clip(np.copysign(magnitude, v) + self.zero_point, -128, 127).astype(np.int8)


@dataclass
class CompressedModel:
    """A compressed model as the compress stage leaves it.

    ``format`` is what backends match on (``tflite-int8``, ``sklearn``...).
    ``test_outputs`` are the reference runtime's raw outputs on the test split
    (for INT8 models the int8 values, so device parity is compared bit for
    bit); ``output_quant`` dequantizes them. ``macs`` is the
    multiply-accumulate count of one inference, for the latency estimate;
    ``macs_by_kind`` splits it by layer kind (``conv``, ``pointwise``,
    ``depthwise``, ``dense``), whose costs per MAC differ several-fold on a
    microcontroller. ``reference`` names the runtime that produced
    ``test_outputs``. ``levels`` holds real-valued test outputs of
    intermediate models the compressor made on the way (``{"onnx": ...}``,
    ``{"pruned": ...}``), which validate scores between float and int8 so the
    cost of every step is visible.
    """

    format: str
    path: str
    test_outputs: np.ndarray
    reference: str
    macs: int = 0
    macs_by_kind: dict[str, int] = field(default_factory=dict)
    input_quant: QuantParams | None = None
    output_quant: QuantParams | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    levels: dict[str, np.ndarray] = field(default_factory=dict)

    def dequantize(self, raw: np.ndarray) -> np.ndarray:
        """Raw outputs of this model (reference or device) as real values."""
        out = np.asarray(raw).astype(np.float32)
        if self.output_quant is None:
            return out
        return (out - self.output_quant.zero_point) * self.output_quant.scale

    def dequantized_outputs(self) -> np.ndarray:
        return self.dequantize(self.test_outputs)

    def save(self, out_dir: Path) -> None:
        np.save(out_dir / "test_outputs.npy", np.asarray(self.test_outputs))
        for name, outputs in self.levels.items():
            if not name.replace("-", "_").isidentifier() or name in ("float", "int8", "device"):
                raise DataError(f"compressed-model level '{name}' is not a valid name: use letters, digits, '-' "
                                "and '_', not float/int8/device")
            np.save(out_dir / f"level_{name}.npy", np.asarray(outputs, dtype=np.float32))
        write_json(out_dir / "model.json", {
            "levels": list(self.levels),
            "schema": "edgeml.compressed/1", "format": self.format, "path": self.path,
            "reference": self.reference, "macs": int(self.macs),
            "macs_by_kind": {k: int(v) for k, v in self.macs_by_kind.items()},
            "input_quant": None if self.input_quant is None else asdict(self.input_quant),
            "output_quant": None if self.output_quant is None else asdict(self.output_quant),
            "metrics": self.metrics, "info": self.info})

    @classmethod
    def load(cls, stage_dir: Path) -> "CompressedModel":
        meta = read_json(stage_dir / "model.json")
        q = lambda d: None if d is None else QuantParams(**d)  # noqa: E731
        return cls(format=meta["format"], path=meta["path"], test_outputs=_load_npy(stage_dir / "test_outputs.npy"),
                   reference=meta["reference"], macs=int(meta.get("macs", 0)),
                   macs_by_kind={k: int(v) for k, v in meta.get("macs_by_kind", {}).items()},
                   input_quant=q(meta.get("input_quant")), output_quant=q(meta.get("output_quant")),
                   metrics=meta.get("metrics", {}), info=meta.get("info", {}),
                   levels={n: _load_npy(stage_dir / f"level_{n}.npy") for n in meta.get("levels", [])})


@dataclass
class Figure:
    """A measured or estimated number and how it was obtained."""

    value: float
    method: str

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "method": self.method}


@dataclass
class Deliverable:
    """What a backend's export leaves: files (relative to the export dir) and memory figures.

    ``flash_bytes`` and ``ram_bytes`` are figures with their method (e.g.
    "runtime arena bisected in the host interpreter"); validate compares them
    with the target's budget. ``entry_point`` names the C function a
    firmware calls.
    """

    files: list[str]
    flash_bytes: Figure
    ram_bytes: Figure
    entry_point: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    #: The model as a buildable C program (entry point, sources, libraries, input and
    #: output types). When set, validate builds and runs it with the configured runners
    #: instead of calling the backend's ``run``.
    program: Program | None = None

    def save(self, out_dir: Path) -> None:
        write_json(out_dir / "deliverable.json", {
            "schema": "edgeml.deliverable/1", "files": sorted(self.files), "entry_point": self.entry_point,
            "flash_bytes": self.flash_bytes.to_json(), "ram_bytes": self.ram_bytes.to_json(), "info": self.info,
            "program": None if self.program is None else self.program.to_json()})

    @classmethod
    def load(cls, stage_dir: Path) -> "Deliverable":
        from edgeml.programs import Program

        meta = read_json(stage_dir / "deliverable.json")
        prog = meta.get("program")
        return cls(files=list(meta["files"]), flash_bytes=Figure(**meta["flash_bytes"]),
                   ram_bytes=Figure(**meta["ram_bytes"]), entry_point=meta.get("entry_point", ""),
                   info=meta.get("info", {}), program=None if prog is None else Program.from_json(prog))


@dataclass
class DeviceCode:
    """What :meth:`edgeml.App.device_code` returns: the app's own device-side
    sources (feature extraction, frame preprocessing, post-processing) and
    what they cost on the target, each figure with its method.

    Core adds the costs to the deliverable's flash and RAM and the MACs to
    the latency estimate, and report.json shows model and app code apart
    (``memory.parts``, ``latency.parts``). ``macs_by_kind`` names the kind
    of arithmetic (``float_dsp``, ``int_dsp``...), priced with the target's
    cycles/MAC for that kind, or its default.

    When the code was run on the target (``ctx.run_program``), ``cycles``
    and ``instructions`` hold what the runner measured per inference, and
    the latency uses them instead of the MAC estimate; ``flash_bytes`` and
    ``ram_bytes`` should then be the runner's figures from the linked image.
    """

    files: list[str]
    flash_bytes: Figure | None = None
    ram_bytes: Figure | None = None
    macs: int = 0
    macs_by_kind: dict[str, int] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    cycles: Figure | None = None
    instructions: Figure | None = None

    def to_json(self) -> dict[str, Any]:
        def fig(f: Figure | None):
            return None if f is None else f.to_json()
        return {"files": list(self.files), "macs": int(self.macs),
                "macs_by_kind": {k: int(v) for k, v in self.macs_by_kind.items()},
                "flash_bytes": fig(self.flash_bytes), "ram_bytes": fig(self.ram_bytes),
                "cycles": fig(self.cycles), "instructions": fig(self.instructions), "info": self.info}


@dataclass
class DeviceRun:
    """The deliverable run on the test split in its runtime (the "device").

    ``test_outputs`` have the same dtype and shape as the compressed model's
    reference outputs so parity is an exact comparison. ``method`` says where
    it ran (host interpreter, host-compiled C, emulator, board).
    ``cycles`` is set only by a runner that measured them. ``diagnosis``
    says why the outputs differ from the reference, when the backend can
    tell (e.g. the first diverging op); validate quotes it.
    """

    test_outputs: np.ndarray
    method: str
    cycles: Figure | None = None
    diagnosis: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
