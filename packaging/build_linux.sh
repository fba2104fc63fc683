#!/usr/bin/env bash
# Build attnviz for Linux in one command: the PyInstaller one-folder bundle, a tarball and a
# .deb (app under /opt/attnviz, `attnviz` on PATH, desktop entry and icon). Prints sizes, the
# build time and the oldest glibc the bundle needs.
#
#   bash packaging/build_linux.sh            (from a fresh clone: sets up .venv as README's
#                                             commands do, through `bash .ci/dev setup`)
#
# Output: build/linux/{dist/attnviz/, attnviz-VERSION-linux-x86_64.tar.gz, attnviz_VERSION_amd64.deb,
# build-info.txt}.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
  bash .ci/dev setup  # the virtual environment and Debian packages README's commands set up
fi
py=${PYTHON:-.venv/bin/python}
out=build/linux
name=$("$py" -c 'import tomllib; print(tomllib.load(open("pyproject.toml","rb"))["project"]["name"])')
version=$("$py" -c 'import tomllib; print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')
"$py" -c "import PyInstaller" 2>/dev/null || "$py" -m pip install -q "pyinstaller>=6.10"

t0=$(date +%s)
rm -rf "$out"
"$py" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$out/dist" --workpath "$out/work" packaging/attnviz.spec
bundle="$out/dist/$name"
t1=$(date +%s)

tarball="$out/$name-$version-linux-x86_64.tar.gz"
tar -C "$out/dist" -czf "$tarball" "$name"

pkg="$out/deb/${name}_${version}_amd64"
mkdir -p "$pkg/DEBIAN" "$pkg/opt" "$pkg/usr/bin" "$pkg/usr/share/applications" \
  "$pkg/usr/share/icons/hicolor/scalable/apps"
cp -a "$bundle" "$pkg/opt/$name"
ln -s "/opt/$name/$name" "$pkg/usr/bin/$name"
cp resources/attnviz.desktop "$pkg/usr/share/applications/$name.desktop"
cp resources/attnviz.svg "$pkg/usr/share/icons/hicolor/scalable/apps/$name.svg"
installed_kb=$(du -sk "$pkg" | cut -f1)
cat > "$pkg/DEBIAN/control" <<CONTROL
Package: $name
Version: $version
Architecture: amd64
Maintainer: attnviz developers <attnviz@users.noreply.invalid>
Installed-Size: $installed_kb
Section: education
Priority: optional
Depends: libc6 (>= GLIBC_FLOOR), libstdc++6, libgcc-s1, libexpat1, libgl1, libegl1, libfontconfig1, libfreetype6, libglib2.0-0, libdbus-1-3, libx11-6, libxkbcommon0, libxkbcommon-x11-0, libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, libxcb-image0, libxcb-render-util0, libxcb-randr0, libxcb-shape0, libxcb-xinerama0, libxcb-xkb1, fonts-dejavu-core
Description: see, step by step and with real numbers, how transformer attention works
 attnviz shows attention in transformers with live numbers: token attention, Q/K/V step by
 step, score heatmaps, softmax temperature, causal masks and more, and exports figures for
 slides. This build computes on the CPU and needs no network.
CONTROL
floor=$("$py" packaging/glibc_floor.py "$bundle" --top 0 | sed -n 's/^glibc floor: \([0-9.]*\).*/\1/p')
sed -i "s/GLIBC_FLOOR/$floor/" "$pkg/DEBIAN/control"
deb="$out/${name}_${version}_amd64.deb"
dpkg-deb --root-owner-group -Zgzip --build "$pkg" "$deb" >/dev/null
t2=$(date +%s)

size() { du -sh "$1" | cut -f1; }
{
  echo "version: $version"
  echo "bundle: $(size "$bundle") ($bundle)"
  echo "tarball: $(size "$tarball") ($tarball)"
  echo "deb: $(size "$deb") ($deb)"
  echo "pyinstaller seconds: $((t1 - t0))"
  echo "total seconds: $((t2 - t0))"
  "$py" packaging/glibc_floor.py "$bundle" --top 5
} | tee "$out/build-info.txt"
