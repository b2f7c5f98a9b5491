"""Registers the ``cmsis_nn`` backend and CMSIS-NN's C source as the C library ``cmsis-nn``
(entry point ``cmsis_nn = "edgeml_cmsis_nn.plugin"``)."""

from __future__ import annotations

import edgeml
from edgeml_cmsis_nn.library import CmsisNn


@edgeml.hookimpl
def edgeml_register_c_libraries():
    return [CmsisNn()]


@edgeml.hookimpl
def edgeml_register_backends():
    from edgeml_cmsis_nn.backend import CmsisNnBackend

    return [CmsisNnBackend()]


@edgeml.hookimpl
def edgeml_config_searchpath():
    return ["pkg://edgeml_cmsis_nn.conf"]


@edgeml.hookimpl
def edgeml_validate(validation: edgeml.ValidationInput) -> list[edgeml.Check]:
    if str(validation.config.backend.get("name", "")) != "cmsis_nn":
        return []
    from edgeml_cmsis_nn.backend import validation_checks

    return validation_checks(validation)
