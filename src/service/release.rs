//! Publishing a release (the maintainer's side of `teaminbox update` and `install.sh`): a key
//! pair, and one signed archive per version and target laid out on a plain file server.
//!
//! Layout under the release base URL (`TEAMINBOX_RELEASE_URL`):
//! - `manifest.json`: every release, in `self_update`'s manifest schema 1
//!   (`{"schema":1,"releases":[{"version","assets":[{"name","url","digest":"sha256:…"}]}]}`,
//!   asset URLs relative to the manifest), read by `teaminbox update`.
//! - `LATEST`: the newest version, one line, read by `install.sh`.
//! - `<version>/teaminbox-<version>-<target>.tar.gz`: the binary `teaminbox` and the systemd units
//!   under `packaging/`, with a zipsign (ed25519ph) signature embedded as a trailing gzip member
//!   whose context is the archive's file name; `gzip`/`tar` read it as usual.
//! - `<version>/SHA256SUMS` (`sha256sum` format, one line per target) and
//!   `<version>/SHA256SUMS.sig`: a plain ed25519 signature of that file by the same key, which
//!   `openssl pkeyutl -verify -rawin` checks on a fresh Debian (install.sh).
//! - `install.sh`: the installer with the release public key filled in.
//!
//! Key files are zipsign's: the private key is the 64-byte ed25519 key pair, the public key the
//! 32 raw bytes (what `include_bytes!` embeds in the binary).

use std::fs;
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Why publishing failed; each message names the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// A file could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The private key file is not a 64-byte ed25519 key pair.
    #[error("{0} is not an ed25519 key pair (64 bytes, as `teaminbox release keygen` writes)")]
    BadKey(String),
    /// The version is not semver (`1.2.3`).
    #[error("version {0:?} is not a semantic version such as 1.2.3")]
    BadVersion(String),
    /// Signing the archive failed.
    #[error("signing {0} failed: {1}")]
    Sign(String, String),
    /// The existing manifest could not be read.
    #[error("{0} is not a release manifest: {1}")]
    Manifest(String, String),
}

type Result<T> = std::result::Result<T, ReleaseError>;

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ReleaseError {
    let what = what.into();
    move |source| ReleaseError::Io { what, source }
}

/// The name of a release archive: `teaminbox-<version>-<target>.tar.gz`.
pub fn archive_name(version: &str, target: &str) -> String {
    format!("teaminbox-{version}-{target}.tar.gz")
}

