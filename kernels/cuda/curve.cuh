// BN254 G1 (y^2 = x^3 + 3 over Fq, a = 0, prime order: no point has y = 0).
//
// Three representations:
// - Affine {x, y}: the host's halo2curves `G1Affine` byte for byte; the identity is encoded as (0, 0).
// - XYZZ {X, Y, ZZ, ZZZ} with x = X/ZZ, y = Y/ZZZ (ZZ^3 = ZZZ^2); identity: ZZ = 0. Cheapest mixed addition
//   (affine + XYZZ: 8M + 2S), used for the bucket sums.
// - Jacobian {X, Y, Z} with x = X/Z^2, y = Y/Z^3; identity: Z = 0. Cheapest doubling (2M + 5S), used where the MSM
//   doubles many times (window combination); it is also what the host receives.
//
// Formulas: EFD, "shortw-xyzz" (madd-2008-s, mdbl-2008-s-1, add-2008-s, dbl-2008-s-1) and "shortw-jacobian-0"
// (add-2007-bl, dbl-2009-l). Every addition checks for P == Q (doubling) and P == -Q (identity) and the identities.
#pragma once
#include "field.cuh"

struct Affine {
    Fq x, y;
    ZKR_DEV bool is_identity() const { return x.is_zero() && y.is_zero(); }
};

struct Xyzz {
    Fq x, y, zz, zzz;

    static ZKR_DEV Xyzz identity() {
        Xyzz r;
        r.x = Fq::one();
        r.y = Fq::one();
        r.zz = Fq::zero();
        r.zzz = Fq::zero();
        return r;
    }
    ZKR_DEV bool is_identity() const { return zz.is_zero(); }
    ZKR_DEV Xyzz neg() const {
        Xyzz r = *this;
        r.y = -y;
        return r;
    }
};

struct Jacobian {
    Fq x, y, z;

    static ZKR_DEV Jacobian identity() {
        Jacobian r;
        r.x = Fq::one();
        r.y = Fq::one();
        r.z = Fq::zero();
        return r;
    }
    ZKR_DEV bool is_identity() const { return z.is_zero(); }
};

// ---------------------------------------------------------------------------------------------------------------
// XYZZ
// ---------------------------------------------------------------------------------------------------------------

// 2 * (x, y) for an affine point that is not the identity (mdbl-2008-s-1).
ZKR_DEV Xyzz xyzz_dbl_affine(const Affine& p) {
    const Fq u = p.y.dbl();   // U = 2Y
    const Fq v = u.sqr();     // V = U^2
    const Fq w = u * v;       // W = U V
    const Fq s = p.x * v;     // S = X V
    const Fq x2 = p.x.sqr();
    const Fq m = x2.dbl() + x2;  // M = 3 X^2 (a = 0)
    Xyzz r;
    r.x = m.sqr() - s.dbl();          // X3 = M^2 - 2S
    r.y = m * (s - r.x) - w * p.y;    // Y3 = M (S - X3) - W Y
    r.zz = v;
    r.zzz = w;
    return r;
}

// 2P (dbl-2008-s-1). The identity doubles to the identity since ZZ3 = V ZZ = 0.
ZKR_DEV Xyzz xyzz_dbl(const Xyzz& p) {
    const Fq u = p.y.dbl();
    const Fq v = u.sqr();
    const Fq w = u * v;
    const Fq s = p.x * v;
    const Fq x2 = p.x.sqr();
    const Fq m = x2.dbl() + x2;
    Xyzz r;
    r.x = m.sqr() - s.dbl();
    r.y = m * (s - r.x) - w * p.y;
    r.zz = v * p.zz;
    r.zzz = w * p.zzz;
    return r;
}

// P + Q with Q affine (madd-2008-s): the bucket accumulation step.
ZKR_DEV Xyzz xyzz_add_affine(const Xyzz& p, const Affine& q) {
    if (q.is_identity()) return p;
    if (p.is_identity()) {
        Xyzz r;
        r.x = q.x;
        r.y = q.y;
        r.zz = Fq::one();
        r.zzz = Fq::one();
        return r;
    }
    const Fq u2 = q.x * p.zz;   // U2 = X2 ZZ1
    const Fq s2 = q.y * p.zzz;  // S2 = Y2 ZZZ1
    const Fq pp_ = u2 - p.x;    // P = U2 - X1
    const Fq r_ = s2 - p.y;     // R = S2 - Y1
    if (pp_.is_zero()) {
        // Same x: either the same point (double it) or its negation (the sum is the identity).
        return r_.is_zero() ? xyzz_dbl_affine(q) : Xyzz::identity();
    }
    const Fq pp = pp_.sqr();      // PP = P^2
    const Fq ppp = pp_ * pp;      // PPP = P PP
    const Fq q_ = p.x * pp;       // Q = X1 PP
    Xyzz r;
    r.x = r_.sqr() - ppp - q_.dbl();        // X3 = R^2 - PPP - 2Q
    r.y = r_ * (q_ - r.x) - p.y * ppp;      // Y3 = R (Q - X3) - Y1 PPP
    r.zz = p.zz * pp;
    r.zzz = p.zzz * ppp;
    return r;
}

