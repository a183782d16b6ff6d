# STM32F469I-DISCO: Cortex-M4F, single-precision FPU, hard-float ABI.
set(TINYOPS_CPU_FLAGS "-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard")
include(${CMAKE_CURRENT_LIST_DIR}/../common/arm-none-eabi.cmake)
