// BN254 base field Fq and scalar field Fr: Montgomery arithmetic on 8 x 32-bit limbs.
//
// Layout contract with the host: an element is 8 little-endian u32 limbs holding a*R mod p with R = 2^256, which is
// bit-identical to halo2curves' `Fq`/`Fr` (4 little-endian u64 limbs in Montgomery form) on a little-endian host, so
// arrays of field elements are uploaded and downloaded as raw bytes. Every input is assumed fully reduced (< p), as
// halo2curves keeps it, and every function returns a fully reduced value.
//
// No headers are included: the file compiles under nvcc and NVRTC alike.
#pragma once

typedef unsigned int u32;
typedef unsigned long long u64;

#define ZKR_DEV __device__ __forceinline__

// Field constants as functions over a local constant array: after unrolling every index is a compile-time constant,
// so the values become immediates and never touch memory.
struct FqConfig {
    // p = 0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47
    static ZKR_DEV u32 p(int i) {
        const u32 v[8] = {0xd87cfd47u, 0x3c208c16u, 0x6871ca8du, 0x97816a91u,
                          0x8181585du, 0xb85045b6u, 0xe131a029u, 0x30644e72u};
        return v[i];
    }
    // R mod p: the Montgomery form of 1.
    static ZKR_DEV u32 one(int i) {
        const u32 v[8] = {0xc58f0d9du, 0xd35d438du, 0xf5c70b3du, 0x0a78eb28u,
                          0x7879462cu, 0x666ea36fu, 0x9a07df2fu, 0x0e0a77c1u};
        return v[i];
    }
    // -p^-1 mod 2^32 (the low half of halo2curves' 64-bit INV).
    static constexpr u32 INV = 0xe4866389u;
};

struct FrConfig {
    // r = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001
    static ZKR_DEV u32 p(int i) {
        const u32 v[8] = {0xf0000001u, 0x43e1f593u, 0x79b97091u, 0x2833e848u,
                          0x8181585du, 0xb85045b6u, 0xe131a029u, 0x30644e72u};
        return v[i];
    }
    static ZKR_DEV u32 one(int i) {
        const u32 v[8] = {0x4ffffffbu, 0xac96341cu, 0x9f60cd29u, 0x36fc7695u,
                          0x7879462eu, 0x666ea36fu, 0x9a07df2fu, 0x0e0a77c1u};
        return v[i];
    }
    static constexpr u32 INV = 0xefffffffu;
};

// ---------------------------------------------------------------------------------------------------------------
// Carry-chain primitives. Each chain is one asm statement: the carry flag does not survive between statements.
//
// Each statement computes into registers of its own scope and moves them to the outputs only after every operand
// has been read, so the result does not depend on which registers the compiler assigns: an output may share an
// input's register (there is no early clobber in inline PTX), and a "+r" operand may share one with an input of
// equal value (a constant, say). The mov instructions cost nothing: ptxas folds them away.
//
// On the device (__CUDA_ARCH__) they are PTX. The host build of these sources (the emulator, kernels/emu) defines
// zkr_host_* twins instead, in kernels/emu/cuda_host.h; tests/ptx_twins.rs runs these asm strings through a PTX
// interpreter and checks that the twins compute the same values, so the twins cannot drift from the PTX.
// ---------------------------------------------------------------------------------------------------------------

