"""Test infrastructure of tinyops-tflm (model builders for randomized kernel tests)."""
