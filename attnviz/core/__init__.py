"""The compute core: attention maths on NumPy semantics, free of Qt and of any GPU library."""

from attnviz.core.attention import AttentionTrace, attention_trace
from attnviz.core.flash import FlashResult, flash_attention
from attnviz.core.heads import merge_heads, repeat_kv, split_heads
from attnviz.core.kv_cache import KVCache, kv_cache_bytes
from attnviz.core.memory import attention_cost
from attnviz.core.softmax import entropy, hardmax, softmax

__all__ = [
    "AttentionTrace",
    "FlashResult",
    "KVCache",
    "attention_cost",
    "attention_trace",
    "entropy",
    "flash_attention",
    "hardmax",
    "kv_cache_bytes",
    "merge_heads",
    "repeat_kv",
    "softmax",
    "split_heads",
]
