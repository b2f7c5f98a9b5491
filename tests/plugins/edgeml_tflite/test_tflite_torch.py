"""The torch path of the tflite-int8 compressor, with no app: torch.export -> ONNX -> onnx2tf -> INT8 -> TFLM."""

from __future__ import annotations

import numpy as np
import pytest

import edgeml
from torch_tiny_build import make_torch_build

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def torch_build(tmp_path_factory):
    return make_torch_build(tmp_path_factory.mktemp("torch-build"))


@pytest.fixture(scope="module")
def torch_compressed(torch_build):
    return torch_build.compress()


def test_the_compressor_takes_torch_models():
    from edgeml_tflite.compressor import TfliteInt8Compressor

    assert TfliteInt8Compressor.input_kinds == ("keras", "torch")


def test_onnx_file_is_kept_checked_and_its_level_matches_torch(torch_build, torch_compressed):
    import onnx

    out = torch_build.build_dir / "compress"
    onnx_model = onnx.load(str(out / "model.onnx"))
    onnx.checker.check_model(onnx_model, full_check=True)
    assert max(o.version for o in onnx_model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    info = torch_compressed.info["onnx"]
    assert info["file"] == "model.onnx" and info["opset"] == 17 and "Conv" in info["ops"]
    onnx_level = torch_compressed.levels["onnx"]
    assert onnx_level.shape == torch_build.trained.test_outputs.shape
    np.testing.assert_allclose(onnx_level, torch_build.trained.test_outputs, atol=1e-5)
    assert info["max_abs_diff_vs_float"] < 1e-5


def test_int8_graph_has_int8_io_no_transpose_and_agrees_with_torch(torch_build, torch_compressed):
    from ai_edge_litert.interpreter import Interpreter

    data = (torch_build.build_dir / "compress" / torch_compressed.path).read_bytes()
    it = Interpreter(model_content=data)
    assert it.get_input_details()[0]["dtype"] == np.int8 and it.get_output_details()[0]["dtype"] == np.int8
    ops = set(torch_compressed.info["op_sequence"])
    assert "TRANSPOSE" not in ops and torch_compressed.info["transpose_ops"] == 0
    assert {"CONV_2D", "SOFTMAX"} <= ops and "FULLY_CONNECTED" not in ops
    assert torch_compressed.info["converter"].startswith("onnx2tf ")
    assert len({tuple(r) for r in torch_compressed.test_outputs}) > 5, "constant outputs prove nothing"
    agree = (torch_compressed.dequantized_outputs().argmax(1) == torch_build.trained.test_outputs.argmax(1)).mean()
    assert agree >= 0.9
    # BatchNorm folded into the conv, ReLU fused: only the ops the graph needs.
    assert torch_compressed.info["ops"].get("CONV_2D") == 3 and "MUL" not in ops and "ADD" not in ops


def test_tflm_runs_the_torch_model_bit_exact(torch_build, torch_compressed):
    from edgeml_tflm.backend import TflmBackend

    ctx = torch_build.ctx("export")
    deliverable = TflmBackend().export(ctx, torch_compressed, torch_build.features)
    deliverable.save(ctx.out_dir)
    torch_build.finish("export", ctx.out_dir)
    run = TflmBackend().run(torch_build.ctx("validate"), deliverable, torch_compressed, torch_build.features)
    assert edgeml.metrics.parity(torch_compressed.test_outputs, run.test_outputs)["bit_exact"]


def test_repeat_conversion_is_byte_identical(torch_build, torch_compressed):
    from edgeml_tflite.compressor import TfliteInt8Compressor

    out = torch_build.build_dir / "compress"
    ctx = torch_build.ctx("compress")
    again = TfliteInt8Compressor().compress(ctx, torch_build.trained, torch_build.features)
    assert (ctx.out_dir / again.path).read_bytes() == (out / torch_compressed.path).read_bytes()
    assert (ctx.out_dir / "model.onnx").read_bytes() == (out / "model.onnx").read_bytes()


def test_a_file_that_is_not_a_torch_export_program_is_a_data_error(torch_build):
    from edgeml_tflite.compressor import TfliteInt8Compressor

    (torch_build.build_dir / "train" / "bad.pt2").write_bytes(b"not a zip")
    trained = edgeml.TrainedModel(kind="torch", path="bad.pt2", test_outputs=np.zeros((1, 3)))
    with pytest.raises(edgeml.DataError, match="torch.export"):
        TfliteInt8Compressor().compress(torch_build.ctx("compress"), trained, torch_build.features)
