"""Latency and energy estimates: which figure, priced how, said how."""

from __future__ import annotations

import pytest

from edgeml.report import estimate_latency
from edgeml.targets import TargetProfile

BASE = {"name": "t", "core": "cortex-m4", "clock_hz": 50_000_000, "ram_bytes": 1, "flash_bytes": 1,
        "model_ram_share": 1, "model_flash_share": 1, "active_mw": 1}


def test_flat_estimate_without_a_split():
    t = TargetProfile.from_config(BASE | {"latency_model": {"cycles_per_mac": 4.0, "source": "s"}})
    est = estimate_latency(1000, t, None)
    assert est["cycles"] == 4000 and est["ms"] == pytest.approx(4000 / 50e6 * 1e3)
    assert est["method"] == "estimate: 1000 MACs x 4 cycles/MAC for cortex-m4 (s)"


def test_each_layer_kind_is_priced_apart_and_unpriced_kinds_use_the_default():
    t = TargetProfile.from_config(BASE | {"latency_model": {
        "cycles_per_mac": 4.0, "source": "s", "cycles_per_mac_by_kind": {"depthwise": 10.0, "pointwise": 2.0}}})
    est = estimate_latency(1000, t, None, {"depthwise": 100, "pointwise": 500, "conv": 300})
    # 100 x 10 + 500 x 2 + 300 x 4 (conv: default) + 100 x 4 (MACs outside the split)
    assert est["cycles"] == 1000 + 1000 + 1200 + 400
    assert "depthwise 100 x 10" in est["method"] and "other 100 x 4" in est["method"]


def test_no_latency_model_says_so():
    est = estimate_latency(1000, TargetProfile.from_config(BASE), None)
    assert est["ms"] is None and est["method"].startswith("none:")
