# Build attnviz for Windows: the PyInstaller one-folder bundle and an installer (.exe, Inno Setup).
# NOT built or tested on the project's Linux machines; run it on Windows 10/11 with Python 3.11+
# and Inno Setup 6 (https://jrsoftware.org/isinfo.php, `choco install innosetup`).
#
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")
python -m venv build\winvenv
build\winvenv\Scripts\python -m pip install --upgrade pip
build\winvenv\Scripts\python -m pip install . "pyinstaller>=6.10" pillow
# Windows wants an .ico: make one from the SVG icon through Qt, which is installed already.
build\winvenv\Scripts\python -c "from PySide6.QtGui import QGuiApplication, QIcon; a = QGuiApplication([]); QIcon('resources/attnviz.svg').pixmap(256, 256).save('build/icon.png')"
build\winvenv\Scripts\python -c "from PIL import Image; Image.open('build/icon.png').save('build/icon.ico', sizes=[(16,16),(32,32),(48,48),(256,256)])"
build\winvenv\Scripts\python -m PyInstaller --noconfirm --clean --distpath build\windows\dist --workpath build\windows\work packaging\attnviz.spec
$version = build\winvenv\Scripts\python -c "import tomllib; print(tomllib.load(open('pyproject.toml','rb'))['project']['version'])"
& "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" "/DAppVersion=$version" packaging\windows\attnviz.iss
# Smoke test: the frozen app exports every panel without a window.
build\windows\dist\attnviz\attnviz.exe export --all build\windows\smoke --format png
Get-ChildItem build\windows\*.exe | ForEach-Object { "{0}: {1:N1} MB" -f $_.Name, ($_.Length / 1MB) }
