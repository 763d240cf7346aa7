#!/bin/sh
# teaminbox installer:  curl -fsSL <release server>/install.sh | sh
#   (as root, or `| sudo sh`). Running it again upgrades.
#
# Options (after `sh -s --` when piped):
#   --version V     install version V instead of the newest
#   --prefix DIR    install under DIR: the program in DIR/bin, the data in
#                   DIR/var/lib/teaminbox (default: /usr/local and /var/lib/teaminbox)
#   --no-systemd    only install the program: no system user, no service (you start it)
#   --uninstall     remove the program and the service; the data stays
#   --purge         with --uninstall: remove the data (and the teaminbox user) too
# Environment: TEAMINBOX_RELEASE_URL points it at another release server.
#
# What it checks before installing anything: the release's SHA256SUMS must carry a valid ed25519
# signature by the release key below (checked with openssl, which a Debian with curl and
# ca-certificates has), and the downloaded archive must match its line in that file.
set -eu

# The release public key (base64 of its DER SubjectPublicKeyInfo); release.sh fills it in when
# publishing this file.
RELEASE_KEY='MCowBQYDK2VwAyEAmm0AUJnvVjtV3M8HTtNzGMn8phPMgmkW1UF/4BqiztA='
DEFAULT_RELEASE_URL='https://releases.teaminbox.app'

say() { printf '%s\n' "$*"; }
die() { printf 'teaminbox install: %s\n' "$*" >&2; exit 1; }

base=${TEAMINBOX_RELEASE_URL:-$DEFAULT_RELEASE_URL}
base=${base%/}
prefix=/usr/local
version=
systemd=yes
uninstall=
purge=
while [ $# -gt 0 ]; do
    case "$1" in
        --version) [ $# -ge 2 ] || die "--version needs a version"; version=$2; shift 2 ;;
        --version=*) version=${1#*=}; shift ;;
        --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix=$2; shift 2 ;;
        --prefix=*) prefix=${1#*=}; shift ;;
        --no-systemd) systemd=; shift ;;
        --uninstall) uninstall=yes; shift ;;
        --purge) purge=yes; shift ;;
        -h|--help) sed -n '2,12p' "$0" 2>/dev/null || true; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
[ -z "$purge" ] || [ -n "$uninstall" ] || die "--purge goes with --uninstall"
prefix=${prefix%/}
case "$prefix" in
    /usr/local|/usr) data=/var/lib/teaminbox ;;
    *) data=$prefix/var/lib/teaminbox ;;
esac
bin=$prefix/bin/teaminbox
units=/etc/systemd/system

if [ -n "$systemd" ]; then
    [ "$(id -u)" = 0 ] || die "run it as root (curl -fsSL $base/install.sh | sudo sh), or add --no-systemd"
    [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 \
        || die "this system does not run systemd; add --no-systemd and start teaminbox yourself"
fi

# --- Uninstall --------------------------------------------------------------------------------
if [ -n "$uninstall" ]; then
    if [ -n "$systemd" ]; then
        systemctl disable --now teaminbox-update.path teaminbox >/dev/null 2>&1 || true
        rm -f "$units/teaminbox.service" "$units/teaminbox-update.service" "$units/teaminbox-update.path"
        systemctl daemon-reload
    fi
    rm -f "$bin" "$bin.old"
    rm -rf "$prefix/share/doc/teaminbox"
    if [ -n "$purge" ]; then
        rm -rf "$data"
        if [ -n "$systemd" ] && id teaminbox >/dev/null 2>&1; then
            userdel teaminbox 2>/dev/null || true
        fi
        say "teaminbox is removed, and its data ($data) too."
    else
        say "teaminbox is removed. Your data is still in $data"
        say "(backups in $data/backups); --uninstall --purge deletes it."
    fi
    exit 0
fi

# --- Which release ----------------------------------------------------------------------------
case "$(uname -m)" in
    x86_64|amd64) target=x86_64-unknown-linux-gnu ;;
    aarch64|arm64) target=aarch64-unknown-linux-gnu ;;
    *) die "no release for this machine's architecture ($(uname -m)); x86_64 and arm64 are supported" ;;
esac

