"""The command line: exit codes, one-line errors, and no heavy imports for quick commands."""

from __future__ import annotations

import json
import subprocess
import sys

from blobs_plugin import ROOT
from edgeml.cli import main


def _edgeml(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "edgeml.cli", *args], cwd=cwd, capture_output=True, text=True)


#: Libraries no plugin may import at module level: `edgeml plugins` loads every plugin.
HEAVY = ("tensorflow", "keras", "torch", "mlflow", "dvc", "tflite_micro", "ai_edge_litert", "scipy", "cmsisdsp",
         "soundfile", "espeakng_loader", "sklearn", "onnx")


def test_quick_commands_import_no_framework():
    """--help, plugins and targets load every installed plugin; none may pull in a framework."""
    code = ("import sys; from edgeml.cli import main\n"
            "for cmd in (['--help'], ['plugins'], ['targets']):\n"
            "    try: main(cmd)\n"
            "    except SystemExit: pass\n"
            f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_unknown_choice_is_one_line_and_exit_2():
    result = _edgeml("run", "app=nope")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgeml: error: unknown app 'nope': choose one of")
    assert "kws" in lines[0] and "toy" in lines[0]


def test_unknown_stage_name_is_refused():
    assert _edgeml("stage", "deploy").returncode == 2


def test_targets_json_lists_budgets(capsys):
    assert main(["targets", "--json"]) == 0
    targets = {t["name"]: t for t in json.loads(capsys.readouterr().out)}
    assert targets["cortex-m4"]["ram_budget_bytes"] == 16384
    assert targets["toy-mcu"]["clock_hz"] == 32_000_000


def test_plugins_lists_what_each_provides(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "edgeml-toyplugin 0.4.0" in out and "app: toy" in out
