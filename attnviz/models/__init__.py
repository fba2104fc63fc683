"""Real trained models from local folders, run by attnviz's own compute core.

Qt-free and torch-free: weights come from safetensors (never pickle), tokenizers from the
``tokenizers`` library, and every attention probability from
:func:`attnviz.scaled_dot_product_attention`. Nothing is ever downloaded.

>>> from attnviz import models
>>> m = models.load("~/models/all-MiniLM-L6-v2")                       # doctest: +SKIP
>>> m.tokenize("The cat sat.")                                         # doctest: +SKIP
['[CLS]', 'the', 'cat', 'sat', '.', '[SEP]']
>>> m.attentions("The cat sat.").shape                                 # doctest: +SKIP
(6, 12, 6, 6)
>>> [e.name for e in models.discover() if e.compatible]                # doctest: +SKIP
>>> g = models.Generation(models.load("~/models/gpt2"), "The cat")     # doctest: +SKIP
>>> g.run(5); g.continuation()                                         # doctest: +SKIP

Families: BERT-style encoders (BERT, sentence-transformers MiniLM), GPT-2-style decoders, and
Llama-style decoders (Llama, Mistral, Qwen2; RoPE, grouped-query attention).
"""

from attnviz.models.attention_file import AttentionFile, load_attention_file
from attnviz.models.discovery import ModelEntry, discover, hf_cache_dir
from attnviz.models.errors import ModelError
from attnviz.models.generation import Generation, GenerationStep, Sampling
from attnviz.models.model import Model, ModelInfo, ModelSpec, ModelTrace, inspect, load
from attnviz.models.tokenizer import Encoding

__all__ = [
    "AttentionFile",
    "Encoding",
    "Generation",
    "GenerationStep",
    "Model",
    "ModelEntry",
    "ModelError",
    "ModelInfo",
    "ModelSpec",
    "ModelTrace",
    "Sampling",
    "discover",
    "hf_cache_dir",
    "inspect",
    "load",
    "load_attention_file",
]
