# STM32F746G-DISCO: Cortex-M7, double-precision FPU, hard-float ABI.
set(TINYOPS_CPU_FLAGS "-mcpu=cortex-m7 -mfpu=fpv5-d16 -mfloat-abi=hard")
include(${CMAKE_CURRENT_LIST_DIR}/../common/arm-none-eabi.cmake)