// r = a + b over 256 bits (no carry out: both moduli are below 2^254, so sums of reduced values fit).
ZKR_DEV void add8(u32 r[8], const u32 a[8], const u32 b[8]) {
#ifdef __CUDA_ARCH__
    asm("{\n\t"
        ".reg .u32 s<8>;\n\t"
        "add.cc.u32  s0, %8,  %16;\n\t"
        "addc.cc.u32 s1, %9,  %17;\n\t"
        "addc.cc.u32 s2, %10, %18;\n\t"
        "addc.cc.u32 s3, %11, %19;\n\t"
        "addc.cc.u32 s4, %12, %20;\n\t"
        "addc.cc.u32 s5, %13, %21;\n\t"
        "addc.cc.u32 s6, %14, %22;\n\t"
        "addc.u32    s7, %15, %23;\n\t"
        "mov.u32 %0, s0;\n\t"
        "mov.u32 %1, s1;\n\t"
        "mov.u32 %2, s2;\n\t"
        "mov.u32 %3, s3;\n\t"
        "mov.u32 %4, s4;\n\t"
        "mov.u32 %5, s5;\n\t"
        "mov.u32 %6, s6;\n\t"
        "mov.u32 %7, s7;\n\t"
        "}"
        : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]), "=r"(r[4]), "=r"(r[5]), "=r"(r[6]), "=r"(r[7])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(a[4]), "r"(a[5]), "r"(a[6]), "r"(a[7]),
          "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]), "r"(b[4]), "r"(b[5]), "r"(b[6]), "r"(b[7]));
#else
    zkr_host_add8(r, a, b);
#endif
}

// r = a - b over 256 bits; returns 0xffffffff when it borrowed (a < b), else 0.
ZKR_DEV u32 sub8(u32 r[8], const u32 a[8], const u32 b[8]) {
    u32 borrow;
#ifdef __CUDA_ARCH__
    asm("{\n\t"
        ".reg .u32 d<9>;\n\t"
        "sub.cc.u32  d0, %9,  %17;\n\t"
        "subc.cc.u32 d1, %10, %18;\n\t"
        "subc.cc.u32 d2, %11, %19;\n\t"
        "subc.cc.u32 d3, %12, %20;\n\t"
        "subc.cc.u32 d4, %13, %21;\n\t"
        "subc.cc.u32 d5, %14, %22;\n\t"
        "subc.cc.u32 d6, %15, %23;\n\t"
        "subc.cc.u32 d7, %16, %24;\n\t"
        "subc.u32    d8, 0, 0;\n\t"
        "mov.u32 %0, d0;\n\t"
        "mov.u32 %1, d1;\n\t"
        "mov.u32 %2, d2;\n\t"
        "mov.u32 %3, d3;\n\t"
        "mov.u32 %4, d4;\n\t"
        "mov.u32 %5, d5;\n\t"
        "mov.u32 %6, d6;\n\t"
        "mov.u32 %7, d7;\n\t"
        "mov.u32 %8, d8;\n\t"
        "}"
        : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]), "=r"(r[4]), "=r"(r[5]), "=r"(r[6]), "=r"(r[7]),
          "=r"(borrow)
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(a[4]), "r"(a[5]), "r"(a[6]), "r"(a[7]),
          "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]), "r"(b[4]), "r"(b[5]), "r"(b[6]), "r"(b[7]));
#else
    borrow = zkr_host_sub8(r, a, b);
#endif
    return borrow;
}

// t[0..9] += lo(a[j] * b) << 32j: one carry chain over the low halves of the eight products.
ZKR_DEV void mad_lo_row(u32 t[9], const u32 a[8], u32 b) {
#ifdef __CUDA_ARCH__
    asm("{\n\t"
        ".reg .u32 u<9>;\n\t"
        "mad.lo.cc.u32  u0, %9,  %17, %0;\n\t"
        "madc.lo.cc.u32 u1, %10, %17, %1;\n\t"
        "madc.lo.cc.u32 u2, %11, %17, %2;\n\t"
        "madc.lo.cc.u32 u3, %12, %17, %3;\n\t"
        "madc.lo.cc.u32 u4, %13, %17, %4;\n\t"
        "madc.lo.cc.u32 u5, %14, %17, %5;\n\t"
        "madc.lo.cc.u32 u6, %15, %17, %6;\n\t"
        "madc.lo.cc.u32 u7, %16, %17, %7;\n\t"
        "addc.u32       u8, %8, 0;\n\t"
        "mov.u32 %0, u0;\n\t"
        "mov.u32 %1, u1;\n\t"
        "mov.u32 %2, u2;\n\t"
        "mov.u32 %3, u3;\n\t"
        "mov.u32 %4, u4;\n\t"
        "mov.u32 %5, u5;\n\t"
        "mov.u32 %6, u6;\n\t"
        "mov.u32 %7, u7;\n\t"
        "mov.u32 %8, u8;\n\t"
        "}"
        : "+r"(t[0]), "+r"(t[1]), "+r"(t[2]), "+r"(t[3]), "+r"(t[4]), "+r"(t[5]), "+r"(t[6]), "+r"(t[7]), "+r"(t[8])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(a[4]), "r"(a[5]), "r"(a[6]), "r"(a[7]), "r"(b));
#else
    zkr_host_mad_lo_row(t, a, b);
#endif
}

