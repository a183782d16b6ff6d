"""Runtime: the compiled engine, the host :class:`Interpreter` and the
plugin that runs TinyOps kernels inside tflite-micro (tflm)."""
