"""Firmware: export to a board port, emulation (QEMU, the register-level
board model), cycle models and firmware projects."""
