#!/usr/bin/env bash
# Installs edgeml and everything its built-in plugins need, from the package
# registries only. Idempotent: a second run installs nothing new.
#   bash scripts/setup.sh         the tool (edgeml run ...)
#   bash scripts/setup.sh --dev   plus pytest and the test plugin package
set -euo pipefail
cd "$(dirname "$0")/.."

# System tools: the host C/C++ compiler checks the generated sources; Debian's Arm
# cross compiler with newlib builds the firmware images the emulator runner measures
# (the PyPI wheel of that toolchain has no C library: ../shared/DESIGN.md), and its
# RISC-V one with picolibc those of the esp32-c3 profile.
APT_PKGS="gcc g++ gcc-arm-none-eabi libnewlib-arm-none-eabi gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf"
need=""
command -v gcc >/dev/null 2>&1 || need="$need gcc"
command -v g++ >/dev/null 2>&1 || need="$need g++"
command -v arm-none-eabi-gcc >/dev/null 2>&1 || need="$need gcc-arm-none-eabi"
[ -e /usr/lib/arm-none-eabi/newlib/libc.a ] || [ -e /usr/lib/arm-none-eabi/lib/libc.a ] || need="$need libnewlib-arm-none-eabi"
command -v riscv64-unknown-elf-gcc >/dev/null 2>&1 || need="$need gcc-riscv64-unknown-elf"
[ -e /usr/lib/picolibc/riscv64-unknown-elf/picolibc.specs ] || need="$need picolibc-riscv64-unknown-elf"
if [ -n "$need" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: apt-get install$need"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $APT_PKGS >/dev/null
  else
    echo "setup: missing$need: run sudo apt-get install $APT_PKGS and re-run" >&2; exit 1
  fi
fi

PY=${PYTHON:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
# torch is pinned to the CPU build (2.13.0); a plain `torch` would pull a CUDA build of several GB.
if [ "${1:-}" = "--dev" ]; then
  "$PY" -m pip install -q -c constraints.txt -e ".[dev]"
  "$PY" -m pip install -q -e tests/plugin_package --no-deps
else
  "$PY" -m pip install -q -c constraints.txt -e ".[all]"
fi
# onnx2tf (the torch -> TFLite converter) declares exact pins of older versions of
# everything it touches (numpy 1.26, tensorflow 2.19, onnx 1.19...) yet runs with ours:
# it and its own helpers are installed without their declared dependencies, and
# `pip check` below ignores onnx2tf's complaints (and only those).
NODEPS="onnx2tf==1.29.24 onnx-graphsurgeon==0.6.1 sng4onnx==2.0.1 tf-keras==2.21.0"
# shellcheck disable=SC2086
"$PY" -m pip install -q --no-deps $NODEPS
# pyenv puts console scripts behind shims that exist only after a rehash.
if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
broken=$("$PY" -m pip check 2>&1 | grep -v -e '^onnx2tf ' -e '^No broken requirements' || true)
if [ -n "$broken" ]; then echo "$broken" >&2; exit 1; fi
# CMSIS-DSP's C source (the cmsisdsp sdist from PyPI, sha256-checked, unpacked into
# ~/.cache/edgeml) for the firmware of the keyword app's MFCC; idempotent.
"$PY" -m edgeml_cmsis_dsp.fetch
# CMSIS-NN's C source at its pinned commit (GitHub's archive, content-hash-checked, into ~/.cache/edgeml)
# for the cmsis-nn backend; idempotent. Without internet, point EDGEML_CMSIS_NN_FROM at a checkout or
# archive of that commit (then a refused copy fails the setup). A failed download fails no setup: only
# that backend's tests skip.
if [ -n "${EDGEML_CMSIS_NN_FROM:-}" ]; then
  "$PY" -m edgeml.cli deps cmsis-nn --from "$EDGEML_CMSIS_NN_FROM"
elif ! "$PY" -m edgeml.cli deps cmsis-nn; then
  echo "setup: CMSIS-NN's source is not installed, so the cmsis-nn backend's tests will skip: run" \
       "\`edgeml deps cmsis-nn --from PATH\` with a checkout or archive of its pinned commit" >&2
fi
echo "setup: edgeml $("$PY" -c 'import edgeml; print(edgeml.__version__)') ready ($(command -v edgeml))"
