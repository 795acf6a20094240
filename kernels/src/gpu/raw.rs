//! Sharing halo2curves' arrays with the kernels byte for byte.
//!
//! halo2curves keeps `Fr`/`Fq` as four little-endian `u64` limbs in Montgomery form and `G1Affine` as `{x, y}`
//! (the identity as `(0, 0)`); the kernels read 8 little-endian `u32` limbs in the same Montgomery form, which is
//! the same bytes on a little-endian machine. Neither type is `#[repr(C)]`, so [`check_layout`] verifies once, at
//! run time, that the in-memory bytes of sample values equal halo2curves' own raw serialisation
//! ([`SerdeObject::write_raw`]) before any slice is reinterpreted.

use std::sync::OnceLock;

use ff::Field;
use group::prime::PrimeCurveAffine;
use halo2curves::{
    bn256::{Fq, Fr, G1Affine},
    serde::SerdeObject,
};

use super::error::{GpuError, Result};

/// Bytes of a field element on the device.
pub(crate) const FIELD_BYTES: usize = 32;
/// Bytes of an affine point on the device.
pub(crate) const AFFINE_BYTES: usize = 64;
/// Bytes of an XYZZ point on the device.
pub(crate) const XYZZ_BYTES: usize = 128;
/// Bytes of a Jacobian point on the device.
pub(crate) const JACOBIAN_BYTES: usize = 96;

/// In-memory bytes of one value.
fn bytes_of<T: Copy>(value: &T) -> &[u8] {
    // SAFETY: any initialised `T: Copy` value can be viewed as `size_of::<T>()` bytes; the types used here have no
    // padding (checked by the size assertions in `layout_ok`).
    unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }
}

fn raw<T: SerdeObject>(value: &T) -> Vec<u8> {
    value.to_raw_bytes()
}

fn layout_ok() -> bool {
    if size_of::<Fr>() != FIELD_BYTES || size_of::<Fq>() != FIELD_BYTES || size_of::<G1Affine>() != AFFINE_BYTES {
        return false;
    }
    if align_of::<Fr>() > 8 || align_of::<G1Affine>() > 8 {
        return false;
    }
    let frs = [Fr::ZERO, Fr::ONE, -Fr::ONE, Fr::from(0x0123_4567_89ab_cdef_u64).square()];
    let fqs = [Fq::ZERO, Fq::ONE, -Fq::ONE, Fq::from(0xfedc_ba98_7654_3210_u64).square()];
    let points = [G1Affine::identity(), G1Affine::generator(), -G1Affine::generator()];
    frs.iter().all(|v| bytes_of(v) == raw(v).as_slice())
        && fqs.iter().all(|v| bytes_of(v) == raw(v).as_slice())
        && points.iter().all(|p| bytes_of(p) == raw(p).as_slice())
}

/// Verifies (once per process) that halo2curves' types have the raw layout the kernels read.
pub(crate) fn check_layout() -> Result<()> {
    static OK: OnceLock<bool> = OnceLock::new();
    if *OK.get_or_init(layout_ok) {
        Ok(())
    } else {
        Err(GpuError::Layout("Fr/Fq/G1Affine are not raw little-endian Montgomery limbs in memory"))
    }
}

/// The bytes of `values`. Callers must have passed [`check_layout`].
pub(crate) fn fr_bytes(values: &[Fr]) -> &[u8] {
    // SAFETY: `Fr` is 32 bytes without padding (checked by `check_layout`); u8 has no alignment requirement.
    unsafe { std::slice::from_raw_parts(values.as_ptr().cast::<u8>(), std::mem::size_of_val(values)) }
}

/// The bytes of `values`, writable. Callers must have passed [`check_layout`], and may only write the bytes of
/// reduced field elements (what the kernels produce).
pub(crate) fn fr_bytes_mut(values: &mut [Fr]) -> &mut [u8] {
    // SAFETY: as in `fr_bytes`; every bit pattern is a valid `[u64; 4]`, and the kernels write reduced elements.
    unsafe { std::slice::from_raw_parts_mut(values.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(values)) }
}

/// The bytes of `points`. Callers must have passed [`check_layout`].
pub(crate) fn affine_bytes(points: &[G1Affine]) -> &[u8] {
    // SAFETY: `G1Affine` is 64 bytes without padding (checked by `check_layout`).
    unsafe { std::slice::from_raw_parts(points.as_ptr().cast::<u8>(), std::mem::size_of_val(points)) }
}

/// A field element as the 8 little-endian `u32` limbs of a kernel parameter.
pub(crate) fn fr_limbs(value: &Fr) -> [u32; 8] {
    let bytes = raw(value);
    std::array::from_fn(|i| u32::from_le_bytes([bytes[4 * i], bytes[4 * i + 1], bytes[4 * i + 2], bytes[4 * i + 3]]))
}

/// Reads a reduced `Fq` from 32 raw Montgomery bytes; `None` if it is not below the modulus.
pub(crate) fn fq_from_raw(bytes: &[u8]) -> Option<Fq> {
    Fq::from_raw_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halo2curves_layout_is_raw_montgomery_limbs() {
        assert!(check_layout().is_ok());
        let values = [Fr::ONE, Fr::from(7u64)];
        assert_eq!(fr_bytes(&values)[..32], raw(&Fr::ONE)[..]);
        // Montgomery form of 1 is R mod r; its low limb (as the kernels see it) is 0x4ffffffb.
        assert_eq!(fr_limbs(&Fr::ONE)[0], 0x4fff_fffb);
        let points = [G1Affine::identity()];
        assert!(affine_bytes(&points).iter().all(|&b| b == 0), "identity is (0, 0)");
    }

    #[test]
    fn fq_from_raw_rejects_unreduced() {
        assert_eq!(fq_from_raw(&raw(&Fq::ONE)), Some(Fq::ONE));
        assert_eq!(fq_from_raw(&[0xff; 32]), None);
    }
}
