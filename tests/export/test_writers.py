"""Qt-free export: formats, figure specs, data files and safe writes."""

import errno
import json

import numpy as np
import pytest

from attnviz.export import ExportError, FigureSpec, format_for, safe_write, write_data

DATA = {
    "weights": np.array([[0.25, 0.75], [1.0, 0.0]]),
    "tokens": ["le", "chat"],
    "scores": np.array([[1.5, -np.inf], [0.5, 2.0]]),
    "temperature": 0.5,
}


def test_format_from_extension_and_name():
    assert format_for("a/b.PNG").name == "png"
    assert format_for("x.bin", "svg").name == "svg"
    with pytest.raises(ExportError, match="cannot tell the format"):
        format_for("figure.bmp")
    with pytest.raises(ExportError, match="unknown format 'gif'"):
        format_for("x", "gif")
    with pytest.raises(ExportError, match="csv is not a figure format"):
        format_for("x.csv", kind="figure")


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        (dict(format="csv"), "figure format"),
        (dict(scale=0.5), "scale must lie between 1 and 4"),
        (dict(scale=float("nan")), "scale"),
        (dict(dpi=10), "dpi must lie between"),
        (dict(style="poster"), "style"),
        (dict(background="pink"), "background"),
        (dict(width=10), "out of range"),
    ],
)
def test_figure_spec_refuses_nonsense(kw, match):
    with pytest.raises(ExportError, match=match):
        FigureSpec(**kw)


def test_pixel_ratio_from_scale_or_dpi():
    assert FigureSpec(scale=3, style="screen").pixel_ratio == 3
    assert FigureSpec(scale=1).pixel_ratio == 1.5  # a 1280 x 720 layout page: 1920 x 1080 px
    assert FigureSpec(dpi=192).pixel_ratio == 2
    assert FigureSpec().size == (1280, 720) and FigureSpec(aspect="4:3").size == (960, 720)
    assert FigureSpec(style="screen", width=900, height=600).size == (900, 600)


def test_csv_has_token_labels_and_keeps_minus_infinity(tmp_path):
    path = write_data(DATA, tmp_path / "w.csv")
    lines = path.read_text().splitlines()
    assert lines[0] == "weights,le,chat"
    assert lines[1].startswith("le,0.25,0.75")
    write_data({"scores": DATA["scores"], "tokens": DATA["tokens"]}, tmp_path / "s.csv")
    assert "-inf" in (tmp_path / "s.csv").read_text()


def test_npz_round_trips_without_pickle(tmp_path):
    path = write_data(DATA, tmp_path / "w.npz")
    with np.load(path, allow_pickle=False) as z:
        np.testing.assert_array_equal(z["weights"], DATA["weights"])
        assert z["tokens"].tolist() == ["le", "chat"]
        assert float(z["temperature"]) == 0.5


def test_json_writes_null_for_infinity(tmp_path):
    path = write_data(DATA, tmp_path / "w.json")
    d = json.loads(path.read_text())
    assert d["tokens"] == ["le", "chat"] and d["scores"][0] == [1.5, None]


def test_empty_data_and_wrong_kind_are_refused(tmp_path):
    with pytest.raises(ExportError, match="no numbers"):
        write_data({}, tmp_path / "x.csv")
    with pytest.raises(ExportError, match="not a data format"):
        write_data(DATA, tmp_path / "x.png")
    with pytest.raises(ExportError, match="no table"):
        write_data({"tokens": ["a"]}, tmp_path / "x.csv")


def test_missing_folder_says_so_and_leaves_nothing(tmp_path):
    with pytest.raises(ExportError, match="the folder does not exist"):
        write_data(DATA, tmp_path / "no" / "such" / "w.csv")
    assert not (tmp_path / "no").exists()


def test_a_full_disk_leaves_nothing_partial(tmp_path):
    target = tmp_path / "fig.png"
    target.write_bytes(b"old figure")

    def fill_disk(p):
        p.write_bytes(b"half a fig")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(ExportError, match="the disk is full"):
        safe_write(target, fill_disk)
    assert target.read_bytes() == b"old figure"  # the previous file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]  # no temporary left behind


def test_writing_onto_a_folder_is_refused(tmp_path):
    (tmp_path / "figs.csv").mkdir()
    with pytest.raises(ExportError, match="that is a folder"):
        write_data(DATA, tmp_path / "figs.csv")


def test_written_files_are_readable_by_others(tmp_path):
    path = write_data(DATA, tmp_path / "w.json")
    assert path.stat().st_mode & 0o044 == 0o044


def test_cosmetic_strokes_are_baked_into_coordinates():
    import xml.etree.ElementTree as ET

    from attnviz.export.svg import bake_cosmetic_strokes

    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
        '<g stroke="red" stroke-width="2" transform="matrix(10,0,0,20,5,7)">'
        '<polyline fill="none" vector-effect="non-scaling-stroke" points="0,0 1,2 " />'
        '<path vector-effect="non-scaling-stroke" d="M0,1 L2,3 Z" />'
        '<rect x="1" y="1" width="2" height="3" />'
        "</g></svg>"
    )
    out = ET.fromstring(bake_cosmetic_strokes(svg))
    ns = "{http://www.w3.org/2000/svg}"
    poly = next(out.iter(f"{ns}polyline"))
    assert poly.get("points") == "5,7 15,47" and poly.get("vector-effect") is None
    assert next(out.iter(f"{ns}path")).get("d") == "M 5,27 L 25,67 Z"
    groups = list(out.iter(f"{ns}g"))
    baked = [g for g in groups if g.get("transform") is None]
    assert baked and baked[0].get("stroke-width") == "2"  # the width stays in device units
    kept = [g for g in groups if g.get("transform")]
    assert next(kept[0].iter(f"{ns}rect")).get("width") == "2"  # a scaling element is kept


def test_relative_paths_are_left_alone():
    from attnviz.export.svg import bake_cosmetic_strokes

    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg"><g transform="matrix(2,0,0,2,0,0)">'
        '<path vector-effect="non-scaling-stroke" d="m0,1 l2,3" /></g></svg>'
    )
    assert 'd="m0,1 l2,3"' in bake_cosmetic_strokes(svg)
