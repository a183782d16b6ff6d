"""Build single-operator int8 ``.tflite`` models directly as flatbuffers.

No TensorFlow is involved: models are written with the object API of the
flatbuffer schema shipped in the pinned ``tflite-micro`` wheel, so randomized
kernel tests can create thousands of models quickly, with exact control of
every quantization parameter.  This module is the front door; the pieces
live beside it: :mod:`.tflite_model` (the generic layer), :mod:`.draw`
(parameter drawing shared by the builders) and one module per op family
(:mod:`.conv_builders`, :mod:`.elementwise_builders`, :mod:`.pool_builders`,
:mod:`.data_builders`).

Two layers:

* :func:`build_model` -- generic: a list of :class:`TensorSpec`, a list of
  :class:`OpSpec` (or plain tuples), and the graph's input/output indices.
* One convenience builder per operator (``conv2d``, ``depthwise_conv2d``,
  ``fully_connected``, ``add``, ``mul``, ``average_pool_2d``, ``max_pool_2d``,
  ``mean``, ``hard_swish``, ``logistic``, ``relu``, ``relu6``, ``leaky_relu``,
  ``pad``, ``padv2``, ``reshape``, ``squeeze``, ``concatenation``, ``softmax``,
  ``quantize``, ``dequantize``, ``strided_slice``, ``pack``, ``shape``).

Every convenience builder has the signature ``builder(rng, **params)`` and
returns ``(model_bytes, meta)``.  Any parameter left at ``None`` is drawn from
``rng`` (a ``numpy.random.Generator``), so ``conv2d(rng)`` is a random valid
convolution and ``conv2d(rng, kernel=(1, 1), stride=(1, 1))`` pins part of
it.  Quantization parameters that are not given are chosen so that the
output is not trivially saturated for uniformly random int8 inputs, and so
that TFLM's Prepare accepts the model (see the constraints noted at each
builder).  ``meta`` is a dict::

    {"op": "CONV_2D",               # builtin operator name
     "params": {...},               # every resolved parameter, incl. quantization
     "inputs": [TensorSpec, ...],   # the model's runtime inputs, in order
     "outputs": [TensorSpec, ...],  # the model's outputs, in order
     "tensors": [TensorSpec, ...]}  # all tensors (constants carry .data)

:func:`random_inputs` draws one input set for a ``meta``; :data:`BUILDERS`
maps operator names to builders.
"""

from __future__ import annotations

from typing import Callable

from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from .conv_builders import conv2d, depthwise_conv2d, fully_connected
from .data_builders import concatenation, pack, pad, padv2, reshape, shape, squeeze, strided_slice
from .draw import ACTIVATIONS, conv_output_size, random_inputs
from .elementwise_builders import add, dequantize, hard_swish, leaky_relu, logistic, mul, quantize, relu, relu6, softmax
from .pool_builders import average_pool_2d, max_pool_2d, mean
from .tflite_model import FILE_IDENTIFIER, SCHEMA_VERSION, OpSpec, TensorSpec, build_model

__all__ = [
    "TensorSpec",
    "OpSpec",
    "build_model",
    "random_inputs",
    "BUILDERS",
    "ACTIVATIONS",
    "FILE_IDENTIFIER",
    "SCHEMA_VERSION",
    "conv_output_size",
    "schema",
    "conv2d",
    "depthwise_conv2d",
    "fully_connected",
    "add",
    "mul",
    "average_pool_2d",
    "max_pool_2d",
    "mean",
    "hard_swish",
    "logistic",
    "relu",
    "relu6",
    "leaky_relu",
    "pad",
    "padv2",
    "reshape",
    "squeeze",
    "concatenation",
    "softmax",
    "quantize",
    "dequantize",
    "strided_slice",
    "pack",
    "shape",
]

#: Operator name (lower-case builder name) -> builder.
BUILDERS: dict[str, Callable[..., tuple[bytes, dict]]] = {
    f.__name__: f
    for f in (
        conv2d,
        depthwise_conv2d,
        fully_connected,
        add,
        mul,
        average_pool_2d,
        max_pool_2d,
        mean,
        hard_swish,
        logistic,
        relu,
        relu6,
        leaky_relu,
        pad,
        padv2,
        reshape,
        squeeze,
        concatenation,
        softmax,
        quantize,
        dequantize,
        strided_slice,
        pack,
        shape,
    )
}
