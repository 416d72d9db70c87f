#!/usr/bin/env bash
# Builds the Debian package: packaging/build-deb.sh [BINARY] [OUT_DIR]
#   BINARY   the naervaer binary to package (default: a release build)
#   OUT_DIR  where the .deb goes (default: target/debian)
# Needs dpkg-deb and dpkg-shlibdeps (apt-get install dpkg-dev).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
binary=${1:-}
out=${2:-$root/target/debian}
if [ -z "$binary" ]; then
    (cd "$root" && cargo build --release --locked)
    binary=$root/target/release/naervaer
fi
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg=$stage/naervaer

install -D -m 0755 "$binary" "$pkg/usr/bin/naervaer"
strip --strip-unneeded "$pkg/usr/bin/naervaer" 2>/dev/null || true
install -D -m 0644 "$root/packaging/naervaer.service" "$pkg/lib/systemd/system/naervaer.service"
install -D -m 0644 "$root/packaging/naervaer.env" "$pkg/usr/share/naervaer/naervaer.env"
install -D -m 0644 "$root/README.md" "$pkg/usr/share/doc/naervaer/README.md"
install -d "$pkg/usr/share/doc/naervaer"
cat > "$pkg/usr/share/doc/naervaer/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: naervaer
License: AGPL-3.0-or-later
COPYRIGHT

# The shared libraries the binary links, as package dependencies.
mkdir -p "$stage/debian"
printf 'Source: naervaer\n\nPackage: naervaer\nArchitecture: any\n' > "$stage/debian/control"
shlibs=$(cd "$stage" && dpkg-shlibdeps -O -e "$pkg/usr/bin/naervaer" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "dpkg-shlibdeps found no dependencies" >&2; exit 1; }

install -d "$pkg/DEBIAN"
for script in postinst prerm postrm; do
    install -m 0755 "$root/packaging/debian/$script" "$pkg/DEBIAN/$script"
done
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat > "$pkg/DEBIAN/control" <<CONTROL
Package: naervaer
Version: $version
Architecture: $arch
Maintainer: naervaer developers <naervaer@localhost>
Installed-Size: $size
Depends: $shlibs, adduser
Section: web
Priority: optional
Description: anonymous employee surveys and sickness-absence work
 naervaer runs the 10-FAKTOR employee survey anonymously for Norwegian
 municipalities, shows each leader their unit's results once enough people
 have answered, and shows the working-environment committee how survey
 factors go together with sickness absence. Runs as the systemd service
 naervaer.service, configured in /etc/naervaer/naervaer.env.
CONTROL

mkdir -p "$out"
deb=$out/naervaer_${version}_${arch}.deb
dpkg-deb --root-owner-group --build "$pkg" "$deb" >/dev/null
echo "$deb"
