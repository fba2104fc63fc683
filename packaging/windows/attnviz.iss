; Inno Setup script for attnviz (used by packaging/windows/build.ps1). Not built on Linux.
#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
[Setup]
AppName=attnviz
AppVersion={#AppVersion}
AppPublisher=attnviz developers
DefaultDirName={autopf}\attnviz
DefaultGroupName=attnviz
OutputDir=..\..\build\windows
OutputBaseFilename=attnviz-{#AppVersion}-windows-x64-setup
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequiredOverridesAllowed=dialog
Compression=lzma2
SolidCompression=yes
SetupIconFile=..\..\build\icon.ico

[Files]
Source: "..\..\build\windows\dist\attnviz\*"; DestDir: "{app}"; Flags: recursesubdirs ignoreversion

[Icons]
Name: "{group}\attnviz"; Filename: "{app}\attnviz.exe"; Parameters: "gui"
Name: "{autodesktop}\attnviz"; Filename: "{app}\attnviz.exe"; Parameters: "gui"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked
