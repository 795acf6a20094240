//! The rollup's state commitment, shared by the node (which computes state roots natively) and the circuits (which
//! recompute them in a proof): the two must be the same function, so both take it from here.
//!
//! - [`field`]: BN254's scalar field and its conversions to Ethereum's 32-byte words.
//! - [`poseidon`]: native Poseidon equal to halo2-base's in-circuit hasher.
//! - [`AccountTree`]: the accounts (nonce, balance) in an indexed Merkle tree of depth [`TREE_DEPTH`], one leaf per
//!   address; its root is the state root in every block, batch and proof.

pub mod field;
pub mod poseidon;

mod error;
mod tree;

pub use error::{Error, Result};
pub use tree::{Account, AccountLeaf, AccountProof, AccountTree, LeafProof, MAX_BALANCE, TREE_DEPTH};
