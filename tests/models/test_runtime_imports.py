"""At run time attnviz.models needs neither torch, transformers nor Qt."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np

from tests.models import builders as B

FORBIDDEN = ("torch", "transformers", "PySide6", "pyqtgraph", "superqt")


def test_load_and_run_without_torch_or_qt(tmp_path):
    B.llama(tmp_path, B.write_llama_tokenizer_json(tmp_path))
    np.savez(
        tmp_path / "att.npz", attention=np.full((1, 1, 2, 2), 0.5), tokens=np.array(["a", "b"])
    )
    code = textwrap.dedent(f"""
        import sys
        import attnviz.models as M
        m = M.load({str(tmp_path)!r})
        assert m.attentions("the cat").ndim == 4
        M.discover([{str(tmp_path)!r}], include_cache=False)
        M.load_attention_file({str(tmp_path / "att.npz")!r})
        print(sorted(m for m in {FORBIDDEN!r} if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
