"""The string hash functions TensorFlow's string ops use, so that modelio buckets strings as Keras's
Hashing, HashedCrossing and lookup layers do without TensorFlow:

* `fingerprint64(data)`: FarmHash's Fingerprint64 (the `farmhashna` 64-bit hash), which
  `tf.strings.to_hash_bucket_fast` reduces modulo the bucket count;
* `siphash24(key, data)`: SipHash-2-4 keyed by two 64-bit words, which
  `tf.strings.to_hash_bucket_strong` uses;
* `fingerprint_cat64(a, b)`: TensorFlow's combination of two fingerprints (`tf.sparse.cross_hashed`).

Written from the published descriptions of the algorithms; every function works on Python ints
reduced to 64 bits. `hash_strings` hashes an array of byte strings: it hashes each distinct value
once (np.unique) in a Python loop, because every value has its own length and so its own
sequence of word reads and mixing rounds; there is no fixed-shape array expression for it.
"""

import numpy as np

MASK64 = (1 << 64) - 1

# FarmHash's constants (primes between 2**63 and 2**64).
_K0 = 0xC3A5C85C97CB3127
_K1 = 0xB492B66FBE98F273
_K2 = 0x9AE16A3B2F90404F
_SEED = 81
# TensorFlow's FingerprintCat64 multiplier and tf.sparse.cross_hashed's default hash key.
_CAT_MUL = 0xC6A4A7935BD1E995
CROSS_HASH_KEY = 0xDECAFCAFFE


def _word64(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 8], "little")


def _word32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 4], "little")


def _rotr(value: int, shift: int) -> int:
    if shift == 0:
        return value
    return ((value >> shift) | (value << (64 - shift))) & MASK64


def _shift_mix(value: int) -> int:
    return value ^ (value >> 47)


def _mix16(low: int, high: int, mul: int) -> int:
    """FarmHash's 16-byte murmur-style mix with multiplier `mul`."""
    a = ((low ^ high) * mul) & MASK64
    a ^= a >> 47
    b = ((high ^ a) * mul) & MASK64
    b ^= b >> 47
    return (b * mul) & MASK64


def _short(data: bytes) -> int:
    """0 to 16 bytes."""
    size = len(data)
    if size >= 8:
        mul = _K2 + size * 2
        a = (_word64(data, 0) + _K2) & MASK64
        b = _word64(data, size - 8)
        c = (_rotr(b, 37) * mul + a) & MASK64
        d = ((_rotr(a, 25) + b) * mul) & MASK64
        return _mix16(c, d, mul)
    if size >= 4:
        mul = _K2 + size * 2
        a = _word32(data, 0)
        return _mix16((size + (a << 3)) & MASK64, _word32(data, size - 4), mul)
    if size:
        first, middle, last = data[0], data[size >> 1], data[size - 1]
        y = first + (middle << 8)
        z = size + (last << 2)
        return (_shift_mix(((y * _K2) ^ (z * _K0)) & MASK64) * _K2) & MASK64
    return _K2


def _medium(data: bytes) -> int:
    """17 to 32 bytes."""
    size = len(data)
    mul = _K2 + size * 2
    a = (_word64(data, 0) * _K1) & MASK64
    b = _word64(data, 8)
    c = (_word64(data, size - 8) * mul) & MASK64
    d = (_word64(data, size - 16) * _K2) & MASK64
    return _mix16((_rotr((a + b) & MASK64, 43) + _rotr(c, 30) + d) & MASK64,
                  (a + _rotr((b + _K2) & MASK64, 18) + c) & MASK64, mul)


def _long(data: bytes) -> int:
    """33 to 64 bytes."""
    size = len(data)
    mul = _K2 + size * 2
    a = (_word64(data, 0) * _K2) & MASK64
    b = _word64(data, 8)
    c = (_word64(data, size - 8) * mul) & MASK64
    d = (_word64(data, size - 16) * _K2) & MASK64
    y = (_rotr((a + b) & MASK64, 43) + _rotr(c, 30) + d) & MASK64
    z = _mix16(y, (a + _rotr((b + _K2) & MASK64, 18) + c) & MASK64, mul)
    e = (_word64(data, 16) * mul) & MASK64
    f = _word64(data, 24)
    g = ((y + _word64(data, size - 32)) * mul) & MASK64
    h = ((z + _word64(data, size - 24)) * mul) & MASK64
    return _mix16((_rotr((e + f) & MASK64, 43) + _rotr(g, 30) + h) & MASK64,
                  (e + _rotr((f + a) & MASK64, 18) + g) & MASK64, mul)


def _weak32(data: bytes, at: int, a: int, b: int) -> tuple[int, int]:
    """FarmHash's seeded 32-byte step: a pair of words from four words at `at` and seeds a, b."""
    w, x, y, z = (_word64(data, at + 8 * i) for i in range(4))
    a = (a + w) & MASK64
    b = _rotr((b + a + z) & MASK64, 21)
    c = a
    a = (a + x + y) & MASK64
    b = (b + _rotr(a, 44)) & MASK64
    return (a + z) & MASK64, (b + c) & MASK64


