"""Exception types of tinyops-tflm: every class the package defines, all
subclasses of :class:`TinyOpsError` (and of ``ValueError``, ``RuntimeError``
... where callers already catch those).

Every error the package raises on bad input is one of these (or a plain
``ValueError`` / ``NotImplementedError``), with a message naming the op,
tensor or field at fault. The modules that raise them re-export them
(``from tinyops_tflm.firmware.emulate import EmulationError`` still works).
"""

from __future__ import annotations


class TinyOpsError(Exception):
    """Base class of all tinyops-tflm specific errors."""


class ModelError(TinyOpsError, ValueError):
    """The .tflite bytes are malformed, truncated or inconsistent."""


class ModelFileError(ModelError):
    """A model file cannot be read: its path is a directory, or reading it failed."""


class ModelFileNotFound(ModelFileError, FileNotFoundError):
    """A model file does not exist (still a FileNotFoundError for callers that catch that)."""


class UnsupportedOpError(TinyOpsError, NotImplementedError):
    """The model uses operators (or operator variants) the engine lacks."""


class PlanError(TinyOpsError, ValueError):
    """A plan could not be built or failed validation when loaded."""


class BudgetError(PlanError):
    """A memory budget is too small for the model."""


class WeightsPlacementError(PlanError):
    """Weights were asked to live in a memory the board lacks (--weights-in)."""


class InvocationError(TinyOpsError, RuntimeError):
    """The engine reported a failure while running a plan."""


class MissingDependencyError(TinyOpsError, ImportError):
    """An optional dependency (an extra such as [distributed]) is not installed."""


class NetConfigError(TinyOpsError, ValueError):
    """A net config (OFA/ProxylessNAS JSON) or zoo row cannot be built."""


class DataFolderError(TinyOpsError, ValueError):
    """An image-folder dataset is missing, empty or malformed (it must hold one
    sub-folder of images per class)."""


class EmptyClassError(DataFolderError):
    """A class sub-folder of an image-folder dataset holds no images."""


class UnreadableImageError(TinyOpsError, ValueError):
    """An image file cannot be read or decoded (evaluate skips and counts these)."""


class PreprocessingError(TinyOpsError, ValueError):
    """A model's input does not match its recorded (or requested) preprocessing."""


class TflmMismatchError(TinyOpsError, RuntimeError):
    """The engine's int8 output differs from tflite-micro's for an image."""


class IsaError(TinyOpsError, RuntimeError):
    """TINYOPS_ISA names no kernel level, or one this CPU cannot run."""


# -- Planning and cost models --------------------------------------------------


class CostTableError(TinyOpsError):
    """The cost tables are missing, malformed or have no entry for a board."""


class ScheduleError(TinyOpsError):
    """A schedule name or its cost data is unknown."""


# -- TinyOps kernels inside tflite-micro (runtime.tflm) ------------------------


class TflmUnavailableError(TinyOpsError):
    """The TFLM adapter cannot run here (wrong tflite-micro build, no plugin)."""


class TflmVersionError(TflmUnavailableError):
    """The installed tflite-micro is not the build the adapter declares the ABI of."""


class TflmAbiError(TflmUnavailableError):
    """The tflite-micro library in memory does not have the declared ABI."""


# -- The tflite-micro oracle ---------------------------------------------------


class OracleError(TinyOpsError, RuntimeError):
    """The tflite-micro interpreter failed, aborted or timed out."""


# -- Firmware: export, builds, emulation, projects -----------------------------


class ToolchainMissing(TinyOpsError):
    """The Arm cross toolchain, CMake or QEMU is not installed."""


class EmulationError(TinyOpsError):
    """The emulated firmware failed to build or run, or gave malformed output."""


class CycleError(TinyOpsError):
    """A program could not be run under the cycle model (bad file or board)."""


class CycleRunError(CycleError, EmulationError):
    """The program failed under QEMU: non-zero exit code, timeout, no records."""


class FirmwareSourceMissing(TinyOpsError):
    """The tinyops-tflm source tree (csrc/ and ports/) is not available."""


class ProjectError(TinyOpsError, ValueError):
    """Not a firmware project, or a request that does not fit the project."""


class BuildError(TinyOpsError):
    """A bare-metal program failed to compile or link."""


# -- The register-level board model (firmware.boardmodel): each one is something
# the real board would not do (or would do silently wrong), reported with the
# register values and the reference-manual rule that was broken. ----------


class BoardModelError(TinyOpsError, RuntimeError):
    """The firmware did something the modelled hardware refuses."""


class ClockError(BoardModelError):
    """RCC / PWR misuse: PLL out of range, SYSCLK above the regulator's limit, ..."""


class FlashLatencyError(ClockError):
    """SYSCLK switched to a frequency the flash wait states (FLASH_ACR.LATENCY) do not cover."""


class SdramError(BoardModelError):
    """FMC SDRAM: wrong init sequence, geometry or bus width, access before init."""


class QspiError(BoardModelError):
    """QUADSPI / N25Q128A: command the flash refuses, memory-mapped settings that do
    not match the flash (read command, dummy cycles), access before memory-mapped mode."""


class DmaError(BoardModelError):
    """DMA2: an illegal stream setup (enabled while busy, circular or direct
    memory-to-memory, misaligned address, forbidden FIFO/burst combination)."""


class DmaBusError(DmaError):
    """DMA2 addressed a memory its bus-matrix ports cannot reach (e.g. CCM)."""


class CacheCoherencyError(BoardModelError):
    """Cortex-M7 D-cache: DMA read CPU-written lines that were not cleaned, or the
    CPU touched DMA-written lines it had not invalidated."""


class BusFaultError(BoardModelError):
    """An access to an address where nothing answers (or a write to read-only memory)."""


class FirmwareHang(BoardModelError):
    """The core would sleep forever (WFI with nothing pending) or ran past the
    instruction budget."""
