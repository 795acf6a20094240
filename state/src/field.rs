//! The BN254 scalar field and its conversions to the 32-byte big-endian words Ethereum and the contracts use.

use alloy_primitives::{Address, B256, U256};
pub use halo2_base::halo2_proofs::halo2curves::{
    bn256::Fr,
    ff::{Field, PrimeField},
};

use crate::{Error, Result};

/// The field element as a 32-byte big-endian word (how state roots appear in blocks and on L1).
pub fn fr_to_b256(value: &Fr) -> B256 {
    let mut bytes = value.to_repr();
    bytes.reverse();
    B256::from(bytes)
}

/// The field element of a 32-byte big-endian word; values at or above the field order are rejected, never reduced.
pub fn fr_from_b256(word: B256) -> Result<Fr> {
    let mut bytes = word.0;
    bytes.reverse();
    Option::from(Fr::from_repr(bytes)).ok_or(Error::NotAFieldElement(word))
}

/// The field element of an integer below the field order; larger values are rejected.
pub fn fr_from_u256(value: U256) -> Result<Fr> {
    fr_from_b256(B256::from(value))
}

/// An address as a field element (160 bits always fit).
pub fn fr_from_address(address: Address) -> Fr {
    let mut word = [0u8; 32];
    word[12..].copy_from_slice(address.as_slice());
    word.reverse();
    Fr::from_repr(word).expect("160-bit values are below the field order")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_values_outside_the_field() {
        let x = Fr::from(0x1234_5678_9abc_def0u64);
        let word = fr_to_b256(&x);
        assert_eq!(word, B256::from(U256::from(0x1234_5678_9abc_def0u64)));
        assert_eq!(fr_from_b256(word).unwrap(), x);

        let modulus =
            U256::from_str_radix("30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001", 16).unwrap();
        assert_eq!(fr_from_u256(modulus - U256::from(1)).unwrap(), -Fr::ONE);
        assert!(fr_from_u256(modulus).is_err());
        assert!(fr_from_b256(B256::repeat_byte(0xff)).is_err());
    }

    #[test]
    fn addresses_map_to_their_integer_value() {
        let address = Address::repeat_byte(0xab);
        let expected = U256::from_be_slice(address.as_slice());
        assert_eq!(fr_to_b256(&fr_from_address(address)), B256::from(expected));
    }
}
