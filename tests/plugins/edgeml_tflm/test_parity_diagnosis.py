"""Naming the first op where TFLM and the TFLite reference diverge."""

from __future__ import annotations

import shutil

import numpy as np

import edgeml


def _tampered(model_bytes: bytes, op_index: int) -> bytes:
    """A copy of the model whose op ``op_index`` has every weight set to 127."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    sg = model.subgraphs[0]
    weights = sg.tensors[sg.operators[op_index].inputs[1]]
    buf = model.buffers[weights.buffer]
    buf.data = np.full_like(np.asarray(buf.data), 127)
    builder = flatbuffers.Builder(len(model_bytes) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_every_op_output_becomes_a_graph_output_in_order(tiny, compressed):
    from edgeml_tflm.parity_diagnosis import with_every_output

    model = (tiny.build_dir / "compress" / compressed.path).read_bytes()
    _, order = with_every_output(model)
    assert [p.op_name for p in order] == ["CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D", "MEAN", "SOFTMAX"]
    assert [p.op_index for p in order] == [0, 1, 2, 3, 4]


def test_the_first_diverging_op_is_named(tiny, compressed):
    from edgeml_tflm.parity_diagnosis import first_divergence

    model = (tiny.build_dir / "compress" / compressed.path).read_bytes()
    q = compressed.input_quant.quantize(tiny.features.x["test"][:1])[0]
    assert first_divergence(model, model, q).startswith("no intermediate tensor differs")
    message = first_divergence(_tampered(model, 1), model, q)
    assert message.startswith("first divergence at op 1 DEPTHWISE_CONV_2D")
    assert "LSB" in message


def test_a_device_mismatch_reaches_the_report_with_its_diagnosis(tiny, compressed, exported, tmp_path):
    """run() diagnoses a real mismatch: the exported model differs from the one the reference ran."""
    from edgeml.run import StageContext
    from edgeml_tflm.backend import TflmBackend

    deliverable, export_dir = exported
    build = tmp_path / "build"
    for stage in ("compress", "export"):
        shutil.copytree(tiny.build_dir / stage, build / stage)
    exported_model = build / "export" / deliverable.info["model_file"]
    exported_model.write_bytes(_tampered(exported_model.read_bytes(), 2))
    ctx = StageContext(stage="validate", config=tiny.config, out_dir=tmp_path, build_dir=build,
                       target=tiny.target, seed=0, progress=edgeml.Progress(enabled=False))
    run = TflmBackend().run(ctx, deliverable, compressed, tiny.features)
    assert not np.array_equal(run.test_outputs, compressed.test_outputs)
    assert run.diagnosis.startswith("test example 0: first divergence at op 2 CONV_2D")
