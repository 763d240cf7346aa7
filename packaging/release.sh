#!/bin/sh
# Builds and signs one teaminbox release for this machine's architecture and lays it out for the
# release server (the files `teaminbox update` and install.sh read):
#
#   OUT/manifest.json                                    every release (self_update's schema 1)
#   OUT/LATEST                                           the newest version
#   OUT/install.sh                                       the installer, release public key filled in
#   OUT/<version>/teaminbox-<version>-<target>.tar.gz    binary + systemd units, zipsign-signed
#   OUT/<version>/SHA256SUMS, SHA256SUMS.sig             checksums, plain ed25519 signature
#
# Usage: packaging/release.sh --key FILE [--out DIR] [--binary FILE] [--version V] [--tool FILE]
#   --key      the 64-byte signing key pair (`teaminbox release keygen`); never in the repository
#   --out      the release directory to add to (default: target/release-files); copy it to the
#              release server as it is, earlier versions included
#   --binary   ship this file instead of building with `cargo build --release` (tests ship a stub)
#   --version  its version (default: what `BINARY --version` says)
#   --tool     the teaminbox that signs (default: the binary itself)
# Run it once per architecture (on an x86_64 and an aarch64 machine) into the same OUT.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
key= out="$repo/target/release-files" binary= version= tool=
while [ $# -gt 0 ]; do
    case "$1" in
        --key) key=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --binary) binary=$2; shift 2 ;;
        --version) version=$2; shift 2 ;;
        --tool) tool=$2; shift 2 ;;
        *) echo "release.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -n "$key" ] || { echo "release.sh: --key FILE is required (the private signing key)" >&2; exit 2; }
[ -r "$key" ] || { echo "release.sh: cannot read the key $key" >&2; exit 2; }

if [ -z "$binary" ]; then
    (cd "$repo" && cargo build --release --locked)
    binary="$repo/target/release/teaminbox"
fi
[ -n "$tool" ] || tool=$binary
[ -n "$version" ] || version=$("$binary" --version | awk '{print $2}')

mkdir -p "$out"
"$tool" release publish --key "$key" --binary "$binary" --version "$version" --out "$out" \
    --packaging "$here/teaminbox.service" \
    --packaging "$here/teaminbox-update.service" \
    --packaging "$here/teaminbox-update.path" \
    --installer "$repo/install.sh"
echo "release $version is in $out"