def fingerprint64(data: bytes) -> int:
    """FarmHash Fingerprint64 of `data` (an unsigned 64-bit int)."""
    size = len(data)
    if size <= 16:
        return _short(data)
    if size <= 32:
        return _medium(data)
    if size <= 64:
        return _long(data)
    # Longer inputs: 64-byte blocks through a 56-byte state, then the last 64 bytes.
    x = _SEED
    y = (_SEED * _K1 + 113) & MASK64
    z = (_shift_mix((y * _K2 + 113) & MASK64) * _K2) & MASK64
    v = (0, 0)
    w = (0, 0)
    x = (x * _K2 + _word64(data, 0)) & MASK64
    end = ((size - 1) // 64) * 64
    at = 0
    while True:
        x = (_rotr((x + y + v[0] + _word64(data, at + 8)) & MASK64, 37) * _K1) & MASK64
        y = (_rotr((y + v[1] + _word64(data, at + 48)) & MASK64, 42) * _K1) & MASK64
        x ^= w[1]
        y = (y + v[0] + _word64(data, at + 40)) & MASK64
        z = (_rotr((z + w[0]) & MASK64, 33) * _K1) & MASK64
        v = _weak32(data, at, (v[1] * _K1) & MASK64, (x + w[0]) & MASK64)
        w = _weak32(data, at + 32, (z + w[1]) & MASK64, (y + _word64(data, at + 16)) & MASK64)
        z, x = x, z
        at += 64
        if at == end:
            break
    mul = _K1 + ((z & 0xFF) << 1)
    at = size - 64
    w0 = (w[0] + ((size - 1) & 63)) & MASK64
    v0 = (v[0] + w0) & MASK64
    w0 = (w0 + v0) & MASK64
    v, w = (v0, v[1]), (w0, w[1])
    x = (_rotr((x + y + v[0] + _word64(data, at + 8)) & MASK64, 37) * mul) & MASK64
    y = (_rotr((y + v[1] + _word64(data, at + 48)) & MASK64, 42) * mul) & MASK64
    x ^= (w[1] * 9) & MASK64
    y = (y + v[0] * 9 + _word64(data, at + 40)) & MASK64
    z = (_rotr((z + w[0]) & MASK64, 33) * mul) & MASK64
    v = _weak32(data, at, (v[1] * mul) & MASK64, (x + w[0]) & MASK64)
    w = _weak32(data, at + 32, (z + w[1]) & MASK64, (y + _word64(data, at + 16)) & MASK64)
    z, x = x, z
    return _mix16((_mix16(v[0], w[0], mul) + _shift_mix(y) * _K0 + z) & MASK64,
                  (_mix16(v[1], w[1], mul) + x) & MASK64, mul)


def _sip_round(v0: int, v1: int, v2: int, v3: int) -> tuple[int, int, int, int]:
    v0 = (v0 + v1) & MASK64
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 = (v2 + v3) & MASK64
    v3 = _rotl(v3, 16) ^ v2
    v0 = (v0 + v3) & MASK64
    v3 = _rotl(v3, 21) ^ v0
    v2 = (v2 + v1) & MASK64
    v1 = _rotl(v1, 17) ^ v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


def _rotl(value: int, shift: int) -> int:
    return ((value << shift) | (value >> (64 - shift))) & MASK64


def siphash24(key: tuple[int, int], data: bytes) -> int:
    """SipHash-2-4 of `data` under the 128-bit key `(k0, k1)` (two unsigned 64-bit ints)."""
    k0, k1 = key[0] & MASK64, key[1] & MASK64
    v0 = k0 ^ 0x736F6D6570736575
    v1 = k1 ^ 0x646F72616E646F6D
    v2 = k0 ^ 0x6C7967656E657261
    v3 = k1 ^ 0x7465646279746573
    size = len(data)
    full = size - size % 8
    for at in range(0, full, 8):
        word = _word64(data, at)
        v3 ^= word
        v0, v1, v2, v3 = _sip_round(*_sip_round(v0, v1, v2, v3))
        v0 ^= word
    last = int.from_bytes(data[full:], "little") | ((size & 0xFF) << 56)
    v3 ^= last
    v0, v1, v2, v3 = _sip_round(*_sip_round(v0, v1, v2, v3))
    v0 ^= last
    v2 ^= 0xFF
    for _ in range(4):
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


def fingerprint_cat64(first: int, second: int) -> int:
    """TensorFlow's FingerprintCat64: a fingerprint of two fingerprints (order matters)."""
    result = first ^ _CAT_MUL
    result ^= (_shift_mix((second * _CAT_MUL) & MASK64) * _CAT_MUL) & MASK64
    result = (result * _CAT_MUL) & MASK64
    result = (_shift_mix(result) * _CAT_MUL) & MASK64
    return _shift_mix(result)


def hash_strings(values: np.ndarray, key: tuple[int, int] | None = None) -> np.ndarray:
    """uint64 hashes of an array of `bytes` values (object array): Fingerprint64, or SipHash-2-4
    under `key`. Each distinct value is hashed once (see the module docstring for the loop)."""
    flat = values.reshape(-1)
    unique, inverse = np.unique(flat, return_inverse=True)
    if key is None:
        hashed = [fingerprint64(value) for value in unique]
    else:
        hashed = [siphash24(key, value) for value in unique]
    table = np.array(hashed, dtype=np.uint64)
    return table[inverse.reshape(-1)].reshape(values.shape)


def cat_hashes(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """`fingerprint_cat64` elementwise on uint64 arrays, vectorized (numpy's uint64 arithmetic
    wraps modulo 2**64 as the C code does)."""
    mul = np.uint64(_CAT_MUL)
    shift = np.uint64(47)
    with np.errstate(over="ignore"):
        result = first ^ mul
        mixed = second * mul
        result = result ^ ((mixed ^ (mixed >> shift)) * mul)
        result = result * mul
        result = (result ^ (result >> shift)) * mul
    return result ^ (result >> shift)
