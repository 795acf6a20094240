//! Replays committed batches from L1 data alone, chunk by chunk, producing the witnesses a prover needs.
//!
//! A prover keeps its own copy of the state: it starts from the chain's genesis state and applies every committed
//! batch in order, so it needs nothing from the node but the committed bytes (and the L1 deposit hash the chain
//! starts from). A node that misbehaved is caught here too: its claimed roots are not what the replay produces.

use alloy_primitives::{Address, B256, U256};
use zkr_state::{Account, AccountTree, field::fr_to_b256};

use crate::{ChunkWitness, RecordError, WITHDRAWAL_ADDRESS, WitnessError, build_chunk, decode_chunk};

/// The state a replay starts from: the chain's genesis.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Genesis {
    /// The chain's fee recipient.
    pub fee_recipient: Address,
    /// Genesis balances, in the order the genesis state inserts them.
    pub alloc: Vec<(Address, U256)>,
}

impl Genesis {
    /// The genesis state tree: the zero address, the fee recipient, the withdrawal counter, then the balances.
    pub fn state(&self) -> Result<AccountTree, zkr_state::Error> {
        let mut tree = AccountTree::new();
        tree.set(self.fee_recipient, Account::default())?;
        tree.set(WITHDRAWAL_ADDRESS, Account::default())?;
        for (address, balance) in &self.alloc {
            let nonce = tree.get(address).map_or(0, |a| a.nonce);
            tree.set(*address, Account { nonce, balance: *balance })?;
        }
        Ok(tree)
    }
}

/// A replica of the L2 state that advances one committed batch at a time.
#[derive(Debug)]
pub struct Replayer {
    tree: AccountTree,
    fee_recipient: Address,
    deposit_hash: B256,
    slots: usize,
    chunks_per_batch: usize,
}

/// Why a batch cannot be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The committed bytes do not decode.
    #[error("chunk {chunk}: {source}")]
    Decode {
        /// Chunk position.
        chunk: usize,
        /// Why.
        source: RecordError,
    },
    /// More chunks than a batch proof holds.
    #[error("{0} chunks exceed the {1} a batch proof holds")]
    TooManyChunks(usize, usize),
    /// A record does not apply.
    #[error("chunk {chunk}: {source}")]
    Witness {
        /// Chunk position.
        chunk: usize,
        /// Why.
        source: WitnessError,
    },
    /// The genesis state is invalid.
    #[error(transparent)]
    State(#[from] zkr_state::Error),
}

impl Replayer {
    /// A replica at genesis, for chunks of `slots` records and batches of `chunks_per_batch` chunks.
    pub fn new(genesis: &Genesis, slots: usize, chunks_per_batch: usize) -> Result<Self, ReplayError> {
        Ok(Self {
            tree: genesis.state()?,
            fee_recipient: genesis.fee_recipient,
            deposit_hash: B256::ZERO,
            slots,
            chunks_per_batch,
        })
    }

    /// The current state root.
    pub fn state_root(&mut self) -> Result<B256, ReplayError> {
        Ok(fr_to_b256(&self.tree.root()?))
    }

    /// The deposit hash-chain value the next batch starts from.
    pub const fn deposit_hash(&self) -> B256 {
        self.deposit_hash
    }

    /// Applies one committed batch and returns its chunk witnesses, padded with empty chunks to the batch proof's
    /// chunk count. On error the replica is left unusable for this batch (the caller stops: committed data that does
    /// not replay is a sequencer fault).
    pub fn apply_batch(&mut self, chunks: &[impl AsRef<[u8]>]) -> Result<Vec<ChunkWitness>, ReplayError> {
        if chunks.len() > self.chunks_per_batch {
            return Err(ReplayError::TooManyChunks(chunks.len(), self.chunks_per_batch));
        }
        let mut witnesses = Vec::with_capacity(self.chunks_per_batch);
        for chunk in 0..self.chunks_per_batch {
            let records = match chunks.get(chunk) {
                Some(bytes) => decode_chunk(bytes.as_ref()).map_err(|source| ReplayError::Decode { chunk, source })?,
                None => Vec::new(),
            };
            let witness = build_chunk(&mut self.tree, self.slots, self.fee_recipient, self.deposit_hash, &records)
                .map_err(|source| ReplayError::Witness { chunk, source })?;
            self.deposit_hash = witness.public.deposit_hash_after;
            witnesses.push(witness);
        }
        Ok(witnesses)
    }
}