// t[1..9] += hi(a[j] * b) << 32(j+1). The caller guarantees the total fits in 9 limbs, so there is no carry out.
ZKR_DEV void mad_hi_row(u32 t[9], const u32 a[8], u32 b) {
#ifdef __CUDA_ARCH__
    asm("{\n\t"
        ".reg .u32 h<8>;\n\t"
        "mad.hi.cc.u32  h0, %8,  %16, %0;\n\t"
        "madc.hi.cc.u32 h1, %9,  %16, %1;\n\t"
        "madc.hi.cc.u32 h2, %10, %16, %2;\n\t"
        "madc.hi.cc.u32 h3, %11, %16, %3;\n\t"
        "madc.hi.cc.u32 h4, %12, %16, %4;\n\t"
        "madc.hi.cc.u32 h5, %13, %16, %5;\n\t"
        "madc.hi.cc.u32 h6, %14, %16, %6;\n\t"
        "madc.hi.u32    h7, %15, %16, %7;\n\t"
        "mov.u32 %0, h0;\n\t"
        "mov.u32 %1, h1;\n\t"
        "mov.u32 %2, h2;\n\t"
        "mov.u32 %3, h3;\n\t"
        "mov.u32 %4, h4;\n\t"
        "mov.u32 %5, h5;\n\t"
        "mov.u32 %6, h6;\n\t"
        "mov.u32 %7, h7;\n\t"
        "}"
        : "+r"(t[1]), "+r"(t[2]), "+r"(t[3]), "+r"(t[4]), "+r"(t[5]), "+r"(t[6]), "+r"(t[7]), "+r"(t[8])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(a[4]), "r"(a[5]), "r"(a[6]), "r"(a[7]), "r"(b));
#else
    zkr_host_mad_hi_row(t, a, b);
#endif
}

