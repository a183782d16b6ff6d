# STM32F746G-DISCO: Cortex-M7, hard-float ABI, *single-precision* FPU.
# The STM32F74x/F75x implement the Cortex-M7 FPU in its single-precision
# variant (FPv5-SP-D16; STM32F746xx datasheet, "Arm Cortex-M7
# with FPU"; only the F76x/F77x have the double-precision one). With
# -mfpu=fpv5-d16 the compiler emitted double-precision VFP instructions
# (e.g. vcvt.f64.f32 in the convolution prepare), which are UNDEFINED on
# this part: the board model's Cortex-M7 (no FP64 either) stopped on the
# first one, while QEMU's mps2-an500 Cortex-M7 has FP64 and ran them.
# With fpv5-sp-d16, doubles go through the IEEE-exact soft-float helpers.
set(TINYOPS_CPU_FLAGS "-mcpu=cortex-m7 -mfpu=fpv5-sp-d16 -mfloat-abi=hard")
include(${CMAKE_CURRENT_LIST_DIR}/../common/arm-none-eabi.cmake)
