/*
 * Minimal stand-in for CMSIS-Core's cmsis_compiler.h, for building CMSIS-DSP
 * (1.10) with GCC: arm-none-eabi-gcc for Cortex-M0+/M4/M7 and the host gcc.
 *
 * CMSIS-DSP's arm_math_types.h includes "cmsis_compiler.h" unless
 * __GNUC_PYTHON__ is defined, and the cmsisdsp sdist does not ship CMSIS-Core.
 * This header provides only what CMSIS-DSP's headers and sources use:
 *   - the attribute macros (__STATIC_FORCEINLINE, __ALIGNED, __WEAK, ...);
 *   - __CLZ, __SSAT, __USAT, __ROR (CMSIS-DSP's none.h defines these only
 *     for MSVC, Apple and the Python build);
 *   - when the core has the DSP extension (__ARM_FEATURE_DSP == 1, i.e.
 *     Cortex-M4/M7, where arm_math_types.h then defines ARM_MATH_DSP), the
 *     SIMD intrinsics none.h leaves out, mapped to GCC's ACLE intrinsics
 *     (arm_acle.h), which emit the same instructions as CMSIS-Core's
 *     cmsis_gcc.h.
 * Without the DSP extension (Cortex-M0+, host) none.h supplies portable C
 * versions of the SIMD intrinsics itself.
 */
#ifndef EDGEML_CMSIS_COMPILER_SHIM_H
#define EDGEML_CMSIS_COMPILER_SHIM_H

#include <stdint.h>

#if !defined(__GNUC__)
#error "edgeml's cmsis_compiler.h shim supports GCC only: use CMSIS-Core's cmsis_compiler.h for other compilers"
#endif

#ifndef __ASM
#define __ASM __asm
#endif
#ifndef __INLINE
#define __INLINE inline
#endif
#ifndef __STATIC_INLINE
#define __STATIC_INLINE static inline
#endif
#ifndef __STATIC_FORCEINLINE
#define __STATIC_FORCEINLINE __attribute__((always_inline)) static inline
#endif
#ifndef __NO_RETURN
#define __NO_RETURN __attribute__((__noreturn__))
#endif
#ifndef __USED
#define __USED __attribute__((used))
#endif
#ifndef __WEAK
#define __WEAK __attribute__((weak))
#endif
#ifndef __PACKED
#define __PACKED __attribute__((packed, aligned(1)))
#endif
#ifndef __PACKED_STRUCT
#define __PACKED_STRUCT struct __attribute__((packed, aligned(1)))
#endif
#ifndef __ALIGNED
#define __ALIGNED(x) __attribute__((aligned(x)))
#endif
#ifndef __RESTRICT
#define __RESTRICT __restrict
#endif

/* Count leading zeros; CLZ(0) is 32 as on the CLZ instruction. */
__STATIC_FORCEINLINE uint8_t __CLZ(uint32_t value)
{
  return value == 0U ? 32U : (uint8_t)__builtin_clz(value);
}

/* Signed saturation to sat bits (1..32); the same rule as the SSAT instruction. */
__STATIC_FORCEINLINE int32_t __SSAT(int32_t val, uint32_t sat)
{
  if ((sat >= 1U) && (sat <= 32U)) {
    const int32_t max = (int32_t)((1U << (sat - 1U)) - 1U);
    const int32_t min = -1 - max;
    if (val > max) return max;
    if (val < min) return min;
  }
  return val;
}

/* Unsigned saturation to sat bits (0..31); the same rule as the USAT instruction. */
__STATIC_FORCEINLINE uint32_t __USAT(int32_t val, uint32_t sat)
{
  if (sat <= 31U) {
    const uint32_t max = ((1U << sat) - 1U);
    if (val > (int32_t)max) return max;
    if (val < 0) return 0U;
  }
  return (uint32_t)val;
}

__STATIC_FORCEINLINE uint32_t __ROR(uint32_t op1, uint32_t op2)
{
  op2 %= 32U;
  if (op2 == 0U) return op1;
  return (op1 >> op2) | (op1 << (32U - op2));
}

