# Shared build logic of the ports (included by ports/<board>/port.cmake after
# it has set the board's parameters, see ports/stm32f746/port.cmake).
#
# Builds, for one board:
#   tinyops_engine_fw     the engine (csrc) cross-compiled, freestanding
#   selftest[.elf]        hardware firmware with no model (clocks, SDRAM, QSPI, DMA check)
#   selftest_qemu[.elf]   the same for the QEMU variant
#   <symbol>[.elf]        one hardware firmware per registered model
#   <symbol>_qemu[.elf]   one QEMU firmware per registered model
# Registered models come from ${TINYOPS_MODELS_DIR}/models.cmake, written by
# `tinyops export` (default: ports/<board>/models).

set(TINYOPS_PORTS_COMMON ${CMAKE_CURRENT_LIST_DIR})
get_filename_component(TINYOPS_REPO_ROOT "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)

set(TINYOPS_MODELS_DIR "${CMAKE_CURRENT_SOURCE_DIR}/models" CACHE PATH
    "Directory holding models.cmake and the exported model sources")
set(TINYOPS_FW_OPT "-O2" CACHE STRING "Optimisation flags of the firmware (engine included)")
option(TINYOPS_BUILD_BOARD "Build the hardware firmware" ON)
option(TINYOPS_BUILD_QEMU "Build the QEMU (emulated) firmware" ON)
# Main stack bytes (in CCM/DTCM): what the port's kernels need
# (TINYOPS_PORT_STACK_SIZE, set by port.cmake), or -DTINYOPS_STACK_BYTES=N.
# Not a cached default, so a build directory picks up a port's new size.
if(NOT DEFINED TINYOPS_PORT_STACK_SIZE)
  set(TINYOPS_PORT_STACK_SIZE 16384)
endif()
set(TINYOPS_STACK_BYTES "" CACHE STRING "Main stack bytes (in CCM/DTCM); empty: the port's")
if(TINYOPS_STACK_BYTES)
  set(TINYOPS_STACK_SIZE ${TINYOPS_STACK_BYTES})
else()
  set(TINYOPS_STACK_SIZE ${TINYOPS_PORT_STACK_SIZE})
endif()
# Internal flash kept for the firmware image (vectors, code, read-only data,
# init arrays): the planner's Board.flash_reserve (tinyops_tflm/planning/boards.py)
# puts an exported model's flash arrays after it, so the link fails, naming
# both, when the image outgrows it.
set(TINYOPS_FLASH_RESERVE 327680 CACHE STRING "Flash bytes for the firmware image (boards.py flash_reserve)")
option(TINYOPS_QEMU_DMA_DEFERRED
  "QEMU variant: copies happen at wait() (ON, exposes missing waits) or at start() (OFF)" ON)
option(TINYOPS_DMA_BYTE_WIDE
  "DMA moves bytes without bursts (as the TinyOps paper's firmware) instead of words + INCR4 bursts" OFF)

# Flags every firmware object shares. No -ffast-math and no FP contraction:
# the engine must compute the host's bytes.
set(TINYOPS_FW_CXX_FLAGS
  ${TINYOPS_FW_OPT} -g -ffunction-sections -fdata-sections -fno-exceptions -fno-rtti
  -fno-threadsafe-statics -fno-use-cxa-atexit -fno-common -ffp-contract=off
  -Wall -Wextra -Wno-unused-parameter)
set(TINYOPS_FW_EXTRA_FLAGS "" CACHE STRING "Extra compile flags (local experiments)")
list(APPEND TINYOPS_FW_CXX_FLAGS ${TINYOPS_FW_EXTRA_FLAGS})
separate_arguments(TINYOPS_FW_CXX_FLAGS)
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)

