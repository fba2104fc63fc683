"""Marian tokenizers as opus-mt ships them (source.spm + target.spm + vocab.json) against
transformers' ``MarianTokenizer``: ids, tokens, target side and decoding on odd strings, with
shared and separate vocabularies; then a tiny Marian that has only these files, end to end.

The SentencePiece models are trained here, offline, on a few French and English sentences; the
vocabulary is built as Marian builds it: </s>, <unk>, the pieces of both models, <pad> last.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import sentencepiece as spm

import attnviz.models as M
from attnviz.models.encoder_decoder import forward_pair, greedy_ids, translate
from attnviz.models.marian_tokenizer import KIND, MarianTokenizer
from attnviz.models.tokenizer import load_tokenizer, tokenizer_files
from tests.models import builders as B
from tests.models.test_encoder_decoder import _generate, check

FRENCH = [
    "Le chat est assis sur le tapis.",
    "Où est la bibliothèque ? Elle est fermée aujourd'hui.",
    "Les élèves étudient le français à l'école.",
    "Je voudrais un café, s'il vous plaît.",
    "Il fait très beau en été, mais l'hiver est froid.",
    "Ça coûte vingt-cinq euros.",
    "Nous allons à la plage demain matin.",
    "La forêt est grande et les arbres sont verts.",
    "Le chien court vite dans le jardin.",
]
ENGLISH = [
    "The cat sat on the mat.",
    "Where is the library? It is closed today.",
    "The students study French at school.",
    "I would like a coffee, please.",
    "It is very nice in summer, but the winter is cold.",
    "That costs twenty-five euros.",
    "We are going to the beach tomorrow morning.",
    "The forest is big and the trees are green.",
    "The dog runs fast in the garden.",
]
CODES = [">>fra<<", ">>eng<<"]  # language codes, as multilingual opus-mt vocabularies hold them
ODD = [
    "",
    " ",
    "\n\t",
    "Le chat est assis.",
    "   Le   chat\test  assis.  ",
    "Où est la forêt ? Ça coûte 25 € !",
    "ÉTÉ naïve cœur Noël",
    "emoji 😀👍🏽 ok",
    "ﬁ ① Ａ² ｶ",  # NFKC folds these inside SentencePiece
    "日本語",
    "a\u200bb\u00a0c",
    ">>fra<< Le chat",
    ">>fra<<Le chat",
    ">>xyz<< le chat",  # a code the vocabulary lacks: <unk>
    " >>fra<< le chat",  # not leading: SentencePiece reads it
    "le chat </s> le chien</s>",
    "</s>",
    "</s>>>eng<< the dog",
    "<unk> <pad> le",
    "x  </s>  >>fra<< y",
]
SOURCE = "Le chat est assis sur le tapis."
TARGET = "The cat sat on the mat."


def _train(lines: list[str], size: int, byte_fallback: bool = False) -> bytes:
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines * 3), model_writer=out, vocab_size=size,
        model_type="unigram", hard_vocab_limit=False, character_coverage=1.0,
        byte_fallback=byte_fallback, num_threads=1, minloglevel=2,
    )  # fmt: skip
    return out.getvalue()


def _pieces(model: bytes) -> list[str]:
    sp = spm.SentencePieceProcessor(model_proto=model)
    return [sp.id_to_piece(i) for i in range(sp.get_piece_size())]


def _marian_vocab(*models: bytes) -> dict[str, int]:
    """Marian's vocab.json: </s>, <unk>, the language codes, every piece of ``models`` (first
    seen first, SentencePiece's own control pieces left out), <pad> last."""
    out = ["</s>", "<unk>", *CODES]
    for model in models:
        out += [p for p in _pieces(model) if p not in ("<unk>", "<s>", "</s>", *out)]
    return {p: i for i, p in enumerate([*out, "<pad>"])}


@pytest.fixture(scope="module")
def spm_models() -> tuple[bytes, bytes]:
    """(source.spm, target.spm): French with a little English, and the other way round. The
    source model falls back to bytes ("<0xF0>") where the target's has <unk>, so the two
    decode some pieces differently: decoding shows which one it used."""
    return _train(FRENCH + ENGLISH[:2], 400, byte_fallback=True), _train(ENGLISH + FRENCH[:2], 120)