if command -v curl >/dev/null 2>&1; then
    fetch() { curl -fsSL --retry 2 -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
    fetch() { wget -q -O "$2" "$1"; }
else
    die "curl or wget is needed"
fi
command -v openssl >/dev/null 2>&1 \
    || die "openssl is needed to check the release signature (apt-get install openssl)"
if command -v sha256sum >/dev/null 2>&1; then
    sha256() { sha256sum "$1" | cut -d' ' -f1; }
else
    sha256() { openssl dgst -sha256 -r "$1" | cut -d' ' -f1; }
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ -z "$version" ]; then
    fetch "$base/LATEST" "$tmp/LATEST" || die "cannot reach the release server at $base"
    version=$(tr -d ' \r\n' < "$tmp/LATEST")
fi
case "$version" in
    ''|*[!0-9A-Za-z.+-]*) die "not a version: '$version'" ;;
esac
name=teaminbox-$version-$target.tar.gz
fetch "$base/$version/SHA256SUMS" "$tmp/SHA256SUMS" || die "version $version is not on $base"
fetch "$base/$version/SHA256SUMS.sig" "$tmp/SHA256SUMS.sig" || die "version $version has no signature on $base"
fetch "$base/$version/$name" "$tmp/$name" || die "version $version has no archive for $target"

# --- Checks -------------------------------------------------------------------------------------
printf -- '-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n' "$RELEASE_KEY" > "$tmp/release.pem"
openssl pkeyutl -verify -pubin -inkey "$tmp/release.pem" -rawin \
    -in "$tmp/SHA256SUMS" -sigfile "$tmp/SHA256SUMS.sig" >/dev/null 2>&1 \
    || die "the signature of release $version is not valid (not signed with teaminbox's release key); nothing was installed"
expected=$(awk -v n="$name" '$2 == n || $2 == "*" n { print $1 }' "$tmp/SHA256SUMS")
[ -n "$expected" ] || die "release $version lists no checksum for $name; nothing was installed"
actual=$(sha256 "$tmp/$name")
[ "$expected" = "$actual" ] \
    || die "the downloaded archive does not match its signed checksum (damaged or tampered with); nothing was installed"
mkdir "$tmp/x"
tar -xzf "$tmp/$name" -C "$tmp/x" || die "the archive of release $version cannot be unpacked"
[ -f "$tmp/x/teaminbox" ] || die "the archive of release $version holds no teaminbox program"

# --- Install ------------------------------------------------------------------------------------
mkdir -p "$prefix/bin" "$data"
before=
if [ -x "$bin" ]; then
    before=$("$bin" --version 2>/dev/null | awk '{print $2}') || before=
    cp -p "$bin" "$bin.old"
fi
cp "$tmp/x/teaminbox" "$bin.new"
chmod 0755 "$bin.new"
mv -f "$bin.new" "$bin"
if [ -d "$tmp/x/packaging" ]; then
    mkdir -p "$prefix/share/doc/teaminbox"
    cp "$tmp/x/packaging/"* "$prefix/share/doc/teaminbox/" 2>/dev/null || true
fi
if [ -n "$before" ]; then
    say "teaminbox upgraded from $before to $version: $bin (the previous one is kept as $bin.old)"
else
    say "teaminbox $version installed: $bin"
fi

if [ -z "$systemd" ]; then
    say "Data directory: $data"
    say "Start it with:  $bin serve --data $data"
    exit 0
fi

# --- Service ------------------------------------------------------------------------------------
if ! id teaminbox >/dev/null 2>&1; then
    nologin=$(command -v nologin || echo /usr/sbin/nologin)
    useradd --system --home-dir "$data" --no-create-home --shell "$nologin" teaminbox \
        || die "cannot create the teaminbox system user"
fi
chown -R teaminbox:teaminbox "$data"
chmod 0750 "$data"
for unit in teaminbox.service teaminbox-update.service teaminbox-update.path; do
    [ -f "$tmp/x/packaging/$unit" ] || continue
    sed -e "s#^ExecStart=teaminbox #ExecStart=$bin #" -e "s#/var/lib/teaminbox#$data#g" \
        "$tmp/x/packaging/$unit" > "$units/$unit"
done
systemctl daemon-reload
systemctl enable teaminbox teaminbox-update.path >/dev/null 2>&1
systemctl restart teaminbox
systemctl start teaminbox-update.path || true

sleep 2
say ""
if systemctl is-active --quiet teaminbox; then
    say "teaminbox is running. Open it from a phone or computer on this network:"
    for ip in $(hostname -I 2>/dev/null); do
        case "$ip" in *:*) ;; *) say "  http://$ip:8080" ;; esac
    done
    say "The first time, the setup link (and a QR code for phones) is in:"
    say "  journalctl -u teaminbox --no-pager | tail -n 40"
else
    die "the service did not start; see: journalctl -u teaminbox --no-pager | tail -n 40"
fi
