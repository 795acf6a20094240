//! Blocks as chunk records, and back.
//!
//! A block becomes records in execution order: its deposits first ([`DepositRecord`]: block number, timestamp, queue
//! index, L1 sender, L2 recipient, value), then its transactions ([`TransferRecord`]: block number, timestamp, base
//! fee, type, nonce, sender, recipient, value, gas limit, both fee fields, signature). Legacy and EIP-2930
//! transactions store their gas price in both fee fields. Only plain value transfers have a record (no calldata, no
//! access list, no contract creation): exactly what zk-mode admission lets in.
//!
//! Going back, [`decode_batch`] turns a batch's chunks into the records of each block, and [`transfer_envelope`]
//! rebuilds the signed transaction of a transfer record, so L2 can be re-derived from L1 data alone.

use alloy::{
    consensus::{SignableTransaction, Transaction, TxEip1559, TxEip2930, TxEnvelope, TxLegacy},
    primitives::{B256, Bytes, Signature, TxKind, U256},
};
use zkr_protocol::{DepositRecord, Record, RecordError, TransferRecord, chunk::MAX_CHUNK_SLOTS, decode_chunk};

use crate::{Block, BlockTx, Deposit, WITHDRAWAL_ADDRESS};

/// A record with the withdrawal leaf it adds to its chunk's withdrawal subtree: the withdrawal's hash for a
/// withdrawal, zero for every other record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotRecord {
    /// The record.
    pub record: Record,
    /// Its withdrawal leaf (zero unless it withdraws).
    pub withdrawal_leaf: B256,
}

/// Why a block has no record form. The node never produces such a block in zk mode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordConversionError {
    /// A transaction other than a plain value transfer.
    #[error("block {block}, transaction {hash}: {reason}")]
    Transaction {
        /// Block number.
        block: u64,
        /// Transaction hash.
        hash: B256,
        /// What makes it unrepresentable.
        reason: &'static str,
    },
    /// A deposit of more than 2^128 - 1 wei.
    #[error("block {block}, deposit {nonce}: the value does not fit in 128 bits")]
    DepositValue {
        /// Block number.
        block: u64,
        /// The deposit's queue index.
        nonce: u64,
    },
}

/// The records of `block` in execution order, each with its withdrawal leaf.
pub fn block_records(block: &Block) -> Result<Vec<SlotRecord>, RecordConversionError> {
    let mut out = Vec::with_capacity(block.deposits.len() + block.transactions.len());
    for deposit in &block.deposits {
        let record = Record::Deposit(deposit_record(block, deposit)?);
        out.push(SlotRecord { record, withdrawal_leaf: B256::ZERO });
    }
    for tx in &block.transactions {
        let transfer = transfer_record(block, tx)?;
        let withdrawal_leaf = if transfer.to == WITHDRAWAL_ADDRESS {
            let hash = *tx.envelope.tx_hash();
            block.withdrawals.iter().find(|w| w.tx_hash == hash).map(|w| w.withdrawal.leaf()).ok_or(
                RecordConversionError::Transaction {
                    block: block.number(),
                    hash,
                    reason: "a transfer to the withdrawal address without its withdrawal",
                },
            )?
        } else {
            B256::ZERO
        };
        out.push(SlotRecord { record: Record::Transfer(transfer), withdrawal_leaf });
    }
    Ok(out)
}

/// The record of a deposit credited in `block`.
pub fn deposit_record(block: &Block, deposit: &Deposit) -> Result<DepositRecord, RecordConversionError> {
    let value = u128::try_from(deposit.value)
        .map_err(|_| RecordConversionError::DepositValue { block: block.number(), nonce: deposit.nonce })?;
    Ok(DepositRecord {
        block: block.number(),
        timestamp: block.header.timestamp,
        index: deposit.nonce,
        from: deposit.from,
        to: deposit.to,
        value,
    })
}

/// The record of a transaction of `block`.
pub fn transfer_record(block: &Block, tx: &BlockTx) -> Result<TransferRecord, RecordConversionError> {
    let envelope = &tx.envelope;
    let refuse =
        |reason| RecordConversionError::Transaction { block: block.number(), hash: *envelope.tx_hash(), reason };
    let tx_type = match envelope {
        TxEnvelope::Legacy(_) => 0,
        TxEnvelope::Eip2930(_) => 1,
        TxEnvelope::Eip1559(_) => 2,
        _ => return Err(refuse("only legacy, EIP-2930 and EIP-1559 transactions have a record")),
    };
    let TxKind::Call(to) = envelope.kind() else { return Err(refuse("contract creation has no record")) };
    if !envelope.input().is_empty() {
        return Err(refuse("calldata has no record"));
    }
    if envelope.access_list().is_some_and(|list| !list.is_empty()) {
        return Err(refuse("an access list has no record"));
    }
    let value = u128::try_from(envelope.value()).map_err(|_| refuse("the value does not fit in 128 bits"))?;
    let max_fee_per_gas = envelope.max_fee_per_gas();
    let signature = envelope.signature();
    Ok(TransferRecord {
        block: block.number(),
        timestamp: block.header.timestamp,
        base_fee: block.header.base_fee_per_gas.unwrap_or_default(),
        tx_type,
        nonce: envelope.nonce(),
        from: tx.sender,
        to,
        value,
        gas_limit: envelope.gas_limit(),
        max_fee_per_gas,
        max_priority_fee_per_gas: envelope.max_priority_fee_per_gas().unwrap_or(max_fee_per_gas),
        r: B256::from(signature.r()),
        s: B256::from(signature.s()),
        y_parity: signature.v(),
    })
}