# ---------------------------------------------------------------------------
# The engine: the free-standing csrc folders of the host build (csrc/host/,
# the planner and host DMA engines, is the host's alone).
file(GLOB TINYOPS_FW_ENGINE_SOURCES CONFIGURE_DEPENDS
  ${TINYOPS_REPO_ROOT}/csrc/kernels/*.cc
  ${TINYOPS_REPO_ROOT}/csrc/dma_partition/*.cc
  ${TINYOPS_REPO_ROOT}/csrc/runtime/*.cc)
add_library(tinyops_engine_fw STATIC ${TINYOPS_FW_ENGINE_SOURCES})
target_include_directories(tinyops_engine_fw PUBLIC
  ${TINYOPS_REPO_ROOT}/csrc/include ${TINYOPS_REPO_ROOT}/csrc)
target_compile_options(tinyops_engine_fw PRIVATE ${TINYOPS_FW_CXX_FLAGS})
# The board's core (TINYOPS_CORTEX_M4 / _M7) picks per-core instruction
# schedules in csrc/kernels/arm/.
target_compile_definitions(tinyops_engine_fw PUBLIC TINYOPS_FIRMWARE=1 ${TINYOPS_BOARD_DEFINES})

# ---------------------------------------------------------------------------
# Firmware objects shared by both variants, then the variant-specific ones.
set(TINYOPS_FW_COMMON_SOURCES
  ${TINYOPS_PORTS_COMMON}/src/startup.cc
  ${TINYOPS_PORTS_COMMON}/src/console.cc
  ${TINYOPS_PORTS_COMMON}/src/syscalls.cc
  ${TINYOPS_PORTS_COMMON}/src/pool.cc
  ${TINYOPS_PORTS_COMMON}/src/op_timing.cc
  ${TINYOPS_PORTS_COMMON}/src/runner.cc)

function(_tinyops_fw_objects target)
  target_include_directories(${target} PRIVATE
    ${TINYOPS_PORTS_COMMON}/include ${TINYOPS_PORTS_COMMON}
    ${TINYOPS_REPO_ROOT}/csrc/include ${TINYOPS_REPO_ROOT}/csrc)
  target_compile_options(${target} PRIVATE ${TINYOPS_FW_CXX_FLAGS})
  target_compile_definitions(${target} PRIVATE TINYOPS_FIRMWARE=1 ${TINYOPS_BOARD_DEFINES})
endfunction()

add_library(tinyops_fw_common OBJECT ${TINYOPS_FW_COMMON_SOURCES})
_tinyops_fw_objects(tinyops_fw_common)

add_library(tinyops_fw_board OBJECT ${TINYOPS_BOARD_SOURCES})
_tinyops_fw_objects(tinyops_fw_board)
# Test-only: builds the board drivers with one deliberately broken variant
# (ports/common/stm32: NO_DCACHE_CLEAN, NO_DCACHE_INVALIDATE, DMA_WORD_WIDTH,
# NO_SDRAM_AUTO_REFRESH, QSPI_DUMMY_CYCLES, LATENCY_AFTER_SWITCH) for the board-model mutation tests
# (tests/test_boardmodel.py). Only the driver objects are rebuilt.
set(TINYOPS_DRIVER_MUTATION "" CACHE STRING "Test only: one deliberately broken driver variant")
if(TINYOPS_DRIVER_MUTATION)
  target_compile_definitions(tinyops_fw_board PRIVATE TINYOPS_MUTATE_${TINYOPS_DRIVER_MUTATION}=1)
endif()
target_compile_definitions(tinyops_fw_board PRIVATE
  TINYOPS_BOARD_NAME="${TINYOPS_BOARD}" TINYOPS_CORE_NAME="${TINYOPS_CORE_NAME}"
  TINYOPS_CORE_HZ=${TINYOPS_CORE_HZ}u
  TINYOPS_DMA_BYTE_WIDE=$<BOOL:${TINYOPS_DMA_BYTE_WIDE}>)

# The emulated DMA reports its transfers to the QEMU cycle model
# (src/dma_events.cc, qemu_plugin/tinyops_cycles.c).
add_library(tinyops_fw_qemu OBJECT
  ${TINYOPS_PORTS_COMMON}/src/qemu_board.cc ${TINYOPS_PORTS_COMMON}/src/cpu_dma.cc
  ${TINYOPS_PORTS_COMMON}/src/dma_events.cc)
_tinyops_fw_objects(tinyops_fw_qemu)
target_compile_definitions(tinyops_fw_qemu PRIVATE
  TINYOPS_BOARD_NAME="${TINYOPS_BOARD}-qemu" TINYOPS_CORE_NAME="${TINYOPS_CORE_NAME}"
  TINYOPS_CORE_HZ=${TINYOPS_CORE_HZ}u
  TINYOPS_QEMU_DMA_DEFERRED=$<BOOL:${TINYOPS_QEMU_DMA_DEFERRED}>
  TINYOPS_DMA_BYTE_WIDE=$<BOOL:${TINYOPS_DMA_BYTE_WIDE}>)
if(NOT TINYOPS_FAST_DMA_REACHABLE)
  # FASTRAM stands in for a CPU-only memory (the F469's CCM): CPU copies.
  math(EXPR _fast_end "${TINYOPS_QEMU_FAST_ORIGIN} + ${TINYOPS_QEMU_FAST_LENGTH}" OUTPUT_FORMAT HEXADECIMAL)
  target_compile_definitions(tinyops_fw_qemu PRIVATE
    TINYOPS_QEMU_CPU_ONLY_START=${TINYOPS_QEMU_FAST_ORIGIN}u TINYOPS_QEMU_CPU_ONLY_END=${_fast_end}u)
endif()

# ---------------------------------------------------------------------------
# Linker scripts: one MEMORY per (variant, SRAM budget).
function(_tinyops_memory_script out variant sram_budget)
  foreach(r FLASH FAST SRAM SDRAM QSPI)
    set(TINYOPS_${r}_ORIGIN ${TINYOPS_${variant}_${r}_ORIGIN})
    set(TINYOPS_${r}_LENGTH ${TINYOPS_${variant}_${r}_LENGTH})
  endforeach()
  set(TINYOPS_LD_TITLE "${TINYOPS_BOARD} (${variant})")
  # The plan's SRAM arrays must fit the budget the plan was made for (the
  # rest of SRAM holds the firmware's data and the allocator pool).
  if(sram_budget)
    set(TINYOPS_SRAM_BUDGET ${sram_budget})
  else()
    set(TINYOPS_SRAM_BUDGET ${TINYOPS_SRAM_LENGTH})
  endif()
  configure_file(${TINYOPS_PORTS_COMMON}/ld/memory.ld.in ${out} @ONLY)
endfunction()

# Adds firmware `name` for `variant` (BOARD or QEMU) from the given sources.
function(_tinyops_firmware name variant sram_budget)
  set(sources ${ARGN})
  set(script ${CMAKE_CURRENT_BINARY_DIR}/ld/${name}.ld)
  _tinyops_memory_script(${script} ${variant} "${sram_budget}")
  if(variant STREQUAL "QEMU")
    set(objects $<TARGET_OBJECTS:tinyops_fw_qemu>)
  else()
    set(objects $<TARGET_OBJECTS:tinyops_fw_board>)
  endif()
  add_executable(${name} ${sources} $<TARGET_OBJECTS:tinyops_fw_common> ${objects})
  set_target_properties(${name} PROPERTIES SUFFIX ".elf" LINK_DEPENDS
    "${script};${TINYOPS_PORTS_COMMON}/ld/sections.ld")
  _tinyops_fw_objects(${name})
  target_link_libraries(${name} PRIVATE tinyops_engine_fw)
  target_link_options(${name} PRIVATE
    -nostartfiles --specs=nano.specs
    -T ${script} -L ${TINYOPS_PORTS_COMMON}/ld
    -Wl,--gc-sections -Wl,--print-memory-usage -Wl,-Map=$<TARGET_FILE_DIR:${name}>/${name}.map
    # Per-op timing (ports/common/src/op_timing.cc): kernel lookups and, for
    # partitioned plans, each scheduled op go through wrappers.
    -Wl,--wrap=_ZN7tinyops14find_op_kernelEl
    -Wl,--wrap=_ZN7tinyops16run_scheduled_opERNS_11ScheduledOpEPS0_RNS_9DmaEngineEPNS_7OpStatsE)
  if(variant STREQUAL "BOARD")
    add_custom_command(TARGET ${name} POST_BUILD
      COMMAND ${CMAKE_OBJCOPY} -O ihex $<TARGET_FILE:${name}> $<TARGET_FILE_DIR:${name}>/${name}.hex
      COMMAND ${CMAKE_SIZE} -A -x $<TARGET_FILE:${name}>
      VERBATIM)
  endif()
endfunction()

function(_tinyops_selector out symbol)
  if(symbol)
    file(WRITE ${out}.tmp
      "// Generated by ports/common/firmware.cmake: the model this firmware runs.\n"
      "#include \"tinyops_port/model.h\"\n"
      "extern const tinyops_port::ModelDesc ${symbol}_model;\n"
      "const tinyops_port::ModelDesc& tinyops_port::selected_model() { return ${symbol}_model; }\n")
  else()
    file(WRITE ${out}.tmp
      "// Generated by ports/common/firmware.cmake: no model (self-test firmware).\n"
      "#include \"tinyops_port/model.h\"\n"
      "static const tinyops_port::ModelDesc kNone = {\"none\", \"none\", nullptr, 0, nullptr, 0, nullptr, 0};\n"
      "const tinyops_port::ModelDesc& tinyops_port::selected_model() { return kNone; }\n")
  endif()
  configure_file(${out}.tmp ${out} COPYONLY)
endfunction()

# Self-test firmware (no model).
_tinyops_selector(${CMAKE_CURRENT_BINARY_DIR}/gen/selftest_select.cc "")
if(TINYOPS_BUILD_BOARD)
  _tinyops_firmware(selftest BOARD "" ${CMAKE_CURRENT_BINARY_DIR}/gen/selftest_select.cc)
endif()
if(TINYOPS_BUILD_QEMU)
  _tinyops_firmware(selftest_qemu QEMU "" ${CMAKE_CURRENT_BINARY_DIR}/gen/selftest_select.cc)
endif()

# Called by models.cmake (written by `tinyops export`) once per model.
#   tinyops_register_model(NAME <name> SYMBOL <c identifier> DIR <dir>
#                          BOARD <board> [SRAM_BUDGET <bytes>])
set(TINYOPS_REGISTERED_MODELS "")
macro(tinyops_register_model)
  cmake_parse_arguments(_M "" "NAME;SYMBOL;DIR;BOARD;SRAM_BUDGET" "" ${ARGN})
  if(NOT _M_BOARD STREQUAL TINYOPS_BOARD)
    message(STATUS "tinyops: model ${_M_NAME} was exported for ${_M_BOARD}, not ${TINYOPS_BOARD}: skipped")
  else()
    if(IS_ABSOLUTE "${_M_DIR}")
      set(_dir "${_M_DIR}")
    else()
      set(_dir "${TINYOPS_MODELS_DIR}/${_M_DIR}")
    endif()
    file(GLOB _srcs CONFIGURE_DEPENDS "${_dir}/*.cc")
    # The model's arrays are compiled once and linked into both variants.
    add_library(${_M_SYMBOL}_data OBJECT ${_srcs})
    _tinyops_fw_objects(${_M_SYMBOL}_data)
    target_include_directories(${_M_SYMBOL}_data PRIVATE ${_dir})
    set(_sel ${CMAKE_CURRENT_BINARY_DIR}/gen/${_M_SYMBOL}_select.cc)
    _tinyops_selector(${_sel} ${_M_SYMBOL})
    if(TINYOPS_BUILD_BOARD)
      _tinyops_firmware(${_M_SYMBOL} BOARD "${_M_SRAM_BUDGET}"
        $<TARGET_OBJECTS:${_M_SYMBOL}_data> ${_sel})
    endif()
    if(TINYOPS_BUILD_QEMU)
      _tinyops_firmware(${_M_SYMBOL}_qemu QEMU "${_M_SRAM_BUDGET}"
        $<TARGET_OBJECTS:${_M_SYMBOL}_data> ${_sel})
    endif()
    list(APPEND TINYOPS_REGISTERED_MODELS ${_M_NAME})
  endif()
endmacro()

if(EXISTS ${TINYOPS_MODELS_DIR}/models.cmake)
  include(${TINYOPS_MODELS_DIR}/models.cmake)
endif()
list(LENGTH TINYOPS_REGISTERED_MODELS _n)
message(STATUS "tinyops: ${TINYOPS_BOARD}: ${_n} registered model(s) from ${TINYOPS_MODELS_DIR}: ${TINYOPS_REGISTERED_MODELS}")
include(${TINYOPS_PORTS_COMMON}/tflm_example/tflm_example.cmake)
