"""Overrides that make the KWS app tiny for tests: real code paths, seconds not minutes.

Keys are paths inside params/app/kws.yaml; TINY_KWS_OVERRIDES is the same as
command-line overrides. A tiny model's int8 score moves by whole examples,
so its compression tolerance is loosened (the real build keeps 2 points).
"""

TINY_KWS = {
    "sense.per_class": {"train": 60, "val": 15, "test": 30},
    "sense.synth.babble_bank": 8,
    "train.epochs": 4,
}
TINY_VALIDATE = {"validate.max_int8_drop": 0.2}

TINY_KWS_OVERRIDES = (
    ["app.sense.per_class.train=60", "app.sense.per_class.val=15", "app.sense.per_class.test=30",
     "app.sense.synth.babble_bank=8", "app.train.epochs=4"]
    + [f"{k}={v}" for k, v in TINY_VALIDATE.items()]
)
