"""attnviz: see, step by step and with real numbers, how transformer attention works.

The public compute API is Qt-free and imports no GPU library:

>>> import numpy as np, attnviz
>>> q = k = v = np.eye(3, dtype=np.float32)[None]        # one head, 3 tokens, 3 features
>>> attnviz.scaled_dot_product_attention(q, k, v).shape
(1, 3, 3)
"""

from importlib.metadata import PackageNotFoundError, version

from attnviz.backends import BackendChoice, scaled_dot_product_attention, select_backend
from attnviz.core import attention_trace, softmax

try:
    __version__ = version("attnviz")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "BackendChoice",
    "__version__",
    "attention_trace",
    "scaled_dot_product_attention",
    "select_backend",
    "softmax",
]
