//! The bytes of a chunk, as the Rollup commits them and the chunk circuit reads them.
//!
//! A chunk is a sequence of fixed-width records, nothing else: the circuit reads record `i` at byte `i * RECORD_BYTES`
//! without parsing, and the Rollup stores `keccak256` of exactly these bytes. Every field sits at the same offset in
//! every kind of record, so the circuit reads each field once whatever the kind. Integers are big-endian; unused
//! bytes are zero.
//!
//! ```text
//!  offset  size  transfer (kind 1)            deposit (kind 2)
//!       0     1  kind = 1                     kind = 2
//!       1     8  L2 block number              L2 block number
//!       9     8  block timestamp              block timestamp
//!      17     8  block base fee               0
//!      25     8  sender nonce                 deposit index in the L1 queue
//!      33    20  sender                       L1 sender
//!      53    20  recipient                    L2 recipient
//!      73    32  value                        value
//!     105     1  type (0 legacy, 1 EIP-2930,  0
//!                2 EIP-1559)
//!     106     8  gas limit                    0
//!     114    16  max fee per gas              0
//!     130    16  max priority fee per gas     0
//!     146    32  signature r                  0
//!     178    32  signature s                  0
//!     210     1  signature y parity           0
//! ```
//!
//! Bytes 25..105 of a deposit are exactly the tail of the Portal's hash-chain preimage (index, from, to, value), so
//! the circuit hashes them in place. A transfer carries its signature and type so that the signed transaction can be
//! rebuilt from L1 alone (the chain id is the chain's; calldata and access lists are always empty in zk mode); legacy
//! and EIP-2930 transactions store their gas price as both fee fields. Values are at most 2^128 - 1 (no account can
//! hold more), so the first 16 bytes of the value field are zero.

use alloy_primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};

/// Width of every record.
pub const RECORD_BYTES: usize = 211;

/// Byte offsets of the fields (see the module docs).
pub mod offset {
    /// Record kind.
    pub const KIND: usize = 0;
    /// L2 block number.
    pub const BLOCK: usize = 1;
    /// Block timestamp.
    pub const TIMESTAMP: usize = 9;
    /// Block base fee.
    pub const BASE_FEE: usize = 17;
    /// Sender nonce, or deposit index.
    pub const NONCE: usize = 25;
    /// Sender.
    pub const FROM: usize = 33;
    /// Recipient.
    pub const TO: usize = 53;
    /// Value (32 bytes).
    pub const VALUE: usize = 73;
    /// Transaction type.
    pub const TX_TYPE: usize = 105;
    /// Gas limit.
    pub const GAS_LIMIT: usize = 106;
    /// Max fee per gas.
    pub const MAX_FEE: usize = 114;
    /// Max priority fee per gas.
    pub const MAX_PRIORITY_FEE: usize = 130;
    /// Signature r.
    pub const SIG_R: usize = 146;
    /// Signature s.
    pub const SIG_S: usize = 178;
    /// Signature y parity.
    pub const SIG_V: usize = 210;
}

/// Record kind byte of a transfer.
pub const KIND_TRANSFER: u8 = 1;
/// Record kind byte of a deposit.
pub const KIND_DEPOSIT: u8 = 2;

/// A value transfer (a withdrawal when the recipient is [`crate::WITHDRAWAL_ADDRESS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferRecord {
    /// L2 block number.
    pub block: u64,
    /// Block timestamp.
    pub timestamp: u64,
    /// Block base fee.
    pub base_fee: u64,
    /// Transaction type: 0 legacy, 1 EIP-2930, 2 EIP-1559.
    pub tx_type: u8,
    /// Sender nonce.
    pub nonce: u64,
    /// Sender.
    pub from: Address,
    /// Recipient.
    pub to: Address,
    /// Value in wei.
    #[serde(with = "u128_decimal")]
    pub value: u128,
    /// Gas limit.
    pub gas_limit: u64,
    /// Max fee per gas (the gas price of legacy and EIP-2930 transactions).
    #[serde(with = "u128_decimal")]
    pub max_fee_per_gas: u128,
    /// Max priority fee per gas (the gas price of legacy and EIP-2930 transactions).
    #[serde(with = "u128_decimal")]
    pub max_priority_fee_per_gas: u128,
    /// Signature r.
    pub r: B256,
    /// Signature s.
    pub s: B256,
    /// Signature y parity.
    pub y_parity: bool,
}

