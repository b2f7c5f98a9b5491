"""The cycle model: classification of real assembled Thumb-2, TRM hand sums per core, branch and
LDM pricing, unknown cores. Bytes come from arm-none-eabi-as (no hand-typed encodings)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import edgeml
import pytest
from edgeml_runners import cycle_model as cm
from edgeml_runners.cycle_model import BlockProfile, classify, estimate

BASE = 0x1000


def assemble(tmp_path: Path, body: str, cpu: str = "cortex-m4", fpu: str | None = "fpv4-sp-d16") -> bytes:
    src = tmp_path / "t.s"
    src.write_text(f".syntax unified\n.thumb\n.text\n{body}\n")
    obj, binary = tmp_path / "t.o", tmp_path / "t.bin"
    fpu_flag = [f"-mfpu={fpu}"] if fpu else []
    r = subprocess.run(["arm-none-eabi-as", f"-mcpu={cpu}", *fpu_flag, "-mthumb", str(src), "-o", str(obj)],
                       check=False, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", "-j", ".text", str(obj), str(binary)], check=True)
    return binary.read_bytes()


def test_classify_covers_the_classes(tmp_path):
    code = assemble(tmp_path, """
        adds r0, r1, r2
        lsls r0, r0, #3
        ubfx r0, r1, #2, #3
        qadd16 r0, r1, r2
        it eq
        addeq r0, r0, #1
        muls r0, r1, r0
        mla r0, r1, r2, r3
        smlad r0, r1, r2, r3
        umull r0, r1, r2, r3
        smlal r0, r1, r2, r3
        sdiv r0, r1, r2
        ldr r0, [r1]
        ldrb.w r0, [r1, #1000]
        strh r0, [r1, r2]
        ldrd r0, r1, [r2]
        ldmia r0!, {r1, r2, r3}
        stmia r0!, {r4-r11}
        push {r4-r7, lr}
        pop {r4, r5}
        pop {r4, r5, pc}
        vadd.f32 s0, s1, s2
        vcvt.f32.s32 s0, s0
        vfma.f32 s0, s1, s2
        vmla.f32 s0, s1, s2
        vdiv.f32 s0, s1, s2
        vsqrt.f32 s0, s1
        vldr s0, [r0]
        vstr s0, [r0]
        vldmia r0!, {s0-s7}
        vpush {d8-d9}
        vmov r0, s0
        vmrs APSR_nzcv, fpscr
        dmb
        nop
        tbb [pc, r0]
        ldr pc, [sp], #4
        mov pc, lr
        bx lr
        bl 1f
    1:  cbz r0, 2f
        bne 1b
        b 1b
    2:  yield
    """)
    got = classify(code, BASE)
    assert got == [
        ("alu", 0), ("alu", 0), ("alu", 0), ("alu", 0), ("it", 0), ("alu", 0),
        ("mul_32", 0), ("mul_mac", 0), ("mul_mac", 0), ("mul_long", 0), ("mac_long", 0), ("div", 0),
        ("load", 0), ("load", 0), ("store", 0), ("load_multiple", 2), ("load_multiple", 3),
        ("store_multiple", 8), ("push", 5), ("pop", 2), ("pop_pc", 3),
        ("fpu_arith", 0), ("fpu_arith", 0), ("fpu_mac", 0), ("fpu_mac", 0), ("fpu_div", 0), ("fpu_sqrt", 0),
        ("fpu_load", 0), ("fpu_store", 0), ("fpu_load_multiple", 8), ("fpu_store_multiple", 4),
        ("fpu_move", 0), ("fpu_move", 0), ("barrier", 0), ("nop", 0),
        ("branch_table", 0), ("load_pc", 0), ("branch_indirect", 0), ("branch_indirect", 0),
        ("branch_link", 0), ("branch_cond", 0), ("branch_cond", 0), ("branch", 0), ("nop", 0),
    ]
    assert classify(code, BASE) is got  # cached by (address, code)


def test_conditional_branch_inside_it_block(tmp_path):
    code = assemble(tmp_path, "itt ne\nldrne r0, [r1]\nbxne lr")
    assert classify(code, BASE) == [("it", 0), ("load", 0), ("branch_cond", 0)]


def test_double_precision_only_on_m7(tmp_path):
    code = assemble(tmp_path, "vdiv.f64 d0, d1, d2\nvsqrt.f64 d0, d1", cpu="cortex-m7", fpu="fpv5-d16")
    assert classify(code, 0x2000) == [("fpu_div_f64", 0), ("fpu_sqrt_f64", 0)]
    assert estimate("cortex-m7", [BlockProfile(0x2000, code, 1, 0)]).cycles == 29 + 29
    with pytest.raises(edgeml.ConfigError, match="-mcpu=cortex-m4"):
        estimate("cortex-m4", [BlockProfile(0x2000, code, 1, 0)])


# A loop body: 2 ALU, 2 back-to-back loads, a store, MUL, MLA, conditional branch back.
LOOP = """
    adds r0, r0, #1
    eors r4, r4, r0
    ldr r2, [r1]
    ldr r3, [r1, #4]
    str r2, [r5]
    muls r2, r3, r2
    mla r6, r2, r3, r6
    cmp r0, r7
    bne .
"""


@pytest.mark.parametrize(("core", "not_taken", "taken"), [
    # DDI 0484C s3.3: ALU 1, LDR 2, STR 2, MULS 1 (fast multiplier), B<cc> 1 / 2
    ("cortex-m0plus", None, None),
    # DDI 0439B Table 3-1 + s3.3.2: ALU 1, LDR 2 then 1 pipelined, STR 1, MUL 1, MLA 1, B<cc> 1 / 1+P, P=2
    ("cortex-m4", 1 + 1 + 2 + 1 + 1 + 1 + 1 + 1 + 1, 1 + 1 + 2 + 1 + 1 + 1 + 1 + 1 + 3),
    # DDI 0337I Table 3-1: as M4 but MLA 2
    ("cortex-m3", 1 + 1 + 2 + 1 + 1 + 1 + 2 + 1 + 1, 1 + 1 + 2 + 1 + 1 + 1 + 2 + 1 + 3),
])
def test_known_sequence_equals_trm_hand_sum(tmp_path, core, not_taken, taken):
    if core == "cortex-m0plus":
        code = assemble(tmp_path, """
            adds r0, r0, #1
            eors r4, r4, r0
            ldr r2, [r1]
            ldr r3, [r1, #4]
            str r2, [r5]
            muls r2, r3, r2
            cmp r0, r7
            bne .
        """, cpu="cortex-m0plus", fpu=None)
        not_taken, taken = 1 + 1 + 2 + 2 + 2 + 1 + 1 + 1, 1 + 1 + 2 + 2 + 2 + 1 + 1 + 2
    else:
        code = assemble(tmp_path, LOOP)
    n_instr = len(classify(code, BASE))
    est = estimate(core, [BlockProfile(BASE, code, executions=10, taken=9)])
    assert est.cycles == 9 * taken + 1 * not_taken
    assert est.instructions == 10 * n_instr
    assert sum(v["instructions"] for v in est.by_class.values()) == est.instructions
    assert est.by_class["branch_cond"] == {"instructions": 10, "cycles": 9 * (taken - not_taken + 1) + 1}
    assert core in est.core and "zero-wait-state" in est.source


def test_m0plus_iterative_multiplier_is_a_parameter(tmp_path):
    code = assemble(tmp_path, "muls r0, r1, r0\nbx lr", cpu="cortex-m0plus", fpu=None)
    blocks = [BlockProfile(BASE, code, 1, 1)]
    assert estimate("cortex-m0plus", blocks).cycles == 1 + 2
    slow = estimate("cortex-m0plus", blocks, fast_multiplier=False)
    assert slow.cycles == 32 + 2 and "iterative" in slow.source


def test_taken_and_not_taken_branch_pricing(tmp_path):
    code = assemble(tmp_path, "cmp r0, #0\nbeq .")
    def cycles(core, taken):
        return estimate(core, [BlockProfile(BASE, code, 100, taken)]).cycles
    assert cycles("cortex-m4", 0) == 100 * (1 + 1)
    assert cycles("cortex-m4", 100) == 100 * (1 + 3)          # 1 + P, P = 2
    assert cycles("cortex-m0plus", 100) == 100 * (1 + 2)
    assert cycles("cortex-m0plus", 40) - cycles("cortex-m0plus", 0) == 40
    # an unconditional branch is always taken, whatever the profile says
    b = assemble(tmp_path, "b .")
    assert estimate("cortex-m4", [BlockProfile(BASE, b, 5, 0)]).cycles == 5 * 3


@pytest.mark.parametrize("n", [1, 4, 8])
def test_ldm_and_pop_pc_priced_by_register_count(tmp_path, n):
    regs = ", ".join(f"r{i}" for i in range(1, n + 1))
    code = assemble(tmp_path, f"ldmia r0!, {{{regs}}}")
    assert estimate("cortex-m4", [BlockProfile(BASE, code, 3, 0)]).cycles == 3 * (1 + n)
    assert estimate("cortex-m0plus", [BlockProfile(BASE, code, 3, 0)]).cycles == 3 * (1 + n)
    assert estimate("cortex-m7", [BlockProfile(BASE, code, 3, 0)]).cycles == 3 * (1 + (n + 1) // 2)
    pop = assemble(tmp_path, f"pop {{{regs}, pc}}")
    assert classify(pop, BASE) == [("pop_pc", n + 1)]
    assert estimate("cortex-m0plus", [BlockProfile(BASE, pop, 1, 1)]).cycles == 3 + (n + 1)
    assert estimate("cortex-m4", [BlockProfile(BASE, pop, 1, 1)]).cycles == 1 + (n + 1) + 2


def test_m4_fpu_costs(tmp_path):
    code = assemble(tmp_path, "vldr s0, [r0]\nvmul.f32 s1, s0, s0\nvfma.f32 s2, s1, s0\nvdiv.f32 s3, s2, s1\n"
                              "vsqrt.f32 s4, s3\nvstr s4, [r0]\nvpush {s16-s19}")
    # DDI 0439B Table 7-1: VLDR 2, VMUL 1, VFMA 3, VDIV 14, VSQRT 14, VSTR 2, VPUSH 1+N
    assert estimate("cortex-m4", [BlockProfile(BASE, code, 1, 0)]).cycles == 2 + 1 + 3 + 14 + 14 + 2 + 5


def test_m7_dual_issues_alu_pairs(tmp_path):
    code = assemble(tmp_path, "adds r0, r0, #1\nadds r1, r1, #1\nadds r2, r2, #1\nadds r3, r3, #1\n"
                              "ldr r4, [r5]\nldr r6, [r5, #4]\nsdiv r0, r1, r2", cpu="cortex-m7", fpu="fpv5-d16")
    # two ALU pairs (1 + 1), two loads cannot pair with each other (1 + 1), SDIV alone (7)
    est = estimate("cortex-m7", [BlockProfile(BASE, code, 1, 0)])
    assert est.cycles == 2 + 2 + 7
    assert "APPROXIMATION" in est.source and "DDI 0489" in est.source


def test_unknown_core_names_the_known_ones():
    with pytest.raises(edgeml.ConfigError) as err:
        estimate("cortex-m99", [])
    for core in cm.CORES:
        assert core in str(err.value)


def test_cortex_m0_aliases_m0plus(tmp_path):
    code = assemble(tmp_path, "adds r0, #1\nbne .", cpu="cortex-m0", fpu=None)
    est = estimate("cortex-m0", [BlockProfile(BASE, code, 2, 2)])
    assert est.cycles == estimate("cortex-m0plus", [BlockProfile(BASE, code, 2, 2)]).cycles
    assert "alias" in est.source


def test_v7m_instruction_in_an_m0plus_profile_is_a_build_error(tmp_path):
    code = assemble(tmp_path, "sdiv r0, r1, r2")
    with pytest.raises(edgeml.ConfigError, match="cortex-m0plus"):
        estimate("cortex-m0plus", [BlockProfile(BASE, code, 1, 0)])


def test_bad_profiles_are_data_errors(tmp_path):
    code = assemble(tmp_path, "adds r0, #1")
    with pytest.raises(edgeml.DataError, match="taken"):
        estimate("cortex-m4", [BlockProfile(BASE, code, 1, 2)])
    with pytest.raises(edgeml.DataError, match="decode"):
        estimate("cortex-m4", [BlockProfile(BASE, code + b"\xff", 1, 0)])


def test_same_profile_gives_identical_estimates(tmp_path):
    code = assemble(tmp_path, LOOP)
    blocks = [BlockProfile(BASE + 0x40 * i, code, 7 + i, i) for i in range(50)]
    assert estimate("cortex-m7", blocks) == estimate("cortex-m7", list(blocks))
