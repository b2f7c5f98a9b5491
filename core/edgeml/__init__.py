"""edgeml: a build system for TinyML.

The public API for plugin authors is what this module exports; everything
else in the package may change between minor versions.
"""

__version__ = "0.1.0"

from edgeml.artifacts import (  # noqa: E402
    CompressedModel, Deliverable, DeviceCode, DeviceRun, FeatureSet, Figure, QuantParams, TrainedModel,
)
from edgeml.components import MODEL_KINDS, TASKS, App, Backend, Check, CLibrary, Compressor, Runner  # noqa: E402
from edgeml.errors import (  # noqa: E402
    BudgetError, ConfigError, DataError, EdgeMLError, IncompatibleError, PluginError, StageOrderError,
)
from edgeml import csize, metrics, source_trees  # noqa: E402
from edgeml.keras_models import keras_macs, save_keras  # noqa: E402
from edgeml.plugins import hookimpl  # noqa: E402
from edgeml.programs import LibraryFiles, Program, ProgramRun, ProgramRuns, RunRequest  # noqa: E402
from edgeml.progress import CapturedOutput, Progress, native_output_captured, native_stderr_muted  # noqa: E402
from edgeml.run import Evaluation, RunInfo, StageContext, StageRecord, ValidationInput  # noqa: E402
from edgeml.targets import TargetProfile  # noqa: E402

__all__ = [
    "App", "Backend", "BudgetError", "Check", "CLibrary", "LibraryFiles", "Program", "ProgramRun", "ProgramRuns",
    "RunRequest", "Runner", "CompressedModel", "Compressor", "ConfigError", "DataError",
    "Deliverable", "DeviceCode", "Evaluation", "DeviceRun", "EdgeMLError", "FeatureSet", "Figure", "IncompatibleError", "MODEL_KINDS",
    "PluginError", "Progress", "QuantParams", "RunInfo", "StageContext", "StageOrderError", "StageRecord",
    "TASKS", "TargetProfile", "TrainedModel", "ValidationInput", "csize", "hookimpl", "keras_macs", "metrics", "native_output_captured", "native_stderr_muted", "save_keras", "source_trees", "CapturedOutput", "__version__",
]