/// An L1 deposit credited on L2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DepositRecord {
    /// L2 block number.
    pub block: u64,
    /// Block timestamp.
    pub timestamp: u64,
    /// Position in the Portal's queue.
    pub index: u64,
    /// L1 sender.
    pub from: Address,
    /// L2 recipient.
    pub to: Address,
    /// Value in wei.
    #[serde(with = "u128_decimal")]
    pub value: u128,
}

/// One record of a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Record {
    /// A value transfer.
    Transfer(TransferRecord),
    /// A deposit.
    Deposit(DepositRecord),
}

impl Record {
    /// The record's bytes.
    pub fn encode(&self) -> [u8; RECORD_BYTES] {
        use offset::*;
        let mut out = [0u8; RECORD_BYTES];
        let (block, timestamp) = match self {
            Self::Transfer(t) => (t.block, t.timestamp),
            Self::Deposit(d) => (d.block, d.timestamp),
        };
        out[BLOCK..BLOCK + 8].copy_from_slice(&block.to_be_bytes());
        out[TIMESTAMP..TIMESTAMP + 8].copy_from_slice(&timestamp.to_be_bytes());
        match self {
            Self::Transfer(t) => {
                out[KIND] = KIND_TRANSFER;
                out[BASE_FEE..BASE_FEE + 8].copy_from_slice(&t.base_fee.to_be_bytes());
                out[NONCE..NONCE + 8].copy_from_slice(&t.nonce.to_be_bytes());
                out[FROM..FROM + 20].copy_from_slice(t.from.as_slice());
                out[TO..TO + 20].copy_from_slice(t.to.as_slice());
                out[VALUE + 16..VALUE + 32].copy_from_slice(&t.value.to_be_bytes());
                out[TX_TYPE] = t.tx_type;
                out[GAS_LIMIT..GAS_LIMIT + 8].copy_from_slice(&t.gas_limit.to_be_bytes());
                out[MAX_FEE..MAX_FEE + 16].copy_from_slice(&t.max_fee_per_gas.to_be_bytes());
                out[MAX_PRIORITY_FEE..MAX_PRIORITY_FEE + 16].copy_from_slice(&t.max_priority_fee_per_gas.to_be_bytes());
                out[SIG_R..SIG_R + 32].copy_from_slice(t.r.as_slice());
                out[SIG_S..SIG_S + 32].copy_from_slice(t.s.as_slice());
                out[SIG_V] = u8::from(t.y_parity);
            }
            Self::Deposit(d) => {
                out[KIND] = KIND_DEPOSIT;
                out[NONCE..NONCE + 8].copy_from_slice(&d.index.to_be_bytes());
                out[FROM..FROM + 20].copy_from_slice(d.from.as_slice());
                out[TO..TO + 20].copy_from_slice(d.to.as_slice());
                out[VALUE + 16..VALUE + 32].copy_from_slice(&d.value.to_be_bytes());
            }
        }
        out
    }