/// The DER prefix of an ed25519 SubjectPublicKeyInfo (RFC 8410): the 32 key bytes follow.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The public key as the base64 body of a PEM `PUBLIC KEY` (what openssl reads), one line.
pub fn public_key_pem_body(key: &VerifyingKey) -> String {
    use base64::Engine;
    let mut der = ED25519_SPKI_PREFIX.to_vec();
    der.extend_from_slice(key.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(der)
}

/// Creates a new key pair: `private` (64 bytes, mode 0600, never overwritten) and `public`
/// (32 bytes).
///
/// # Errors
/// I/O errors, and an existing `private` file.
pub fn keygen(private: &Path, public: &Path) -> Result<VerifyingKey> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| ReleaseError::Io {
        what: "the system's random source".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let key = SigningKey::from_bytes(&secret);
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(private)
        .map_err(io(format!("creating {}", private.display())))?;
    f.write_all(&key.to_keypair_bytes())
        .map_err(io(format!("writing {}", private.display())))?;
    fs::write(public, key.verifying_key().as_bytes())
        .map_err(io(format!("writing {}", public.display())))?;
    Ok(key.verifying_key())
}

/// Reads a private key file written by [`keygen`] (or `zipsign gen-key`).
///
/// # Errors
/// I/O errors; [`ReleaseError::BadKey`] when it is not a 64-byte key pair.
pub fn read_private_key(path: &Path) -> Result<SigningKey> {
    let bytes = fs::read(path).map_err(io(format!("reading {}", path.display())))?;
    let pair: [u8; 64] = bytes
        .try_into()
        .map_err(|_| ReleaseError::BadKey(path.display().to_string()))?;
    SigningKey::from_keypair_bytes(&pair)
        .map_err(|_| ReleaseError::BadKey(path.display().to_string()))
}

/// What to publish.
#[derive(Debug, Clone)]
pub struct Publish {
    /// The signing key pair.
    pub key: PathBuf,
    /// The program to ship (installed as `teaminbox`).
    pub binary: PathBuf,
    /// Its version (semver, no leading `v`).
    pub version: String,
    /// Target triple, such as `x86_64-unknown-linux-gnu`.
    pub target: String,
    /// The release directory (the base URL's root on the file server).
    pub out: PathBuf,
    /// Files shipped under `packaging/` in the archive (the systemd units).
    pub packaging: Vec<PathBuf>,
    /// The installer to publish beside the manifest, with the public key filled in.
    pub installer: Option<PathBuf>,
}

/// What [`publish`] wrote.
#[derive(Debug, Clone)]
pub struct Published {
    /// The signed archive.
    pub archive: PathBuf,
    /// Its hex SHA-256 (signature included).
    pub sha256: String,
}

/// Builds, signs and lays out one release (see the module doc); re-publishing the same version
/// and target replaces that archive and its entries. `LATEST` moves only forward.
///
/// # Errors
/// See [`ReleaseError`]; nothing outside `out` is touched.
pub fn publish(p: &Publish) -> Result<Published> {
    let version = semver::Version::parse(&p.version)
        .map_err(|_| ReleaseError::BadVersion(p.version.clone()))?;
    let key = read_private_key(&p.key)?;
    let dir = p.out.join(&p.version);
    fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
    let name = archive_name(&p.version, &p.target);
    let archive = dir.join(&name);

    // The plain archive in memory (a release is a few MB), then signed into place.
    let mut plain = std::io::Cursor::new(Vec::new());
    {
        let gz = flate2::write::GzEncoder::new(&mut plain, flate2::Compression::best());
        let mut tar = tar::Builder::new(gz);
        let mut add = |path: &Path, as_name: &str, mode: u32| -> Result<()> {
            let data = fs::read(path).map_err(io(format!("reading {}", path.display())))?;
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(mode);
            h.set_mtime(0);
            h.set_cksum();
            tar.append_data(&mut h, as_name, data.as_slice())
                .map_err(io(format!("archiving {}", path.display())))
        };
        add(&p.binary, "teaminbox", 0o755)?;
        for f in &p.packaging {
            let base = f.file_name().and_then(|n| n.to_str()).unwrap_or("unit");
            add(f, &format!("packaging/{base}"), 0o644)?;
        }
        let gz = tar.into_inner().map_err(io("finishing the archive"))?;
        gz.finish().map_err(io("compressing the archive"))?;
    }
    plain.rewind().map_err(io("rewinding the archive"))?;
    let mut signed = std::io::Cursor::new(Vec::new());
    zipsign_api::sign::copy_and_sign_tar(
        &mut plain,
        &mut signed,
        std::slice::from_ref(&key),
        Some(name.as_bytes()),
    )
    .map_err(|e| ReleaseError::Sign(name.clone(), e.to_string()))?;
    let signed = signed.into_inner();
    fs::write(&archive, &signed).map_err(io(format!("writing {}", archive.display())))?;
    let sha256 = hex::encode(Sha256::digest(&signed));

    write_sums(&dir, &name, &sha256, &key)?;
    update_manifest(&p.out, &p.version, &name, &sha256)?;
    update_latest(&p.out, &version)?;
    if let Some(installer) = &p.installer {
        let text = fs::read_to_string(installer)
            .map_err(io(format!("reading {}", installer.display())))?;
        let body = public_key_pem_body(&key.verifying_key());
        let text: String = text
            .lines()
            .map(|l| {
                if l.starts_with("RELEASE_KEY=") {
                    format!("RELEASE_KEY='{body}'\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        let to = p.out.join("install.sh");
        fs::write(&to, text).map_err(io(format!("writing {}", to.display())))?;
    }
    Ok(Published { archive, sha256 })
}

/// Adds or replaces `name`'s line in `<dir>/SHA256SUMS` and signs the file anew.
fn write_sums(dir: &Path, name: &str, sha256: &str, key: &SigningKey) -> Result<()> {
    let path = dir.join("SHA256SUMS");
    let old = fs::read_to_string(&path).unwrap_or_default();
    let mut lines: Vec<String> = old
        .lines()
        .filter(|l| !l.ends_with(&format!("  {name}")))
        .map(str::to_string)
        .collect();
    lines.push(format!("{sha256}  {name}"));
    lines.sort_by(|a, b| a.get(66..).cmp(&b.get(66..)));
    let text = lines.join("\n") + "\n";
    fs::write(&path, &text).map_err(io(format!("writing {}", path.display())))?;
    let sig = key.sign(text.as_bytes());
    let sig_path = dir.join("SHA256SUMS.sig");
    fs::write(&sig_path, sig.to_bytes()).map_err(io(format!("writing {}", sig_path.display())))
}

/// Adds or replaces the asset in `<out>/manifest.json`, newest release first.
fn update_manifest(out: &Path, version: &str, name: &str, sha256: &str) -> Result<()> {
    let path = out.join("manifest.json");
    let mut manifest: Value = match fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| ReleaseError::Manifest(path.display().to_string(), e.to_string()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => json!({"schema": 1, "releases": []}),
        Err(e) => return Err(io(format!("reading {}", path.display()))(e)),
    };
    let bad = || ReleaseError::Manifest(path.display().to_string(), "no releases list".into());
    let releases = manifest
        .get_mut("releases")
        .and_then(Value::as_array_mut)
        .ok_or_else(bad)?;
    let asset = json!({"name": name, "url": format!("{version}/{name}"), "digest": format!("sha256:{sha256}")});
    match releases
        .iter_mut()
        .find(|r| r.get("version").and_then(Value::as_str) == Some(version))
    {
        Some(r) => {
            let assets = r
                .as_object_mut()
                .ok_or_else(bad)?
                .entry("assets")
                .or_insert_with(|| json!([]));
            if let Some(list) = assets.as_array_mut() {
                list.retain(|a| a.get("name").and_then(Value::as_str) != Some(name));
                list.push(asset);
            }
        }
        None => releases.push(json!({"version": version, "assets": [asset]})),
    }
    let key = |r: &Value| {
        r.get("version")
            .and_then(Value::as_str)
            .and_then(|v| semver::Version::parse(v).ok())
    };
    releases.sort_by_key(|r| std::cmp::Reverse(key(r)));
    let text = serde_json::to_string_pretty(&manifest).unwrap_or_default() + "\n";
    fs::write(&path, text).map_err(io(format!("writing {}", path.display())))
}

/// Writes `<out>/LATEST` unless it names a newer version already.
fn update_latest(out: &Path, version: &semver::Version) -> Result<()> {
    let path = out.join("LATEST");
    let current = fs::read_to_string(&path)
        .ok()
        .and_then(|s| semver::Version::parse(s.trim()).ok());
    if current.is_some_and(|c| &c > version) {
        return Ok(());
    }
    fs::write(&path, format!("{version}\n")).map_err(io(format!("writing {}", path.display())))
}
