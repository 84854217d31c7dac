"""Structurally valid private keys (and public look-alikes) built from the seeded generator.

RSA keys are real (Miller-Rabin primes, correct CRT parameters) in PKCS#1 and PKCS#8 DER; EC and
OpenSSH keys carry random key material in the exact ASN.1 / openssh-key-v1 layout. Stdlib only.
"""

from __future__ import annotations

import base64
import struct
import textwrap

from positives import BenchTokens

SMALL_PRIMES = [p for p in range(3, 10000) if all(p % d for d in range(2, int(p**0.5) + 1))]
OID_RSA = bytes.fromhex("06092a864886f70d010101")
OID_EC_PUBLIC = bytes.fromhex("06072a8648ce3d0201")
OID_P256 = bytes.fromhex("06082a8648ce3d030107")


def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def tlv(tag: int, body: bytes) -> bytes:
    """One DER tag-length-value."""
    return bytes([tag]) + _len(len(body)) + body


def der_int(n: int) -> bytes:
    """DER INTEGER of a non-negative int."""
    raw = n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big")
    return tlv(0x02, raw)


def seq(*parts: bytes) -> bytes:
    """DER SEQUENCE of already-encoded parts."""
    return tlv(0x30, b"".join(parts))


def _probable_prime(t: BenchTokens, n: int) -> bool:
    if any(n % p == 0 for p in SMALL_PRIMES):
        return False
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(3):  # enough for fake keys; only the structure matters to scanners
        a = t.rng.randrange(2, n - 2)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def prime(t: BenchTokens, bits: int) -> int:
    """A random probable prime of exactly `bits` bits."""
    while True:
        n = t.rng.getrandbits(bits) | (1 << (bits - 1)) | (1 << (bits - 2)) | 1
        if _probable_prime(t, n):
            return n


def rsa_pkcs1(t: BenchTokens, bits: int = 2048) -> bytes:
    """A real RSA private key in PKCS#1 DER."""
    e = 65537
    while True:
        p, q = prime(t, bits // 2), prime(t, bits // 2)
        phi = (p - 1) * (q - 1)
        if p != q and phi % e:
            break
    n, d = p * q, pow(e, -1, phi)
    return seq(
        der_int(0),
        der_int(n),
        der_int(e),
        der_int(d),
        der_int(p),
        der_int(q),
        der_int(d % (p - 1)),
        der_int(d % (q - 1)),
        der_int(pow(q, -1, p)),
    )


def pkcs8(pkcs1: bytes) -> bytes:
    """Wrap a PKCS#1 RSA key in PKCS#8 PrivateKeyInfo."""
    return seq(der_int(0), seq(OID_RSA, b"\x05\x00"), tlv(0x04, pkcs1))


def ec_sec1(t: BenchTokens) -> bytes:
    """A P-256 key in SEC1 DER layout (random scalar and point bytes)."""
    point = b"\x04" + t.randbytes(64)
    return seq(der_int(1), tlv(0x04, t.randbytes(32)), tlv(0xA0, OID_P256), tlv(0xA1, tlv(0x03, b"\x00" + point)))


def _sshstr(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


def openssh_ed25519(t: BenchTokens, comment: str) -> tuple[bytes, bytes]:
    """(openssh-key-v1 private blob, public key blob) for an unencrypted ed25519 key."""
    pub = t.randbytes(32)
    pub_blob = _sshstr(b"ssh-ed25519") + _sshstr(pub)
    check = t.randbytes(4)
    private = check + check + pub_blob + _sshstr(t.randbytes(32) + pub) + _sshstr(comment.encode())
    private += bytes(range(1, 1 + (-len(private) % 8)))
    blob = (
        b"openssh-key-v1\x00"
        + _sshstr(b"none")
        + _sshstr(b"none")
        + _sshstr(b"")
        + struct.pack(">I", 1)
        + _sshstr(pub_blob)
        + _sshstr(private)
    )
    return blob, pub_blob


def pem(label: str, der: bytes, width: int = 64) -> str:
    """PEM armour of DER bytes."""
    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode(), width))
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----"


def pgp_private_block(t: BenchTokens) -> str:
    """An ASCII-armoured PGP private key block (random packet bytes after a secret-key packet tag)."""
    packet = b"\x95" + t.randbytes(900)
    body = "\n".join(textwrap.wrap(base64.b64encode(packet).decode(), 64))
    crc = base64.b64encode(t.randbytes(3)).decode()
    return f"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{body}\n={crc}\n-----END PGP PRIVATE KEY BLOCK-----"


def age_secret_key(t: BenchTokens) -> str:
    """An age X25519 identity (bech32, upper case)."""
    return t.bech32("age-secret-key-", t.randbytes(32)).upper()


def private_key(t: BenchTokens) -> tuple[str, str]:
    """(label, PEM text) of a random private key kind, weighted like real leaks."""
    r = t.rng.random()
    if r < 0.35:
        return "rsa-pkcs1", pem("RSA PRIVATE KEY", rsa_pkcs1(t, t.pick([2048, 2048, 1024])))
    if r < 0.6:
        return "pkcs8", pem("PRIVATE KEY", pkcs8(rsa_pkcs1(t, 2048)))
    if r < 0.75:
        return "ec", pem("EC PRIVATE KEY", ec_sec1(t))
    if r < 0.93:
        blob, _ = openssh_ed25519(t, t.pick(["deploy@ci", "jane@laptop", "backup"]))
        return "openssh", pem("OPENSSH PRIVATE KEY", blob, 70)
    return "pgp", pgp_private_block(t)


# --- public look-alikes (negatives) ------------------------------------------------------------


def public_pem(t: BenchTokens) -> str:
    """A PUBLIC KEY (SubjectPublicKeyInfo) PEM block with random modulus bytes."""
    n = int.from_bytes(t.randbytes(256), "big") | (1 << 2047) | 1
    spki = seq(seq(OID_RSA, b"\x05\x00"), tlv(0x03, b"\x00" + seq(der_int(n), der_int(65537))))
    return pem("PUBLIC KEY", spki)


def certificate_pem(t: BenchTokens) -> str:
    """A CERTIFICATE PEM block (random TBS bytes in a SEQUENCE)."""
    return pem("CERTIFICATE", seq(seq(t.randbytes(700)), seq(OID_RSA, b"\x05\x00"), tlv(0x03, t.randbytes(257))))


def ssh_public_line(t: BenchTokens) -> str:
    """An authorized_keys line."""
    _, pub = openssh_ed25519(t, "x")
    return f"ssh-ed25519 {base64.b64encode(pub).decode()} {t.pick(['ops@bastion', 'ci-deploy', 'jane@laptop'])}"
