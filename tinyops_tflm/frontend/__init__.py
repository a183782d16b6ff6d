"""Front end: .tflite bytes -> validated graph IR (reader, ir, ops), network
builders (netbuild) and per-op work counts (metrics)."""