// ---------------------------------------------------------------------------------------------------------------
// Fp<C>: an element of the prime field described by C (FqConfig or FrConfig).
// ---------------------------------------------------------------------------------------------------------------
template <class C> struct Fp {
    u32 v[8];

    static ZKR_DEV Fp zero() {
        Fp r;
#pragma unroll
        for (int i = 0; i < 8; i++) r.v[i] = 0;
        return r;
    }

    static ZKR_DEV Fp one() {
        Fp r;
#pragma unroll
        for (int i = 0; i < 8; i++) r.v[i] = C::one(i);
        return r;
    }

    static ZKR_DEV Fp modulus() {
        Fp r;
#pragma unroll
        for (int i = 0; i < 8; i++) r.v[i] = C::p(i);
        return r;
    }

    ZKR_DEV bool is_zero() const {
        u32 acc = 0;
#pragma unroll
        for (int i = 0; i < 8; i++) acc |= v[i];
        return acc == 0;
    }

    ZKR_DEV bool operator==(const Fp& o) const {
        u32 acc = 0;
#pragma unroll
        for (int i = 0; i < 8; i++) acc |= v[i] ^ o.v[i];
        return acc == 0;
    }

    // a + b mod p: add, then subtract p unless that borrows (a + b < 2p, so one subtraction suffices).
    friend ZKR_DEV Fp operator+(const Fp& a, const Fp& b) {
        Fp s, d;
        add8(s.v, a.v, b.v);
        const Fp p = modulus();
        const u32 borrow = sub8(d.v, s.v, p.v);
#pragma unroll
        for (int i = 0; i < 8; i++) d.v[i] = borrow ? s.v[i] : d.v[i];
        return d;
    }

    // a - b mod p: subtract, and add p back when it borrowed.
    friend ZKR_DEV Fp operator-(const Fp& a, const Fp& b) {
        Fp d, s;
        const u32 borrow = sub8(d.v, a.v, b.v);
        Fp p = modulus();
#pragma unroll
        for (int i = 0; i < 8; i++) p.v[i] &= borrow;
        add8(s.v, d.v, p.v);
        return s;
    }

    ZKR_DEV Fp operator-() const {
        Fp r = modulus() - *this;
        // p - 0 = p is not reduced: the negation of zero is zero.
        const u32 keep = is_zero() ? 0u : 0xffffffffu;
#pragma unroll
        for (int i = 0; i < 8; i++) r.v[i] &= keep;
        return r;
    }

    ZKR_DEV Fp dbl() const { return *this + *this; }

    // Montgomery product a * b * 2^-256 mod p (CIOS, one 32-bit word of b per round).
    //
    // Invariant: t < 2p at the start of each round. Adding a * b_i (< p * 2^32) and m * p (< p * 2^32) keeps
    // t < 2p + 2^33 p < 2^288 (p < 2^254), so nine limbs hold it and the high-half rows never carry out; choosing
    // m = t_0 * (-p^-1) mod 2^32 zeroes the low limb, the shift by one limb divides by 2^32, and
    // (2p + 2^33 p) / 2^32 < 2p + 1 restores the invariant. One conditional subtraction finishes.
    friend ZKR_DEV Fp operator*(const Fp& a, const Fp& b) {
        u32 t[9];
#pragma unroll
        for (int i = 0; i < 9; i++) t[i] = 0;
        u32 p[8];
#pragma unroll
        for (int i = 0; i < 8; i++) p[i] = C::p(i);
#pragma unroll
        for (int i = 0; i < 8; i++) {
            mad_lo_row(t, a.v, b.v[i]);
            mad_hi_row(t, a.v, b.v[i]);
            const u32 m = t[0] * C::INV;
            mad_lo_row(t, p, m);
            mad_hi_row(t, p, m);
            // t[0] is now zero: shift right by one limb.
#pragma unroll
            for (int j = 0; j < 8; j++) t[j] = t[j + 1];
            t[8] = 0;
        }
        Fp s, d;
#pragma unroll
        for (int i = 0; i < 8; i++) s.v[i] = t[i];
        const u32 borrow = sub8(d.v, s.v, p);
#pragma unroll
        for (int i = 0; i < 8; i++) d.v[i] = borrow ? s.v[i] : d.v[i];
        return d;
    }

    ZKR_DEV Fp sqr() const { return *this * *this; }

    // Montgomery form to the canonical integer: a * R * R^-1 = a, i.e. a Montgomery product with the integer 1.
    ZKR_DEV Fp from_montgomery() const {
        Fp one_int = zero();
        one_int.v[0] = 1;
        return *this * one_int;
    }

    // this^e by square-and-multiply over the bits of e, most significant first.
    ZKR_DEV Fp pow(u32 e) const {
        Fp r = one();
        for (int bit = 31; bit >= 0; bit--) {
            r = r.sqr();
            if ((e >> bit) & 1u) r = r * *this;
        }
        return r;
    }
};

typedef Fp<FqConfig> Fq;
typedef Fp<FrConfig> Fr;

// Limb `idx` of an 8-limb array without dynamic indexing (which would put the array in local memory).
ZKR_DEV u32 limb_at(const u32 v[8], u32 idx) {
    u32 r = 0;
#pragma unroll
    for (u32 i = 0; i < 8; i++) r = (i == idx) ? v[i] : r;
    return r;
}