    /// Parses one record, refusing unknown kinds, oversized values and non-zero unused bytes.
    pub fn decode(bytes: &[u8; RECORD_BYTES]) -> Result<Self, RecordError> {
        use offset::*;
        let u64_at = |at: usize| u64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        let u128_at = |at: usize| u128::from_be_bytes(bytes[at..at + 16].try_into().expect("16 bytes"));
        let address_at = |at: usize| Address::from_slice(&bytes[at..at + 20]);
        if bytes[VALUE..VALUE + 16].iter().any(|b| *b != 0) {
            return Err(RecordError::ValueTooLarge);
        }
        let record = match bytes[KIND] {
            KIND_TRANSFER => {
                if bytes[TX_TYPE] > 2 {
                    return Err(RecordError::TxType(bytes[TX_TYPE]));
                }
                if bytes[SIG_V] > 1 {
                    return Err(RecordError::YParity(bytes[SIG_V]));
                }
                Self::Transfer(TransferRecord {
                    block: u64_at(BLOCK),
                    timestamp: u64_at(TIMESTAMP),
                    base_fee: u64_at(BASE_FEE),
                    tx_type: bytes[TX_TYPE],
                    nonce: u64_at(NONCE),
                    from: address_at(FROM),
                    to: address_at(TO),
                    value: u128_at(VALUE + 16),
                    gas_limit: u64_at(GAS_LIMIT),
                    max_fee_per_gas: u128_at(MAX_FEE),
                    max_priority_fee_per_gas: u128_at(MAX_PRIORITY_FEE),
                    r: B256::from_slice(&bytes[SIG_R..SIG_R + 32]),
                    s: B256::from_slice(&bytes[SIG_S..SIG_S + 32]),
                    y_parity: bytes[SIG_V] == 1,
                })
            }
            KIND_DEPOSIT => Self::Deposit(DepositRecord {
                block: u64_at(BLOCK),
                timestamp: u64_at(TIMESTAMP),
                index: u64_at(NONCE),
                from: address_at(FROM),
                to: address_at(TO),
                value: u128_at(VALUE + 16),
            }),
            kind => return Err(RecordError::Kind(kind)),
        };
        // Canonical form: re-encoding gives the same bytes (unused fields are zero).
        if &record.encode() != bytes {
            return Err(RecordError::NonCanonical);
        }
        Ok(record)
    }

    /// The record's block number.
    pub const fn block(&self) -> u64 {
        match self {
            Self::Transfer(t) => t.block,
            Self::Deposit(d) => d.block,
        }
    }

    /// The value as the tree stores it.
    pub fn value(&self) -> U256 {
        U256::from(match self {
            Self::Transfer(t) => t.value,
            Self::Deposit(d) => d.value,
        })
    }
}

/// The bytes of a chunk of records.
pub fn encode_chunk(records: &[Record]) -> Vec<u8> {
    records.iter().flat_map(|record| record.encode()).collect()
}

/// Parses a chunk's bytes.
pub fn decode_chunk(bytes: &[u8]) -> Result<Vec<Record>, RecordError> {
    if !bytes.len().is_multiple_of(RECORD_BYTES) {
        return Err(RecordError::Length(bytes.len()));
    }
    bytes.chunks_exact(RECORD_BYTES).map(|raw| Record::decode(raw.try_into().expect("exact chunks"))).collect()
}

