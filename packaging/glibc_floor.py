"""The oldest glibc a folder of binaries can run on: the highest GLIBC_x.y any of them needs.

    python packaging/glibc_floor.py build/linux/dist/attnviz [--top 5]

Reads every ELF file's dynamic symbol versions with `objdump -T` (binutils).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

_GLIBC = re.compile(r"GLIBC_(\d+)\.(\d+)(?:\.(\d+))?")


def needs(path: Path) -> tuple[int, ...] | None:
    """The newest GLIBC symbol version ``path`` asks for, or None for non-ELF files."""
    with open(path, "rb") as fh:
        if fh.read(4) != b"\x7fELF":
            return None
    out = subprocess.run(["objdump", "-T", str(path)], capture_output=True, text=True).stdout
    versions = [tuple(int(x) for x in m.groups() if x) for m in _GLIBC.finditer(out)]
    return max(versions) if versions else (0,)


def floor(folder: Path) -> tuple[tuple[int, ...], list[tuple[tuple[int, ...], Path]]]:
    found = []
    for p in folder.rglob("*"):
        if p.is_file() and not p.is_symlink():
            v = needs(p)
            if v is not None:
                found.append((v, p))
    found.sort(reverse=True)
    return (found[0][0] if found else (0,)), found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--top", type=int, default=5)
    args = ap.parse_args()
    best, found = floor(args.folder)
    print(f"glibc floor: {'.'.join(map(str, best))} ({len(found)} ELF files)")
    for v, p in found[: args.top]:
        print(f"  {'.'.join(map(str, v)):<8} {p.relative_to(args.folder)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
