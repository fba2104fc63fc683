"""The app's explanatory text, one short paragraph per panel, in our own words."""

from __future__ import annotations

PANEL_TEXT: dict[str, str] = {
    "token_attention": (
        "Pick a word. Its query is compared with every word's key, and the softmax of those "
        "scores says how much of each word's value flows into the picked word's new "
        'representation. Bars and line widths are those weights; they add up to 1. Try "it" '
        "in the cat sentence with the pronoun head."
    ),
    "qkv_steps": (
        "Each token's embedding row x is multiplied by three matrices: Wq gives the query "
        "(what this token is looking for), Wk the key (what it offers to be found by), Wv the "
        "value (what it passes on). Step through Q·Kᵀ, the division by √d_k, the mask, the "
        "softmax and the weighted sum of values. Edit a cell of X or of a W and every later "
        "step is recomputed. The numbers are a hand-built illustration, not a trained model."
    ),
    "score_heatmap": (
        "Row i is the query token, column j the key token, and the colour is the weight of j "
        "in i's softmax. Every row sums to 1, so tokens compete for a row's attention; columns "
        "need not sum to anything. Hover for a value, click a row to inspect it."
    ),
    "softmax_temperature": (
        "Softmax turns scores into weights that are positive and sum to 1. Dividing the "
        "scores by a temperature T first changes how decisive it is: small T puts nearly "
        "everything on the largest score (T → 0 is the argmax), large T spreads the weight "
        "towards uniform. Entropy measures the spread. This is a knob on attention's softmax, "
        "not the sampling temperature used when a model picks its next word, although the "
        "formula is the same."
    ),
    "causal_mask": (
        "A decoder that writes text left to right must not read words it has not written "
        "yet. Before the softmax, the scores of later keys are set to −∞, so their weight is "
        "exactly 0 and each row shares its weight among the earlier keys and itself. Compare "
        "the two heatmaps, and the difference, to see where the weight moved."
    ),
}
