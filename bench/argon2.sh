#!/usr/bin/env bash
# The argon2id ceiling of one core: verifications per second at Porta's parameters
# (m = 19456 KiB, t = 2, p = 1) for libsodium (it maps its memory for each hash, as in
# Porta), RustCrypto's argon2 0.5 (memory block reused, as Porta's hashing threads do) and
# the newer 0.6, each built for any x86-64 (as Porta's release and package are) and for
# this machine's CPU (-C target-cpu=native). All three give the same hash; the script
# checks that. Porta hashes with libsodium or argon2 0.5, whichever is faster here
# (hash_engine = "auto"), so the faster of those two rows of the x86-64 build is the
# ceiling bench/run.sh's sign-ins are held against.
#
#   bench/argon2.sh            # 100 hashes per row, on core 1
#   N=40 CORE=0 bench/argon2.sh
set -euo pipefail
N=${N:-100}
CORE=${CORE:-1}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
mkdir -p "$DIR/src"
cat >"$DIR/Cargo.toml" <<'TOML'
[package]
name = "argon2-ceiling"
version = "0.1.0"
edition = "2021"
[dependencies]
a05 = { package = "argon2", version = "0.5" }
a06 = { package = "argon2", version = "=0.6.0" }
sodium = { package = "libsodium-sys-stable", version = "1.24" }
[profile.release]
codegen-units = 4
TOML
cat >"$DIR/src/main.rs" <<'RUST'
use std::time::Instant;
const M: u32 = 19456;
fn report(name: &str, n: usize, t: Instant, out: &[u8]) {
    println!("{name:10} {:6.1}/s  {}", n as f64 / t.elapsed().as_secs_f64(), out.iter().map(|b| format!("{b:02x}")).collect::<String>());
}
fn main() {
    let n: usize = std::env::args().nth(1).unwrap().parse().unwrap();
    let (password, salt) = (b"bench password 123", b"sixteen bytes!!!");
    let mut out = [0u8; 32];
    let p = a05::Params::new(M, 2, 1, Some(32)).unwrap();
    let a = a05::Argon2::new(a05::Algorithm::Argon2id, a05::Version::V0x13, p);
    let mut mem = vec![a05::Block::default(); M as usize];
    let t = Instant::now();
    for _ in 0..n { a.hash_password_into_with_memory(password, salt, &mut out, &mut mem).unwrap(); }
    report("argon2 0.5", n, t, &out);
    let first = out;
    let p = a06::Params::new(M, 2, 1, Some(32)).unwrap();
    let a = a06::Argon2::new(a06::Algorithm::Argon2id, a06::Version::V0x13, p);
    let mut mem = vec![a06::Block::default(); M as usize];
    let t = Instant::now();
    for _ in 0..n { a.hash_password_into_with_memory(password, salt, &mut out, &mut mem).unwrap(); }
    report("argon2 0.6", n, t, &out);
    assert_eq!(out, first, "0.6 gives another hash");
    assert_eq!(unsafe { sodium::sodium_init() } >= 0, true);
    let t = Instant::now();
    for _ in 0..n {
        let r = unsafe { sodium::crypto_pwhash_argon2id(out.as_mut_ptr(), 32, password.as_ptr().cast(), password.len() as u64, salt.as_ptr(), 2, M as usize * 1024, sodium::crypto_pwhash_argon2id_ALG_ARGON2ID13 as i32) };
        assert_eq!(r, 0);
    }
    report("libsodium", n, t, &out);
    assert_eq!(out, first, "libsodium gives another hash");
}
RUST
cd "$DIR"
echo "building (any x86-64, then native) ..."
cargo build --release --quiet --target-dir "$DIR/generic"
RUSTFLAGS="-C target-cpu=native" cargo build --release --quiet --target-dir "$DIR/native"
echo "argon2id m=19456 t=2 p=1, $N hashes each, core $CORE, $(date -u +%F)"
for build in generic native; do
  echo "-- built for: $build"
  taskset -c "$CORE" "$DIR/$build/release/argon2-ceiling" "$N"
done
