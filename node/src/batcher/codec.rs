//! The bytes a batch commits to L1, and back.
//!
//! ```text
//!  data    = version (1 byte, = 1) || codec (1 byte) || body
//!  codec   = 0: body is the payload | 1: zstd(payload) | 2: brotli(payload)
//!  payload = first block number (u64) || block count (u32) || block*
//!  block   = timestamp (u64) || base fee (u64) || deposits credited (u32) || tx count (u32) || (len (u32) || tx)*
//! ```
//!
//! Integers are big-endian; `tx` is the EIP-2718 encoding, signature included, so anyone can re-execute the batch from
//! L1 alone: deposits are named by count (their contents are on L1 already) and withdrawals follow from the
//! transactions. The Rollup stores keccak256 of exactly these bytes, which the batch proof binds to. Because a proof
//! over compressed bytes must also prove the decompression, the codec is a byte of the format rather than a fixed
//! choice.

use alloy::{
    consensus::TxEnvelope,
    eips::{Decodable2718, Encodable2718},
};

use crate::Block;

/// Version of the batch format.
pub const BATCH_VERSION: u8 = 1;
/// Largest payload a batch may decompress to (refuses decompression bombs).
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024 * 1024;

/// How the payload is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// Uncompressed.
    Raw = 0,
    /// zstd, level 19.
    Zstd = 1,
    /// brotli, quality 11, window 22.
    Brotli = 2,
}

/// One block as a batch carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchBlock {
    /// Block timestamp.
    pub timestamp: u64,
    /// Block base fee.
    pub base_fee: u64,
    /// L1 deposits credited at the start of the block.
    pub deposits: u32,
    /// The block's transactions.
    pub transactions: Vec<TxEnvelope>,
}

impl From<&Block> for BatchBlock {
    fn from(block: &Block) -> Self {
        Self {
            timestamp: block.header.timestamp,
            base_fee: block.header.base_fee_per_gas.unwrap_or_default(),
            deposits: block.deposits.len() as u32,
            transactions: block.transactions.iter().map(|tx| tx.envelope.clone()).collect(),
        }
    }
}

impl BatchBlock {
    /// Size of this block in the payload, without encoding it.
    pub fn encoded_len(&self) -> usize {
        8 + 8 + 4 + 4 + self.transactions.iter().map(|tx| 4 + tx.encode_2718_len()).sum::<usize>()
    }
}

/// The decoded contents of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchPayload {
    /// Number of the first block.
    pub first_block: u64,
    /// The blocks in order.
    pub blocks: Vec<BatchBlock>,
}

/// Why batch data could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Unknown version byte.
    #[error("unknown batch version {0}")]
    Version(u8),
    /// Unknown codec byte.
    #[error("unknown batch codec {0}")]
    Codec(u8),
    /// Decompression failed or exceeded the size limit.
    #[error("decompression failed: {0}")]
    Decompress(String),
    /// The payload ended early or has bytes left over.
    #[error("malformed payload: {0}")]
    Malformed(&'static str),
    /// A transaction does not decode.
    #[error("transaction {index} of block {block}: {reason}")]
    Transaction {
        /// Block position in the batch.
        block: usize,
        /// Transaction position in the block.
        index: usize,
        /// Why.
        reason: String,
    },
}

impl BatchPayload {
    /// The payload of consecutive blocks.
    pub fn from_blocks<'a>(blocks: impl IntoIterator<Item = &'a Block>) -> Self {
        let blocks: Vec<&Block> = blocks.into_iter().collect();
        Self {
            first_block: blocks.first().map_or(0, |b| b.number()),
            blocks: blocks.into_iter().map(BatchBlock::from).collect(),
        }
    }

    /// The uncompressed payload bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.first_block.to_be_bytes());
        out.extend_from_slice(&(self.blocks.len() as u32).to_be_bytes());
        for block in &self.blocks {
            out.extend_from_slice(&block.timestamp.to_be_bytes());
            out.extend_from_slice(&block.base_fee.to_be_bytes());
            out.extend_from_slice(&block.deposits.to_be_bytes());
            out.extend_from_slice(&(block.transactions.len() as u32).to_be_bytes());
            for tx in &block.transactions {
                let encoded = tx.encoded_2718();
                out.extend_from_slice(&(encoded.len() as u32).to_be_bytes());
                out.extend_from_slice(&encoded);
            }
        }
        out
    }

    /// Parses payload bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader(bytes);
        let first_block = reader.u64()?;
        let count = reader.u32()? as usize;
        let mut blocks = Vec::with_capacity(count.min(bytes.len() / 24));
        for block_index in 0..count {
            let timestamp = reader.u64()?;
            let base_fee = reader.u64()?;
            let deposits = reader.u32()?;
            let tx_count = reader.u32()? as usize;
            let mut transactions = Vec::with_capacity(tx_count.min(reader.0.len() / 4));
            for index in 0..tx_count {
                let len = reader.u32()? as usize;
                let raw = reader.take(len)?;
                let tx = TxEnvelope::decode_2718_exact(raw).map_err(|err| DecodeError::Transaction {
                    block: block_index,
                    index,
                    reason: err.to_string(),
                })?;
                transactions.push(tx);
            }
            blocks.push(BatchBlock { timestamp, base_fee, deposits, transactions });
        }
        if !reader.0.is_empty() {
            return Err(DecodeError::Malformed("trailing bytes"));
        }
        Ok(Self { first_block, blocks })
    }

    /// The bytes committed to L1.
    pub fn encode(&self, codec: Codec) -> Vec<u8> {
        encode_payload(&self.to_bytes(), codec)
    }

    /// Decodes committed bytes.
    pub fn decode(data: &[u8]) -> Result<Self, DecodeError> {
        let [version, codec, body @ ..] = data else { return Err(DecodeError::Malformed("shorter than the header")) };
        if *version != BATCH_VERSION {
            return Err(DecodeError::Version(*version));
        }
        let payload = match *codec {
            0 => body.to_vec(),
            1 => zstd::bulk::decompress(body, MAX_PAYLOAD_BYTES)
                .map_err(|err| DecodeError::Decompress(err.to_string()))?,
            2 => {
                let mut out = Vec::new();
                let mut limited =
                    std::io::Read::take(brotli::Decompressor::new(body, 4096), MAX_PAYLOAD_BYTES as u64 + 1);
                std::io::Read::read_to_end(&mut limited, &mut out)
                    .map_err(|err| DecodeError::Decompress(err.to_string()))?;
                if out.len() > MAX_PAYLOAD_BYTES {
                    return Err(DecodeError::Decompress("payload exceeds the size limit".into()));
                }
                out
            }
            other => return Err(DecodeError::Codec(other)),
        };
        Self::from_bytes(&payload)
    }
}

/// The bytes committed to L1 for payload bytes made by [`BatchPayload::to_bytes`].
pub fn encode_payload(payload: &[u8], codec: Codec) -> Vec<u8> {
    let mut out = vec![BATCH_VERSION, codec as u8];
    match codec {
        Codec::Raw => out.extend_from_slice(payload),
        Codec::Zstd => out.extend(zstd::bulk::compress(payload, 19).expect("in-memory zstd cannot fail")),
        Codec::Brotli => {
            let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
            brotli::BrotliCompress(&mut &payload[..], &mut out, &params).expect("in-memory brotli cannot fail");
        }
    }
    out
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        if self.0.len() < len {
            return Err(DecodeError::Malformed("truncated"));
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
}
