#!/usr/bin/env bash
# Install attnviz's .deb into a clean Debian 12 system and use it as a lecturer would: apt
# resolves its Depends from Debian's archive, `attnviz info` and `attnviz export --all` run from
# /usr/bin, the desktop entry validates, and `apt-get remove --purge` leaves no file of ours.
#
#   sudo bash packaging/test_deb.sh [build/linux/attnviz_VERSION_amd64.deb]
#
# Needs root (debootstrap, chroot) and Debian's archive. The clean system (debootstrap's minbase
# variant of bookworm, ~25 s to make) is kept as a tarball in build/debian12/ and unpacked
# afresh for every run, so each run starts from the same clean system. Prints the seconds of
# each step.
set -euo pipefail
cd "$(dirname "$0")/.."
deb=${1:-$(ls build/linux/attnviz_*_amd64.deb 2>/dev/null | head -1)}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${ATTNVIZ_DEB_CACHE:-build/debian12}
if [ -z "$deb" ] || [ ! -f "$deb" ]; then
  echo "test_deb: no .deb given or found; build one with: bash packaging/build_linux.sh" >&2
  exit 2
fi
if [ "$(id -u)" != 0 ]; then
  echo "test_deb: needs root (debootstrap and chroot); run it with sudo" >&2
  exit 2
fi
command -v debootstrap >/dev/null || {
  echo "test_deb: installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}
step() { echo "test_deb: $1 ($(( $(date +%s) - t0 )) s so far)"; }
t0=$(date +%s)

base="$cache/bookworm-minbase.tar"
if [ ! -f "$base" ]; then
  rm -rf "$cache/make" && mkdir -p "$cache"
  debootstrap --variant=minbase bookworm "$cache/make" "$mirror" >"$cache/debootstrap.log" 2>&1 \
    || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
  tar -C "$cache/make" -cf "$base.part" . && mv "$base.part" "$base"
  rm -rf "$cache/make"
  step "made a clean Debian 12 system"
fi

root=$(mktemp -d /tmp/attnviz-deb-XXXXXX)
cleanup() {
  umount "$root/dev/pts" 2>/dev/null || true
  umount "$root/proc" 2>/dev/null || true
  rm -rf "$root"
}
trap cleanup EXIT
tar -C "$root" -xf "$base"
mount -t proc proc "$root/proc"
mkdir -p "$root/dev/pts" && mount -t devpts devpts "$root/dev/pts"  # apt's logs want a pty
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/attnviz.deb"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
  DEBIAN_FRONTEND=noninteractive "$@"; }
step "unpacked the clean system"

in_root apt-get update -qq
in_root apt-get install -y -qq --no-install-recommends /tmp/attnviz.deb >/dev/null
step "apt-get installed the .deb and its dependencies"
[ "$(in_root sh -c 'command -v attnviz')" = /usr/bin/attnviz ] \
  || { echo "test_deb: attnviz is not on PATH" >&2; exit 1; }
in_root attnviz info
in_root env QT_QPA_PLATFORM=offscreen attnviz export --all /tmp/figures
figures=$(in_root find /tmp/figures -name '*.png' | wc -l)
[ "$figures" = 13 ] || { echo "test_deb: $figures figures, expected 13" >&2; exit 1; }
step "attnviz info and attnviz export --all ran from /usr/bin ($figures figures)"

in_root apt-get install -y -qq --no-install-recommends desktop-file-utils >/dev/null
said=$(in_root desktop-file-validate /usr/share/applications/attnviz.desktop 2>&1) \
  || { echo "$said" >&2; exit 1; }
[ -z "$said" ] || { echo "test_deb: desktop-file-validate says: $said" >&2; exit 1; }  # hints too
in_root update-desktop-database -q /usr/share/applications
step "the desktop entry validates"

in_root apt-get remove --purge -y -qq attnviz >/dev/null
# Our files and links (not the directories we share with the system).
ours=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./|/|')
left=""
for path in $ours; do
  [ -e "$root$path" ] || [ -L "$root$path" ] && left="$left $path"
done
[ -e "$root/opt/attnviz" ] && left="$left /opt/attnviz"
[ -z "$left" ] || { echo "test_deb: left behind after purge:$left" >&2; exit 1; }
in_root dpkg -s attnviz >/dev/null 2>&1 && { echo "test_deb: still registered" >&2; exit 1; }
step "apt-get remove --purge left no file of ours"
echo "test_deb: passed in $(( $(date +%s) - t0 )) s"