#if defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1)
#include <arm_acle.h>

#define __QADD(x, y)        __qadd((int32_t)(x), (int32_t)(y))
#define __QSUB(x, y)        __qsub((int32_t)(x), (int32_t)(y))
#define __QADD8(x, y)       ((uint32_t)__qadd8((int8x4_t)(x), (int8x4_t)(y)))
#define __QSUB8(x, y)       ((uint32_t)__qsub8((int8x4_t)(x), (int8x4_t)(y)))
#define __QADD16(x, y)      ((uint32_t)__qadd16((int16x2_t)(x), (int16x2_t)(y)))
#define __QSUB16(x, y)      ((uint32_t)__qsub16((int16x2_t)(x), (int16x2_t)(y)))
#define __SHADD16(x, y)     ((uint32_t)__shadd16((int16x2_t)(x), (int16x2_t)(y)))
#define __SHSUB16(x, y)     ((uint32_t)__shsub16((int16x2_t)(x), (int16x2_t)(y)))
#define __QASX(x, y)        ((uint32_t)__qasx((int16x2_t)(x), (int16x2_t)(y)))
#define __QSAX(x, y)        ((uint32_t)__qsax((int16x2_t)(x), (int16x2_t)(y)))
#define __SHASX(x, y)       ((uint32_t)__shasx((int16x2_t)(x), (int16x2_t)(y)))
#define __SHSAX(x, y)       ((uint32_t)__shsax((int16x2_t)(x), (int16x2_t)(y)))
#define __SMUAD(x, y)       ((uint32_t)__smuad((int16x2_t)(x), (int16x2_t)(y)))
#define __SMUADX(x, y)      ((uint32_t)__smuadx((int16x2_t)(x), (int16x2_t)(y)))
#define __SMUSD(x, y)       ((uint32_t)__smusd((int16x2_t)(x), (int16x2_t)(y)))
#define __SMUSDX(x, y)      ((uint32_t)__smusdx((int16x2_t)(x), (int16x2_t)(y)))
#define __SMLAD(x, y, a)    ((uint32_t)__smlad((int16x2_t)(x), (int16x2_t)(y), (int32_t)(a)))
#define __SMLADX(x, y, a)   ((uint32_t)__smladx((int16x2_t)(x), (int16x2_t)(y), (int32_t)(a)))
#define __SMLSDX(x, y, a)   ((uint32_t)__smlsdx((int16x2_t)(x), (int16x2_t)(y), (int32_t)(a)))
#define __SMLALD(x, y, a)   ((uint64_t)__smlald((int16x2_t)(x), (int16x2_t)(y), (int64_t)(a)))
#define __SMLALDX(x, y, a)  ((uint64_t)__smlaldx((int16x2_t)(x), (int16x2_t)(y), (int64_t)(a)))
#define __SXTB16(x)         ((uint32_t)__sxtb16((int8x4_t)(x)))

/* No ACLE intrinsic: the same definitions as CMSIS-Core's cmsis_gcc.h. */
#define __PKHBT(ARG1, ARG2, ARG3) \
  ((uint32_t)((((uint32_t)(ARG1)) & 0x0000FFFFUL) | ((((uint32_t)(ARG2)) << (ARG3)) & 0xFFFF0000UL)))
#define __PKHTB(ARG1, ARG2, ARG3) \
  ((uint32_t)((((uint32_t)(ARG1)) & 0xFFFF0000UL) | ((((uint32_t)(ARG2)) >> (ARG3)) & 0x0000FFFFUL)))

__STATIC_FORCEINLINE int32_t __SMMLA(int32_t op1, int32_t op2, int32_t op3)
{
  int32_t result;
  __ASM volatile ("smmla %0, %1, %2, %3" : "=r" (result) : "r" (op1), "r" (op2), "r" (op3));
  return result;
}
#endif /* __ARM_FEATURE_DSP */

#endif /* EDGEML_CMSIS_COMPILER_SHIM_H */