/// Why chunk bytes do not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The length is not a whole number of records.
    #[error("chunk length {0} is not a multiple of {RECORD_BYTES}")]
    Length(usize),
    /// Unknown record kind.
    #[error("unknown record kind {0}")]
    Kind(u8),
    /// Unknown transaction type.
    #[error("unknown transaction type {0}")]
    TxType(u8),
    /// Signature parity is neither 0 nor 1.
    #[error("signature y parity {0} is not 0 or 1")]
    YParity(u8),
    /// The value does not fit in 128 bits.
    #[error("value does not fit in 128 bits")]
    ValueTooLarge,
    /// A field the kind does not use holds non-zero bytes.
    #[error("a field unused by the record kind is not zero")]
    NonCanonical,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn transfer() -> impl Strategy<Value = Record> {
        (any::<[u64; 5]>(), any::<[u8; 40]>(), any::<[u128; 3]>(), 0u8..3, any::<bool>(), any::<[u8; 64]>()).prop_map(
            |(n, a, f, tx_type, y_parity, sig)| {
                Record::Transfer(TransferRecord {
                    block: n[0],
                    timestamp: n[1],
                    base_fee: n[2],
                    tx_type,
                    nonce: n[3],
                    from: Address::from_slice(&a[..20]),
                    to: Address::from_slice(&a[20..]),
                    value: f[0],
                    gas_limit: n[4],
                    max_fee_per_gas: f[1],
                    max_priority_fee_per_gas: f[2],
                    r: B256::from_slice(&sig[..32]),
                    s: B256::from_slice(&sig[32..]),
                    y_parity,
                })
            },
        )
    }

    fn deposit() -> impl Strategy<Value = Record> {
        (any::<[u64; 3]>(), any::<[u8; 40]>(), any::<u128>()).prop_map(|(n, a, value)| {
            Record::Deposit(DepositRecord {
                block: n[0],
                timestamp: n[1],
                index: n[2],
                from: Address::from_slice(&a[..20]),
                to: Address::from_slice(&a[20..]),
                value,
            })
        })
    }

    proptest! {
        /// Records travel as JSON inside chunk witnesses (jobs of the proving cluster, `zkr-prove` batch files).
        #[test]
        fn records_round_trip_through_json(record in prop_oneof![transfer(), deposit()]) {
            let json = serde_json::to_string(&record).unwrap();
            prop_assert_eq!(serde_json::from_str::<Record>(&json).unwrap(), record);
        }

        #[test]
        fn chunks_round_trip(records in prop::collection::vec(prop_oneof![transfer(), deposit()], 0..8)) {
            let bytes = encode_chunk(&records);
            prop_assert_eq!(bytes.len(), records.len() * RECORD_BYTES);
            prop_assert_eq!(decode_chunk(&bytes).unwrap(), records);
        }

        #[test]
        fn any_flipped_byte_changes_or_fails_decoding(record in prop_oneof![transfer(), deposit()], at in 0..RECORD_BYTES, bit in 0u8..8) {
            let mut bytes = record.encode();
            bytes[at] ^= 1 << bit;
            if let Ok(decoded) = Record::decode(&bytes) {
                prop_assert_ne!(decoded, record);
            }
        }
    }

    #[test]
    fn deposit_tail_is_the_portal_preimage() {
        let record = DepositRecord {
            block: 1,
            timestamp: 2,
            index: 3,
            from: Address::repeat_byte(0x11),
            to: Address::repeat_byte(0x22),
            value: 7,
        };
        let bytes = Record::Deposit(record).encode();
        let mut expected = Vec::new();
        expected.extend_from_slice(&3u64.to_be_bytes());
        expected.extend_from_slice(record.from.as_slice());
        expected.extend_from_slice(record.to.as_slice());
        expected.extend_from_slice(&U256::from(7).to_be_bytes::<32>());
        assert_eq!(&bytes[offset::NONCE..offset::VALUE + 32], expected.as_slice());
    }

    #[test]
    fn refuses_bad_bytes() {
        assert_eq!(decode_chunk(&[0; RECORD_BYTES + 1]), Err(RecordError::Length(RECORD_BYTES + 1)));
        assert_eq!(decode_chunk(&[0; RECORD_BYTES]), Err(RecordError::Kind(0)));
        let mut bytes = [0u8; RECORD_BYTES];
        bytes[0] = KIND_DEPOSIT;
        bytes[offset::VALUE] = 1;
        assert_eq!(Record::decode(&bytes), Err(RecordError::ValueTooLarge));
        bytes[offset::VALUE] = 0;
        bytes[offset::SIG_R] = 1;
        assert_eq!(Record::decode(&bytes), Err(RecordError::NonCanonical));
    }
}

/// `u128` amounts as decimal strings in JSON. Records sit in an internally tagged enum, which serde buffers through a
/// representation without 128-bit integers, and JSON numbers above 2^53 lose precision in most readers anyway.
mod u128_decimal {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(value: &u128, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u128, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(|e| D::Error::custom(format!("{text:?} is not a decimal u128: {e}")))
    }
}
