"""Workflows around the engine: train, quantize, evaluate, the design-space
exploration and the paper's tables."""
