"""The objects plugins register: apps, compressors, backends, runners, C libraries, and checks.

Subclass these and return instances from the registration hooks in
:mod:`edgeml.hookspecs`. Stage methods are pure in the Kedro sense: they read
their inputs from the :class:`~edgeml.run.StageContext` and write only into
``ctx.out_dir``; core writes the manifest, hashes the outputs and decides
whether the stage runs at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from edgeml.errors import IncompatibleError

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    from edgeml.artifacts import CompressedModel, Deliverable, DeviceCode, DeviceRun, FeatureSet, TrainedModel
    from edgeml.programs import LibraryFiles, ProgramRun, RunRequest
    from edgeml.progress import Progress
    from edgeml.run import Evaluation, StageContext
    from edgeml.targets import TargetProfile

#: Model kinds the contract knows. A plugin may train another kind if some
#: compressor accepts it; these three have built-in or planned compressors.
MODEL_KINDS = ("keras", "torch", "sklearn")

#: Tasks an app may declare. ``classification``: one class per example
#: (integer labels, one score per class), which the default
#: :meth:`App.evaluate` scores; the others describe apps that score
#: themselves: ``anomaly`` (a normal/abnormal score), ``multilabel`` (several
#: yes/no outputs per example), ``detection`` (objects per example).
TASKS = ("classification", "anomaly", "multilabel", "detection")


class _Named:
    name: ClassVar[str] = ""
    version: ClassVar[str] = "0"
    description: ClassVar[str] = ""


class App(_Named):
    """One application: how to get data, make features and train a float model.

    Class attributes to set:

    * ``name``: the ``app=`` choice; config lives in ``app/NAME.yaml``.
    * ``task``: one of :data:`TASKS`.
    * ``model_kinds``: kinds ``train`` can return, preferred first.
    * ``primary_metric``: the key of :meth:`evaluate`'s result that ranks
      models and judges compression (higher is better).
    * ``default_backend``: the backend used when the command line names
      none (``None``: the config's default).

    Knobs for ``edgeml fit`` are config, not code: the app's
    ``app/NAME.yaml`` may hold a ``knobs`` node mapping config paths (Hydra
    override keys, any part of the config: ``app.train.model.width``,
    ``app.preprocess.bands``, ``compress.prune.fraction``) to a range
    ``{type: int|float, low, high, step, log}`` or ``{choices: [...]}``, and a
    ``fit`` node with ``probe`` (overrides that make a cheap model of the
    candidate's shape, measured by the real compress and export stages
    before any training, e.g. ``{app.train.epochs: 1}``) and ``rank``
    (overrides of the short training that ranks the candidates that fit).
    Candidates are ranked on ``val.<primary_metric>`` from :meth:`train`'s
    metrics, so a searchable app reports it. An app without knobs is built
    as configured, and ``edgeml fit`` says so. See :mod:`edgeml.fit`.
    """

    task: ClassVar[str] = "classification"
    model_kinds: ClassVar[tuple[str, ...]] = ()
    primary_metric: ClassVar[str] = "accuracy"
    default_backend: ClassVar[str | None] = None

    def check(self, config: Any, target: Any) -> None:
        """Optional: refuse a bad app config (``config.app``) or a target the
        app cannot serve by raising :class:`edgeml.ConfigError` or
        :class:`edgeml.IncompatibleError`. Called when the config is composed,
        before any data is generated, so mistakes cost no time."""

    def sense(self, ctx: StageContext) -> dict[str, float]:
        """Acquire raw labelled data into ``ctx.out_dir`` (generate it, or read
        ``app.data_dir``). Return a few metrics (counts per split and class).
        Missing or corrupt input files raise :class:`edgeml.DataError` naming
        the file."""
        raise NotImplementedError

    def preprocess(self, ctx: StageContext) -> FeatureSet:
        """Turn the sense stage's raw data (``ctx.input_dir("sense")``) into a
        :class:`FeatureSet` whose ``spec`` says how to compute the features on
        the device."""
        raise NotImplementedError

    def train(self, ctx: StageContext, features: FeatureSet) -> TrainedModel:
        """Train a float model, save it under ``ctx.out_dir`` and return a
        :class:`TrainedModel` with its scores on the test split. Per-epoch
        figures go to the trackers through ``ctx.log_metrics``. Put the
        validation split's primary metric in ``metrics`` as
        ``val.<primary_metric>``: ``edgeml fit`` ranks candidates by it."""
        raise NotImplementedError

    def evaluate(self, ev: Evaluation) -> dict[str, Any]:
        """Score one level's real-valued outputs (``ev.outputs``) on ``ev.split``.

        Called for every level of the build (``float``, the compressor's
        intermediate levels, ``int8``, ``device``) so the figures are
        comparable step by step; they form report.json's ``metrics`` block.
        The result must hold :attr:`primary_metric` as a number and may nest
        dicts (``per_class``) and lists (``confusion``). The default scores
        single-label classification with :func:`edgeml.metrics.classification`.
        """
        from edgeml.metrics import classification

        return classification(ev.features.y[ev.split], ev.outputs, ev.features.classes)

    def device_code(self, ctx: StageContext, model: CompressedModel,
                    features: FeatureSet) -> DeviceCode | list[str]:
        """Optional: write the app's own device-side C into ``ctx.out_dir``.

        Called in the export stage after the backend's export, for what runs
        around the model on the device: feature extraction, frame
        preprocessing, post-processing. Write under a folder named after the
        app. Return an :class:`edgeml.DeviceCode` (the paths relative to
        ``ctx.out_dir`` and what the code costs: flash, RAM, MACs) or just
        the paths; core adds both to the deliverable and the report. The
        backend never sees them."""
        return []

    def illustrate(self, ctx: StageContext, ev: Evaluation) -> list[str]:
        """Optional: draw the device level's results as PNGs in ``ctx.out_dir``.

        Called once in validate. Return the file names written; report.json
        lists them under ``figures`` and the trackers keep them."""
        return []


class Compressor(_Named):
    """Turns a trained model of one of ``input_kinds`` into ``output_format``."""

    input_kinds: ClassVar[tuple[str, ...]] = ()
    output_format: ClassVar[str] = ""

    def check(self, config: Any, target: Any) -> None:
        """Optional: refuse a bad ``config.compress`` at composition time."""

    def compress(self, ctx: StageContext, model: TrainedModel, features: FeatureSet) -> CompressedModel:
        """Compress ``model`` (its file is ``ctx.input_dir("train") / model.path``),
        save the result under ``ctx.out_dir`` and return it with the reference
        runtime's raw outputs on the test split. Config: ``ctx.config.compress``
        (``prune.fraction``, ``qat.enabled`` for compressors that prune or
        train quantization-aware; report each step's real-valued test outputs
        in ``CompressedModel.levels``, e.g. ``pruned``, ``ptq``)."""
        raise NotImplementedError


class Backend(_Named):
    """Turns a compressed model into a deliverable for a target, and runs it."""

    accepts: ClassVar[tuple[str, ...]] = ()

    def check(self, config: Any, target: Any) -> None:
        """Optional: refuse a bad ``config.backend`` or a target this backend
        cannot serve by raising :class:`edgeml.IncompatibleError`. Called at
        composition time."""

    def export(self, ctx: StageContext, model: CompressedModel, features: FeatureSet) -> Deliverable:
        """Write the deliverable (sources, headers, memory plan) into
        ``ctx.out_dir``; the model file is ``ctx.input_dir("compress") / model.path``."""
        raise NotImplementedError

    def run(self, ctx: StageContext, deliverable: Deliverable, model: CompressedModel,
            features: FeatureSet) -> DeviceRun:
        """Run the exported deliverable (in ``ctx.input_dir("export")``) on the
        whole test split in its own runtime and return the raw outputs, for
        parity against ``model.test_outputs``.

        Not needed when the deliverable carries a :class:`edgeml.Program`
        (``Deliverable.program``): validate then builds and runs it with the
        configured runners (host compiler, emulator...), which is how a
        backend that writes plain C gets flash, RAM and cycles measured on
        the target. Implement it for a runtime no runner builds (an
        interpreter in Python)."""
        raise NotImplementedError


class Runner(_Named):
    """Builds a :class:`edgeml.Program` for a target and runs examples through it.

    Runners are how figures get closer to the device: the host compiler
    (outputs, sanitizers), a cross compiler with an instruction-set emulator
    (flash and RAM of the linked image, instructions and cycles), a board
    over a serial port. The config's ``runners.use`` lists the ones a build
    uses, in order; the last one that supports the target gives the device
    figures, and every run's outputs must agree.
    """

    def supports(self, target: TargetProfile) -> str | None:
        """``None`` when this runner can build for and run ``target``, else
        the reason it cannot (one line, e.g. "no emulator for Xtensa
        cores"), which the report quotes next to the estimate it keeps."""
        return None

    def check(self, config: Any, target: TargetProfile) -> None:
        """Optional: refuse a bad ``config.runners.NAME`` or a missing tool at
        composition time, with the command that installs it."""

    def run(self, request: RunRequest) -> ProgramRun:
        """Build ``request.program`` (its files are under ``request.root``;
        its libraries are located in ``request.libraries``) for
        ``request.target``, put every row of ``request.inputs`` through the
        entry point and return the outputs with what was measured. A program
        that faults or never returns raises :class:`edgeml.DataError` naming
        the function and address; an image too big for
        ``request.flash_bytes``/``ram_bytes`` raises
        :class:`edgeml.BudgetError` with the overflow."""
        raise NotImplementedError


class CLibrary(_Named):
    """A third-party C library programs build against, found on this machine.

    Programs name it (``Program.libraries``) and never copy it into a
    deliverable. ``locate`` says where it is; a library that is not
    installed raises :class:`edgeml.IncompatibleError` with the command
    that installs it, which for a library that implements :meth:`install`
    is ``edgeml deps NAME``.
    """

    def locate(self) -> LibraryFiles:
        """The library's root, include directories and version."""
        raise NotImplementedError

    def install(self, source: Path | None = None, progress: Progress | None = None,
                force: bool = False) -> LibraryFiles:
        """Optional: put the library's source where :meth:`locate` finds it, and return what it finds.

        Called by ``edgeml deps NAME [--from PATH] [--force]`` (and so by a
        setup script), never during a build: builds only :meth:`locate`, so
        a missing library fails at once with the command to run instead of
        downloading in the middle of a stage. Without ``source`` it fetches
        the pinned release (a download, or a package registry); with
        ``source`` it takes a local checkout or archive of it (a machine
        without internet). ``progress.message`` reports long steps.

        What an implementation must guarantee:

        * idempotent: a complete installed copy returns at once (``force``
          installs again);
        * integrity: what it installs is checked against a hash pinned in
          the plugin (an archive's sha256, or a hash of the tree's content
          when the archive bytes are not stable), and a mismatch is refused
          with both hashes and the fix, leaving the installed copy as it was;
        * nothing half-written: unpack or copy into a temporary directory
          beside the destination (in the cache's parent, the same file
          system) and rename it into place only once it is complete and
          checked, so an interrupted install leaves no copy ``locate`` takes.

        Errors are one line naming the cause and the fix
        (:class:`edgeml.DataError` for a bad download or archive,
        :class:`edgeml.IncompatibleError` for what cannot be installed here).

        The default installs nothing: a library that comes with a Python
        package (or the system) is returned as :meth:`locate` finds it, and
        one that is missing, or a ``source`` given, is refused naming how
        the library is installed instead.
        """
        if source is None:
            try:
                return self.locate()
            except IncompatibleError as exc:
                raise IncompatibleError(f"C library '{self.name}' does not install itself through edgeml: "
                                        f"{exc}") from exc
        raise IncompatibleError(f"C library '{self.name}' does not install itself through edgeml, so it takes "
                                "no source path: install it as its plugin's docs say"
                                + (f" ({self.description})" if self.description else ""))


@dataclass
class Check:
    """One validation result. ``blocking`` failures fail the build."""

    name: str
    passed: bool
    message: str
    blocking: bool = True
    figures: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "message": self.message,
                "blocking": self.blocking, "figures": self.figures}
