"""Helpers shared by the tests (imported as ``support.<module>``; pytest puts
tests/ on sys.path): C++ harness builds (cxx), emulated firmware (firmware),
oracle comparisons (oracle)."""