/// The signed transaction a transfer record was made from, on the chain `chain_id`. Its hash is the original's, and
/// its signature recovers to the record's sender if the record is genuine (the record's `from` is not checked here).
pub fn transfer_envelope(record: &TransferRecord, chain_id: u64) -> TxEnvelope {
    let signature = Signature::new(U256::from_be_bytes(record.r.0), U256::from_be_bytes(record.s.0), record.y_parity);
    let to = TxKind::Call(record.to);
    let value = U256::from(record.value);
    match record.tx_type {
        0 => TxLegacy {
            chain_id: Some(chain_id),
            nonce: record.nonce,
            gas_price: record.max_fee_per_gas,
            gas_limit: record.gas_limit,
            to,
            value,
            input: Bytes::new(),
        }
        .into_signed(signature)
        .into(),
        1 => TxEip2930 {
            chain_id,
            nonce: record.nonce,
            gas_price: record.max_fee_per_gas,
            gas_limit: record.gas_limit,
            to,
            value,
            access_list: Default::default(),
            input: Bytes::new(),
        }
        .into_signed(signature)
        .into(),
        // Record decoding refuses any other type.
        _ => TxEip1559 {
            chain_id,
            nonce: record.nonce,
            gas_limit: record.gas_limit,
            max_fee_per_gas: record.max_fee_per_gas,
            max_priority_fee_per_gas: record.max_priority_fee_per_gas,
            to,
            value,
            access_list: Default::default(),
            input: Bytes::new(),
        }
        .into_signed(signature)
        .into(),
    }
}

/// The records of one block, as a batch's chunks carry them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRecords {
    /// Block number.
    pub number: u64,
    /// Block timestamp.
    pub timestamp: u64,
    /// The block's base fee, known when it holds a transaction (deposit records do not carry it).
    pub base_fee: Option<u64>,
    /// Deposits credited at the start of the block, in queue order.
    pub deposits: Vec<DepositRecord>,
    /// The block's transactions, in order.
    pub transfers: Vec<TransferRecord>,
}

/// Why a batch's chunks do not decode to blocks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchDecodeError {
    /// A chunk's bytes are not records.
    #[error("chunk {chunk}: {source}")]
    Chunk {
        /// Chunk position.
        chunk: usize,
        /// Why.
        source: RecordError,
    },
    /// A chunk holds more records than any chunk circuit has slots.
    #[error("chunk {chunk} holds {records} records, more than the {MAX_CHUNK_SLOTS} a chunk can hold")]
    ChunkTooLong {
        /// Chunk position.
        chunk: usize,
        /// Records in it.
        records: usize,
    },
    /// The records are not in the order the node writes them.
    #[error("chunk {chunk}, slot {slot}: {reason}")]
    Order {
        /// Chunk position.
        chunk: usize,
        /// Record position in the chunk.
        slot: usize,
        /// The rule broken.
        reason: String,
    },
}

