#!/usr/bin/env bash
# Build attnviz for macOS: attnviz.app (PyInstaller) inside a .dmg. NOT built or tested on the
# project's Linux machines; run it on macOS 12+ with Python 3.11+ (python.org or Homebrew).
#
#   bash packaging/macos/build.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -m venv build/macvenv
build/macvenv/bin/python -m pip install --upgrade pip
build/macvenv/bin/python -m pip install . "pyinstaller>=6.10"
# macOS wants an .icns: render the SVG through Qt, then let iconutil build the set.
mkdir -p build/icon.iconset
for s in 16 32 128 256 512; do
  build/macvenv/bin/python -c "import sys; from PySide6.QtGui import QGuiApplication, QIcon; a = QGuiApplication([]); QIcon('resources/attnviz.svg').pixmap($s, $s).save('build/icon.iconset/icon_${s}x${s}.png')"
done
iconutil -c icns build/icon.iconset -o build/icon.icns
build/macvenv/bin/python -m PyInstaller --noconfirm --clean \
  --distpath build/macos/dist --workpath build/macos/work packaging/attnviz.spec
version=$(build/macvenv/bin/python -c 'import tomllib; print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')
hdiutil create -volname attnviz -srcfolder build/macos/dist/attnviz.app -ov -format UDZO \
  "build/macos/attnviz-$version-macos.dmg"
# Smoke test: the frozen app exports every panel without a window.
build/macos/dist/attnviz.app/Contents/MacOS/attnviz export --all build/macos/smoke --format png
du -sh build/macos/*.dmg
