"""The plugin contract: every hook edgeml calls, documented where it is declared.

A plugin is a module (or object) whose functions carry ``@edgeml.hookimpl`` and
are named after the hooks below. It is found through the ``edgeml`` entry-point
group::

    [project.entry-points.edgeml]
    myplugin = "my_package.plugin"

Rules that keep this contract stable:

* Hooks are called with keyword arguments only. A hook may gain arguments in a
  later release, never lose one; an implementation asks only for the
  arguments it uses (pluggy's opt-in arguments).
* Registration hooks are collect-all: every plugin's list is gathered. Two
  plugins registering one name is an error naming both.
* Results are typed objects from :mod:`edgeml.components` and
  :mod:`edgeml.artifacts`, never loose dicts.
* Heavy libraries (TensorFlow, torch, MLflow) are imported inside the methods
  that need them, never at module import: ``edgeml plugins`` loads every
  plugin and must answer in well under a second.

``EDGEML_TRACE_PLUGINS=1`` prints every hook call and its result to stderr.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # pragma: no cover - types only
    from edgeml.components import App, Backend, Check, CLibrary, Compressor, Runner
    from edgeml.run import RunInfo, StageRecord, ValidationInput

hookspec = pluggy.HookspecMarker("edgeml")


# --------------------------------------------------------------------------
# Registration: what a plugin brings


@hookspec
def edgeml_register_apps() -> list[App]:
    """Return the applications this plugin provides.

    An :class:`edgeml.App` carries the ``sense``, ``preprocess`` and ``train``
    stages of one application, its task and the model kinds it trains
    (``"keras"``, ``"torch"``, ``"sklearn"``). Its name is the value of
    ``app=`` on the command line and must match a config file ``app/NAME.yaml``
    on the config search path (see :func:`edgeml_config_searchpath`).
    """


@hookspec
def edgeml_register_compressors() -> list[Compressor]:
    """Return the compressors this plugin provides.

    A :class:`edgeml.Compressor` turns a trained model of one of its
    ``input_kinds`` into a compressed model of its ``output_format`` (for
    example ``keras`` -> ``tflite-int8``). The compress stage picks the one
    whose output format the configured backend accepts; the choice is made,
    and an impossible combination refused, when the config is composed.
    """


@hookspec
def edgeml_register_backends() -> list[Backend]:
    """Return the backends this plugin provides.

    A :class:`edgeml.Backend` exports a compressed model of a format it
    ``accepts`` into a deliverable for a target (C/C++ sources, a memory plan)
    and runs that deliverable on the test split so validate can compare it
    with the reference. Its name is the value of ``backend=``.
    """


@hookspec
def edgeml_register_runners() -> list[Runner]:
    """Return the runners this plugin provides.

    A :class:`edgeml.Runner` builds a :class:`edgeml.Program` (C with one
    entry point ``int f(const IN *input, OUT *output)``) for a target and
    runs examples through it: the host compiler, a cross compiler with an
    emulator, a board over a serial port, Renode or QEMU. Its name is what
    ``runners.use`` lists; its options live under ``runners.NAME``.
    ``supports(target)`` says which targets it can serve, and why not.
    """


@hookspec
def edgeml_register_c_libraries() -> list[CLibrary]:
    """Return the C libraries this plugin knows how to find.

    A :class:`edgeml.CLibrary` named in ``Program.libraries`` (a DSP or
    model library's headers and sources) is located on this machine when a runner builds the
    program; the library's files are never copied into a deliverable. ``edgeml deps`` lists
    them, and ``edgeml deps NAME [--from PATH]`` calls the library's ``install`` (a pinned,
    checksummed source tree: see :mod:`edgeml.source_trees`).
    """


@hookspec
def edgeml_config_searchpath() -> list[str]:
    """Return config search path entries that this plugin adds to Hydra.

    Each entry is a Hydra search path such as ``"pkg://my_package.conf"`` or
    ``"file:///abs/dir"``; the directory holds config groups (``app/``,
    ``target/``, ``backend/``) exactly like the project's ``params/``. This is
    how a plugin ships its app's defaults or a new target profile: a target is
    data, a YAML file in the ``target`` group.
    """


# --------------------------------------------------------------------------
# Validation: independent checks, collected from every plugin


@hookspec
def edgeml_validate(validation: ValidationInput) -> list[Check]:
    """Return checks on a finished build; called by the validate stage.

    ``validation`` holds the target profile, the compressed model, the
    backend's device run, the budget figures and every stage's metrics. Each
    plugin may add :class:`edgeml.Check` results (parity, budget, accuracy,
    latency...). A check whose ``passed`` is False with ``blocking=True``
    fails the build after report.json is written. Return ``[]`` or ``None``
    to add nothing.
    """


# --------------------------------------------------------------------------
# Observers: watch a run without taking part in it (tracking lives here)


@hookspec
def edgeml_run_started(run: RunInfo) -> None:
    """Called once before the first stage of ``edgeml run`` or ``edgeml stage``.

    ``run`` carries the composed config, build dir, mode (``"run"`` or
    ``"stage"``) and a ``tracking`` dict that observers may fill (for
    example the MLflow run id); report.json copies it.
    """


@hookspec
def edgeml_stage_started(run: RunInfo, stage: str) -> None:
    """Called before a stage runs or is found cached."""


@hookspec
def edgeml_stage_finished(run: RunInfo, record: StageRecord) -> None:
    """Called after a stage succeeded or was skipped as cached.

    ``record`` holds the stage name, its directory, whether it was cached,
    its wall time and its metrics (a flat ``dict[str, float]``).
    """


@hookspec
def edgeml_stage_metrics(run: RunInfo, stage: str, metrics: dict[str, float], step: int) -> None:
    """Called while a stage runs, each time it reports figures through
    ``ctx.log_metrics`` (per-epoch loss and validation scores, trial
    results): ``metrics`` is a flat ``dict[str, float]`` at ``step``.
    Trackers draw curves from these; the stage's final metrics still come
    with :func:`edgeml_stage_finished`."""


@hookspec
def edgeml_stage_failed(run: RunInfo, stage: str, error: BaseException) -> None:
    """Called when a stage raised; the error propagates after every observer ran."""


@hookspec
def edgeml_run_finished(run: RunInfo, report: dict | None) -> None:
    """Called after the last stage, with report.json's content when validate ran.

    Called on failure too (with ``report`` as far as it got, or None), so a
    tracker can close its run.
    """
