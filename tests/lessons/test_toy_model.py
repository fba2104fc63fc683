"""The toy model's heads show the patterns they are built for, computed by the core."""

import numpy as np
import pytest

import attnviz
from attnviz.lessons import SCENES, TextError, get_scene
from attnviz.lessons.toy_model import build_toy_model, embed, tokenize


def weights(text, head):
    m = build_toy_model()
    x = embed(tokenize(text))
    _, w = attnviz.scaled_dot_product_attention(
        x @ m.wq[head], x @ m.wk[head], x @ m.wv[head], return_weights=True
    )
    return w


CAT = SCENES["cat"].text


def test_previous_token_head():
    w = weights(CAT, 0)
    assert all(int(np.argmax(w[i])) == i - 1 for i in range(1, len(w)))


def test_same_position_head():
    w = weights(CAT, 1)
    assert all(int(np.argmax(w[i])) == i for i in range(len(w)))


def test_pronoun_head_links_it_to_cat_not_mat():
    toks = tokenize(CAT)
    row = weights(CAT, 2)[toks.index("it")]
    assert toks[int(np.argmax(row))] == "cat"
    assert row[toks.index("cat")] > 3 * row[toks.index("mat")]


def test_verb_head_looks_at_nouns():
    toks = tokenize(CAT)
    row = weights(CAT, 3)[toks.index("sat")]
    assert toks[int(np.argmax(row))] in ("cat", "mat")


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("I love this game !", ["I", "love", "this", "game", "!"]),
        ("don't stop", ["don't", "stop"]),
        ("cats 🐈‍⬛ sleep", ["cats", "🐈‍⬛", "sleep"]),
        ("שלום עולם", ["שלום", "עולם"]),
    ],
)
def test_tokenize(text, tokens):
    assert tokenize(text) == tokens


def test_unknown_words_get_stable_features():
    a, b = embed(["zebra"]), embed(["zebra"])
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(embed(["zebra"])[0, :8], embed(["yak"])[0, :8])


def test_scenes_build_and_refuse_bad_text():
    for scene in SCENES.values():
        built = scene.build("a few words")
        assert built.x.shape == (len(built.tokens), built.wq.shape[1])
    with pytest.raises(TextError, match="empty"):
        get_scene("free").build("   ")
    with pytest.raises(ValueError, match="unknown scene"):
        get_scene("nope")