/// Decodes a batch's chunks into the records of each block, checking that they are in the order the node writes
/// them: block numbers never decrease, a block's deposits come before its transfers, its records agree on its
/// timestamp (and its transfers on its base fee), and deposit indices follow each other.
pub fn decode_batch(chunks: &[impl AsRef<[u8]>]) -> Result<Vec<BlockRecords>, BatchDecodeError> {
    let mut blocks: Vec<BlockRecords> = Vec::new();
    let mut next_deposit: Option<u64> = None;
    for (chunk, bytes) in chunks.iter().enumerate() {
        let records = decode_chunk(bytes.as_ref()).map_err(|source| BatchDecodeError::Chunk { chunk, source })?;
        if records.len() > MAX_CHUNK_SLOTS {
            return Err(BatchDecodeError::ChunkTooLong { chunk, records: records.len() });
        }
        for (slot, record) in records.into_iter().enumerate() {
            let order = |reason: String| BatchDecodeError::Order { chunk, slot, reason };
            let (number, timestamp) = match &record {
                Record::Transfer(t) => (t.block, t.timestamp),
                Record::Deposit(d) => (d.block, d.timestamp),
            };
            let current = match blocks.last_mut() {
                Some(block) if block.number == number => block,
                Some(block) if block.number > number => {
                    return Err(order(format!("block {number} after block {}", block.number)));
                }
                _ => {
                    blocks.push(BlockRecords {
                        number,
                        timestamp,
                        base_fee: None,
                        deposits: Vec::new(),
                        transfers: Vec::new(),
                    });
                    blocks.last_mut().expect("just pushed")
                }
            };
            if current.timestamp != timestamp {
                return Err(order(format!(
                    "timestamp {timestamp} in block {number}, whose records say {}",
                    current.timestamp
                )));
            }
            match record {
                Record::Deposit(deposit) => {
                    if !current.transfers.is_empty() {
                        return Err(order(format!("a deposit after a transfer in block {number}")));
                    }
                    if let Some(expected) = next_deposit
                        && deposit.index != expected
                    {
                        return Err(order(format!("deposit {} where deposit {expected} comes next", deposit.index)));
                    }
                    next_deposit = Some(deposit.index + 1);
                    current.deposits.push(deposit);
                }
                Record::Transfer(transfer) => {
                    match current.base_fee {
                        Some(base_fee) if base_fee != transfer.base_fee => {
                            return Err(order(format!(
                                "base fee {} in block {number}, whose transfers say {base_fee}",
                                transfer.base_fee
                            )));
                        }
                        _ => current.base_fee = Some(transfer.base_fee),
                    }
                    current.transfers.push(transfer);
                }
            }
        }
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::Address;

    fn deposit(block: u64, index: u64) -> Record {
        Record::Deposit(DepositRecord {
            block,
            timestamp: block * 10,
            index,
            from: Address::repeat_byte(1),
            to: Address::repeat_byte(2),
            value: 5,
        })
    }

    fn transfer(block: u64, nonce: u64) -> Record {
        Record::Transfer(TransferRecord {
            block,
            timestamp: block * 10,
            base_fee: 7,
            tx_type: 2,
            nonce,
            from: Address::repeat_byte(3),
            to: Address::repeat_byte(4),
            value: 1,
            gas_limit: 21_000,
            max_fee_per_gas: 9,
            max_priority_fee_per_gas: 1,
            r: B256::repeat_byte(5),
            s: B256::repeat_byte(6),
            y_parity: true,
        })
    }

    fn chunks(records: &[Vec<Record>]) -> Vec<Vec<u8>> {
        records.iter().map(|chunk| zkr_protocol::encode_chunk(chunk)).collect()
    }

    #[test]
    fn groups_records_by_block_across_chunks() {
        let data = chunks(&[
            vec![deposit(3, 0), deposit(3, 1), transfer(3, 0), transfer(3, 1)],
            vec![transfer(3, 2), deposit(4, 2), transfer(5, 3)],
        ]);
        let blocks = decode_batch(&data).unwrap();
        assert_eq!(blocks.iter().map(|b| b.number).collect::<Vec<_>>(), vec![3, 4, 5]);
        assert_eq!((blocks[0].deposits.len(), blocks[0].transfers.len(), blocks[0].base_fee), (2, 3, Some(7)));
        assert_eq!((blocks[1].deposits.len(), blocks[1].transfers.len(), blocks[1].base_fee), (1, 0, None));
        assert_eq!(blocks[2].timestamp, 50);
        assert_eq!(decode_batch(&[Vec::<u8>::new()]).unwrap(), Vec::new());
    }

    #[test]
    fn refuses_records_out_of_order() {
        let refused = |records: Vec<Record>| match decode_batch(&chunks(&[records])) {
            Err(BatchDecodeError::Order { reason, .. }) => reason,
            other => panic!("accepted out-of-order records: {other:?}"),
        };
        assert_eq!(refused(vec![transfer(4, 0), transfer(3, 1)]), "block 3 after block 4");
        assert_eq!(refused(vec![transfer(3, 0), deposit(3, 0)]), "a deposit after a transfer in block 3");
        assert_eq!(refused(vec![deposit(3, 0), deposit(3, 2)]), "deposit 2 where deposit 1 comes next");
        let Record::Transfer(mut other_fee) = transfer(3, 1) else { unreachable!() };
        other_fee.base_fee = 8;
        assert!(refused(vec![transfer(3, 0), Record::Transfer(other_fee)]).starts_with("base fee 8 in block 3"));
        let Record::Deposit(mut other_time) = deposit(3, 1) else { unreachable!() };
        other_time.timestamp = 31;
        assert!(refused(vec![deposit(3, 0), Record::Deposit(other_time)]).starts_with("timestamp 31 in block 3"));
    }

    #[test]
    fn refuses_malformed_chunks_with_their_position() {
        let mut data = chunks(&[vec![transfer(1, 0)], vec![transfer(1, 1)]]);
        data[1].pop();
        assert_eq!(
            decode_batch(&data),
            Err(BatchDecodeError::Chunk { chunk: 1, source: RecordError::Length(zkr_protocol::RECORD_BYTES - 1) })
        );
        data[1] = zkr_protocol::encode_chunk(&[transfer(1, 1)]);
        data[1][0] = 9;
        let err = decode_batch(&data).unwrap_err();
        assert_eq!(err, BatchDecodeError::Chunk { chunk: 1, source: RecordError::Kind(9) });
        assert_eq!(err.to_string(), "chunk 1: unknown record kind 9");

        let long = zkr_protocol::encode_chunk(&vec![transfer(1, 0); MAX_CHUNK_SLOTS + 1]);
        assert_eq!(
            decode_batch(&[long]),
            Err(BatchDecodeError::ChunkTooLong { chunk: 0, records: MAX_CHUNK_SLOTS + 1 })
        );
    }
}
