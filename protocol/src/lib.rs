//! The rollup's proving protocol, shared by the node (which writes batches), the coordinator (which ships jobs) and
//! the circuits (which prove them):
//!
//! - [`hashes`]: the hashes the L1 contracts compute (batch hash, deposit chain, withdrawal tree), computed here the
//!   same way;
//! - [`record`]: the fixed-width records a chunk of a batch commits to L1, and their encoding;
//! - [`chunk`]: the chunk's statement (its public inputs) and where its withdrawals sit in the batch's tree;
//! - [`witness`]: the native replay of a chunk over the state tree, producing every Merkle path the circuit checks.
//!   It is a second implementation of the execution rules the proof covers, so it doubles as the reference the node's
//!   revm execution is tested against.
//! - [`replay`]: a prover's replica of the state, advanced by committed batches alone;
//! - [`statement`]: where each public input of a chunk proof and of a batch proof sits;
//! - [`shape`]: the proof shape (chunk slots, circuit sizes, chunks per batch) every component reads from the
//!   deployment file ([`deployment`]).
//!
//! A batch is a sequence of chunks. Each chunk is proven on its own; the aggregation proof chains them (state roots
//! and deposit hashes) and the Rollup contract checks their data hashes against what was committed.

pub mod chunk;
pub mod deployment;
pub mod hashes;
pub mod record;
pub mod replay;
pub mod shape;
pub mod statement;
pub mod witness;

pub use chunk::{CHUNK_WITHDRAWAL_HEIGHT, ChunkPublicInputs, batch_withdrawal_root, chunk_withdrawal_root};
pub use deployment::{Deployment, DeploymentError, DisputeParams, SettlementMode};
/// Splits a 32-byte value into its high and low 128-bit halves (the public-input form of a hash).
pub use hashes::split_u256;
pub use record::{DepositRecord, RECORD_BYTES, Record, RecordError, TransferRecord, decode_chunk, encode_chunk};
pub use replay::{Genesis, ReplayError, Replayer};
pub use shape::{LayerFlag, LayerShape, ProofShape};
pub use witness::{ChunkWitness, LeafWrite, SlotWitness, WitnessError, WriteSlot, build_chunk};

use alloy_primitives::{Address, U256, address};

/// Order of the BN254 scalar field: state roots are Poseidon hashes over it, so every state root (and the Rollup's
/// `SCALAR_FIELD` check) is below it.
pub const SCALAR_FIELD_ORDER: U256 =
    U256::from_limbs([0x43e1_f593_f000_0001, 0x2833_e848_79b9_7091, 0xb850_45b6_8181_585d, 0x3064_4e72_e131_a029]);

/// Value sent to this address leaves L2 as a withdrawal to the sender's own address on L1. Its leaf in the state tree
/// holds no balance; its nonce counts the withdrawals made so far, which numbers them (the Portal pays each leaf
/// once, so numbers must never repeat).
pub const WITHDRAWAL_ADDRESS: Address = address!("0x0000000000000000000000000000000000000100");

/// Gas a value transfer uses: the intrinsic gas of a call without calldata or access list.
pub const TRANSFER_GAS: u64 = 21_000;
