# Shared part of the ports' CMake toolchain files: Debian's arm-none-eabi-gcc
# (packages gcc-arm-none-eabi, libnewlib-arm-none-eabi,
# libstdc++-arm-none-eabi-newlib). The including toolchain file sets
# TINYOPS_CPU_FLAGS (-mcpu/-mfpu/-mfloat-abi) first.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(TINYOPS_ARM_PREFIX "arm-none-eabi-" CACHE STRING "Cross tool prefix")
find_program(TINYOPS_ARM_GCC ${TINYOPS_ARM_PREFIX}gcc)
if(NOT TINYOPS_ARM_GCC)
  message(FATAL_ERROR
    "${TINYOPS_ARM_PREFIX}gcc not found. On Debian/Ubuntu: apt-get install "
    "gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib")
endif()
get_filename_component(_tinyops_arm_bin "${TINYOPS_ARM_GCC}" DIRECTORY)
set(CMAKE_C_COMPILER "${_tinyops_arm_bin}/${TINYOPS_ARM_PREFIX}gcc")
set(CMAKE_CXX_COMPILER "${_tinyops_arm_bin}/${TINYOPS_ARM_PREFIX}g++")
set(CMAKE_ASM_COMPILER "${_tinyops_arm_bin}/${TINYOPS_ARM_PREFIX}gcc")
set(CMAKE_OBJCOPY "${_tinyops_arm_bin}/${TINYOPS_ARM_PREFIX}objcopy" CACHE FILEPATH "")
set(CMAKE_SIZE "${_tinyops_arm_bin}/${TINYOPS_ARM_PREFIX}size" CACHE FILEPATH "")
set(CMAKE_NM "${_tinyops_arm_bin}/${TINYOPS_ARM_PREFIX}nm" CACHE FILEPATH "")

# Core flags only here; optimisation and language flags are set per target.
set(CMAKE_C_FLAGS_INIT "${TINYOPS_CPU_FLAGS} -mthumb")
set(CMAKE_CXX_FLAGS_INIT "${TINYOPS_CPU_FLAGS} -mthumb")
set(CMAKE_ASM_FLAGS_INIT "${TINYOPS_CPU_FLAGS} -mthumb")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${TINYOPS_CPU_FLAGS} -mthumb")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