// P + Q (add-2008-s).
ZKR_DEV Xyzz xyzz_add(const Xyzz& p, const Xyzz& q) {
    if (q.is_identity()) return p;
    if (p.is_identity()) return q;
    const Fq u1 = p.x * q.zz;
    const Fq u2 = q.x * p.zz;
    const Fq s1 = p.y * q.zzz;
    const Fq s2 = q.y * p.zzz;
    const Fq pp_ = u2 - u1;
    const Fq r_ = s2 - s1;
    if (pp_.is_zero()) return r_.is_zero() ? xyzz_dbl(p) : Xyzz::identity();
    const Fq pp = pp_.sqr();
    const Fq ppp = pp_ * pp;
    const Fq q_ = u1 * pp;
    Xyzz r;
    r.x = r_.sqr() - ppp - q_.dbl();
    r.y = r_ * (q_ - r.x) - s1 * ppp;
    r.zz = p.zz * q.zz * pp;
    r.zzz = p.zzz * q.zzz * ppp;
    return r;
}

// k * P by double-and-add over the bits of k, most significant first.
ZKR_DEV Xyzz xyzz_mul_u32(const Xyzz& p, u32 k) {
    Xyzz r = Xyzz::identity();
    for (int bit = 31 - __clz(k | 1u); bit >= 0; bit--) {
        r = xyzz_dbl(r);
        if ((k >> bit) & 1u) r = xyzz_add(r, p);
    }
    return r;
}

// XYZZ to Jacobian without an inversion. With ZZ = t^2, ZZZ = t^3 (t = ZZZ/ZZ), take Z = ZZ ZZZ:
// X_J = x Z^2 = X ZZ ZZZ^2 and Y_J = y Z^3 = Y ZZ^3 ZZZ^2.
ZKR_DEV Jacobian jacobian_from_xyzz(const Xyzz& p) {
    if (p.is_identity()) return Jacobian::identity();
    const Fq zzz2 = p.zzz.sqr();
    const Fq zz_zzz2 = p.zz * zzz2;
    Jacobian r;
    r.x = p.x * zz_zzz2;
    r.y = p.y * zz_zzz2 * p.zz.sqr();
    r.z = p.zz * p.zzz;
    return r;
}

// ---------------------------------------------------------------------------------------------------------------
// Jacobian
// ---------------------------------------------------------------------------------------------------------------

// 2P (dbl-2009-l, a = 0). The identity maps to Z3 = 2 Y Z = 0.
ZKR_DEV Jacobian jacobian_dbl(const Jacobian& p) {
    const Fq a = p.x.sqr();                      // A = X^2
    const Fq b = p.y.sqr();                      // B = Y^2
    const Fq c = b.sqr();                        // C = B^2
    const Fq d = ((p.x + b).sqr() - a - c).dbl();  // D = 2((X + B)^2 - A - C)
    const Fq e = a.dbl() + a;                    // E = 3A
    const Fq f = e.sqr();                        // F = E^2
    Jacobian r;
    r.x = f - d.dbl();                           // X3 = F - 2D
    const Fq c8 = c.dbl().dbl().dbl();
    r.y = e * (d - r.x) - c8;                    // Y3 = E (D - X3) - 8C
    r.z = (p.y * p.z).dbl();                     // Z3 = 2 Y Z
    return r;
}

// P + Q (add-2007-bl).
ZKR_DEV Jacobian jacobian_add(const Jacobian& p, const Jacobian& q) {
    if (q.is_identity()) return p;
    if (p.is_identity()) return q;
    const Fq z1z1 = p.z.sqr();
    const Fq z2z2 = q.z.sqr();
    const Fq u1 = p.x * z2z2;
    const Fq u2 = q.x * z1z1;
    const Fq s1 = p.y * q.z * z2z2;
    const Fq s2 = q.y * p.z * z1z1;
    const Fq h = u2 - u1;
    const Fq rr = (s2 - s1).dbl();
    if (h.is_zero()) return rr.is_zero() ? jacobian_dbl(p) : Jacobian::identity();
    const Fq i = h.dbl().sqr();     // I = (2H)^2
    const Fq j = h * i;             // J = H I
    const Fq v = u1 * i;            // V = U1 I
    Jacobian r;
    r.x = rr.sqr() - j - v.dbl();                 // X3 = r^2 - J - 2V
    r.y = rr * (v - r.x) - (s1 * j).dbl();        // Y3 = r (V - X3) - 2 S1 J
    r.z = ((p.z + q.z).sqr() - z1z1 - z2z2) * h;  // Z3 = ((Z1 + Z2)^2 - Z1Z1 - Z2Z2) H
    return r;
}