def write_marian_tokenizer(
    folder: Path, models: tuple[bytes, bytes], *, separate: bool = False, **config
) -> dict[str, int]:
    """The opus-mt tokenizer files in ``folder``; returns the (source) vocabulary."""
    folder.mkdir(parents=True, exist_ok=True)
    src, tgt = models
    (folder / "source.spm").write_bytes(src)
    (folder / "target.spm").write_bytes(tgt)
    vocab = _marian_vocab(src) if separate else _marian_vocab(src, tgt)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    if separate:
        target = json.dumps(_marian_vocab(tgt), ensure_ascii=False)
        (folder / "target_vocab.json").write_text(target, encoding="utf-8")
    config = {"separate_vocabs": separate, **config}
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return vocab


def reference(folder: Path):
    """transformers' MarianTokenizer of ``folder`` (it only suggests sacremoses, never uses it)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Recommended: pip install sacremoses")
        return B.transformers.MarianTokenizer.from_pretrained(folder)


@pytest.fixture(params=[False, True], ids=["shared-vocab", "separate-vocabs"])
def marian_dir(request, tmp_path, spm_models) -> Path:
    write_marian_tokenizer(tmp_path, spm_models, separate=request.param)
    return tmp_path


# -- parity with MarianTokenizer ---------------------------------------------------------------
@pytest.mark.parametrize("text", ODD)
def test_source_ids_and_tokens_equal_marian_tokenizer(marian_dir, text):
    ours, ref = load_tokenizer(marian_dir), reference(marian_dir)
    enc, ids = ours.encode(text), ref(text)["input_ids"]
    assert enc.ids.tolist() == ids
    # The source vocabulary names them (MarianTokenizer.convert_ids_to_tokens would use the
    # target's when the vocabularies are separate).
    source_tokens = {i: t for t, i in ref.encoder.items()}
    assert enc.tokens == tuple(source_tokens[i] for i in ids)
    assert enc.labels == enc.tokens and enc.segments == (0,) * len(enc)
    assert enc.special[-1] and enc.tokens[-1] == "</s>"
    bare = ours.encode(text, special=False)
    assert bare.ids.tolist() == ref(text, add_special_tokens=False)["input_ids"] == ids[:-1]


@pytest.mark.parametrize("text", ODD)
def test_target_side_equals_text_target(marian_dir, text):
    ours, ref = load_tokenizer(marian_dir), reference(marian_dir)
    ids = ref(text_target=text)["input_ids"]
    assert ids[-1] == ref.eos_token_id
    ids = ids[:-1]  # the decoder reads its start token, then these
    if ref.separate_vocabs:
        # MarianTokenizer gives special tokens typed in the target text their *source* ids;
        # attnviz gives them the target vocabulary's (the decoder's) ids. Elsewhere the same.
        ref._switch_to_target_mode()
        tokens = ref.tokenize(text)
        ref._switch_to_input_mode()
        unk = ref.target_encoder["<unk>"]
        target_ids = [ref.target_encoder.get(t, unk) for t in tokens]
        added = set(ref.added_tokens_encoder)
        assert [i for i, t in zip(ids, tokens, strict=True) if t not in added] == [
            i for i, t in zip(target_ids, tokens, strict=True) if t not in added
        ]
        ids = target_ids
    assert ours.encode_target(text).ids.tolist() == ids
    assert ours.from_ids(ids).tokens == tuple(ref.decoder[i] for i in ids)  # target vocabulary


def test_target_side_reads_its_own_model_and_vocabulary(tmp_path, spm_models):
    """The two sides differ (else the target comparisons above prove nothing)."""
    for separate in (False, True):
        folder = tmp_path / str(separate)
        write_marian_tokenizer(folder, spm_models, separate=separate)
        tok = load_tokenizer(folder)
        for text in (SOURCE, TARGET):
            src, tgt = tok.encode(text, special=False), tok.encode_target(text)
            assert src.ids.tolist() != tgt.ids.tolist()
            assert (src.ids != 1).mean() > 0.9 and (tgt.ids != 1).mean() > 0.9  # few <unk>
        if separate:
            # The target vocabulary orders the target's pieces first: its ids are its own.
            target = json.loads((folder / "target_vocab.json").read_text(encoding="utf-8"))
            assert [target[t] for t in tok.encode_target(TARGET).tokens] == (
                tok.encode_target(TARGET).ids.tolist()
            )


def test_decode_equals_marian_decode(marian_dir):
    ours, ref = load_tokenizer(marian_dir), reference(marian_dir)
    rng = np.random.default_rng(0)
    n = len(ref.decoder)  # decoder ids: the target vocabulary
    samples = [ref(text_target=t)["input_ids"] for t in ODD]
    samples += [rng.integers(0, n, size=k).tolist() for k in (1, 5, 12, 30) for _ in range(5)]
    samples.append([n - 1, 0, 1, 2, 3])  # <pad>, </s>, <unk>, two language codes
    if ref.separate_vocabs:
        # MarianTokenizer skips the *source* ids of the special tokens; the target's <pad>
        # (another id) it would write out as "<pad>". attnviz skips the target's specials.
        assert ours.decode([n - 1]) == "" and ref.decode([n - 1], skip_special_tokens=True)
        samples = [[i for i in ids if i != n - 1] for ids in samples]
    for ids in samples:
        assert ours.decode(ids) == ref.decode(ids, skip_special_tokens=True), ids
        assert ours.decode(np.asarray(ids)) == ours.decode(ids)
    assert ours.decode(ref(text_target=TARGET)["input_ids"]) == TARGET


def test_added_tokens_and_clean_up_from_tokenizer_config(tmp_path, spm_models):
    """tokenizer_config.json's added_tokens_decoder (lstrip/rstrip around </s>) and
    clean_up_tokenization_spaces are honoured as MarianTokenizer honours them."""
    strip = {"lstrip": True, "rstrip": True, "special": True, "normalized": False}
    write_marian_tokenizer(
        tmp_path, spm_models, clean_up_tokenization_spaces=True,
        added_tokens_decoder={"0": {"content": "</s>", **strip}},
    )  # fmt: skip
    ours, ref = load_tokenizer(tmp_path), reference(tmp_path)
    for text in (*ODD, "le chat , le chien ."):
        assert ours.encode(text).ids.tolist() == ref(text)["input_ids"], text
        ids = ref(text_target=text)["input_ids"]
        assert ours.decode(ids) == ref.decode(ids, skip_special_tokens=True), text
    tokens = ours.encode("x  </s>  >>fra<< y").tokens
    assert tokens[tokens.index("</s>") + 1] == ">>fra<<"  # stripped: a leading code again


def test_language_code_is_one_token(tmp_path, spm_models):
    vocab = write_marian_tokenizer(tmp_path, spm_models)
    tok = load_tokenizer(tmp_path)
    assert tok.encode(">>fra<< Le chat").ids[0] == vocab[">>fra<<"]
    assert tok.encode(">>xyz<< Le chat").tokens[0] == "<unk>"
    assert ">>fra<<" not in tok.encode("le >>fra<< chat").tokens


# -- the layout, its interface and its errors --------------------------------------------------
def test_layout_is_found_and_named(tmp_path, spm_models):
    vocab = write_marian_tokenizer(tmp_path, spm_models)
    assert tokenizer_files(tmp_path) == "source.spm + target.spm + vocab.json"
    tok = load_tokenizer(tmp_path)
    assert isinstance(tok, MarianTokenizer) and tok.kind == KIND
    assert tok.source == tmp_path / "source.spm"
    assert tok.vocab_size == len(vocab) == len(reference(tmp_path))
    with pytest.raises(M.ModelError, match="one source text"):
        tok.encode("le chat", "le chien")
    with pytest.raises(TypeError, match="must be a str"):
        tok.encode(b"le chat")
    # tokenizer.json, when a folder has one, still comes first.
    B.write_seq2seq_tokenizer_json(tmp_path, ["</s>", "<unk>"], "$A </s>")
    assert tokenizer_files(tmp_path) == "tokenizer.json"
    assert load_tokenizer(tmp_path).kind == "tokenizer.json"


def _corrupt(path: Path) -> None:
    path.write_bytes(b"\x80\x04\x95 not a SentencePiece model")  # a pickle's first bytes


@pytest.mark.parametrize(
    ("damage", "separate", "fragments"),
    [
        (lambda d: (d / "target.spm").unlink(), False, ("target.spm", "missing")),
        (lambda d: (d / "vocab.json").unlink(), False, ("vocab.json", "missing")),
        (lambda d: _corrupt(d / "source.spm"), False, ("cannot read source.spm",)),
        (lambda d: _corrupt(d / "target.spm"), False, ("cannot read target.spm",)),
        (lambda d: (d / "vocab.json").write_text("{"), False, ("vocab.json", "not valid JSON")),
        (lambda d: (d / "vocab.json").write_text("[1]"), False, ("vocab.json", "JSON object")),
        (lambda d: (d / "vocab.json").write_text('{"</s>": 0, "<unk>": "1"}'), False,
         ("vocab.json", "'<unk>'", "non-negative integer")),
        (lambda d: (d / "vocab.json").write_text('{"</s>": 0, "a": 1}'), False,
         ("vocab.json", "lacks the unk_token '<unk>'")),
        (lambda d: (d / "target_vocab.json").unlink(), True, ("target_vocab.json", "missing")),
        (lambda d: (d / "target_vocab.json").write_text('{"</s>": true}'), True,
         ("target_vocab.json",)),
        (lambda d: (d / "tokenizer_config.json").write_text("{"), False,
         ("tokenizer_config.json", "not valid JSON")),
    ],
)  # fmt: skip
def test_broken_files_are_named(tmp_path, spm_models, damage, separate, fragments):
    write_marian_tokenizer(tmp_path, spm_models, separate=separate)
    damage(tmp_path)
    with pytest.raises(M.ModelError) as info:
        load_tokenizer(tmp_path)
    for f in fragments:
        assert f in str(info.value), f"{f!r} not in {str(info.value)!r}"


def test_sentencepiece_is_imported_only_when_read(tmp_path, spm_models):
    write_marian_tokenizer(tmp_path, spm_models)
    code = textwrap.dedent(f"""
        import sys
        import attnviz.models as M
        from attnviz.models.tokenizer import load_tokenizer, tokenizer_files
        from pathlib import Path
        tokenizer_files(Path({str(tmp_path)!r}))
        print("sentencepiece" in sys.modules)
        load_tokenizer(Path({str(tmp_path)!r}))
        print("sentencepiece" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"], out.stdout + out.stderr


# -- end to end: a tiny Marian with only the files opus-mt ships -------------------------------
def test_marian_with_spm_files_loads_and_translates(tmp_path, spm_models):
    vocab = write_marian_tokenizer(tmp_path / "tok", spm_models)
    pad = vocab["<pad>"]
    B.marian(
        tmp_path, vocab_size=len(vocab), pad_token_id=pad, decoder_start_token_id=pad,
        eos_token_id=vocab["</s>"],
    )  # fmt: skip
    (tmp_path / "tokenizer.json").unlink()
    for f in (tmp_path / "tok").iterdir():
        shutil.move(f, tmp_path / f.name)
    ref = reference(tmp_path)

    model, pair = check(tmp_path, SOURCE, TARGET)  # all three attentions against transformers
    assert model.info.tokenizer == KIND
    assert pair.encoder.ids.tolist() == ref(SOURCE)["input_ids"]
    assert pair.decoder.ids.tolist() == [pad, *ref(text_target=TARGET)["input_ids"][:-1]]
    assert pair.decoder.tokens[0] == "<pad>" and pair.encoder.tokens[-1] == "</s>"

    ids = greedy_ids(model, SOURCE, 10)
    assert ids.tolist() == _generate(tmp_path, model, SOURCE, 10)
    assert translate(model, SOURCE, 10) == ref.decode(ids, skip_special_tokens=True)
    again = forward_pair(model, ">>fra<< " + SOURCE, "")
    assert again.encoder.tokens[0] == ">>fra<<" and len(again.decoder) == 1
