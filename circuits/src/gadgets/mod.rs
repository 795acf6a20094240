//! Circuit building blocks over halo2-base.

pub mod bytes;
pub mod poseidon;
