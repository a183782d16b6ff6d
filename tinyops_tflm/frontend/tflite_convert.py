"""The project's one set of TFLite converter settings (the zoo's rows and
``tinyops quantize``): full-integer post-training quantization with int8
input and output and TFLITE_BUILTINS_INT8 only, so every op of the graph is
int8 and the model runs on TFLM's int8 kernels (BN folded by the converter)."""

from __future__ import annotations

from typing import Callable, Iterable


def to_int8_tflite(tf, model, representative_dataset: Callable[[], Iterable[list]]) -> bytes:
    """``.tflite`` bytes of Keras ``model``, calibrated on the batches
    ``representative_dataset`` yields (a list of one input array each)."""
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative_dataset
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return bytes(conv.convert())
