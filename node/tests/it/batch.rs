//! The batch format: round trips with real signed transactions, and refusal of malformed data.

use alloy::primitives::Address;
use proptest::prelude::*;
use zkr_node::batcher::{BatchBlock, BatchPayload, Codec, DecodeError};

use crate::*;

fn sample(blocks: usize, txs_per_block: usize) -> BatchPayload {
    let senders: Vec<_> = (1..=20u8).map(key).collect();
    let chain_id = zkr_node::ChainSpec::dev().chain_id;
    let mut nonces = vec![0u64; senders.len()];
    let blocks = (0..blocks)
        .map(|b| BatchBlock {
            timestamp: 1_700_000_000 + b as u64,
            base_fee: 1_000_000_000,
            deposits: (b % 3) as u32,
            transactions: (0..txs_per_block)
                .map(|i| {
                    let s = (b * txs_per_block + i) % senders.len();
                    let raw =
                        sign_1559(&senders[s], transfer(chain_id, nonces[s], Address::with_last_byte(i as u8), 1));
                    nonces[s] += 1;
                    alloy::eips::Decodable2718::decode_2718_exact(&raw[..]).unwrap()
                })
                .collect(),
        })
        .collect();
    BatchPayload { first_block: 41, blocks }
}

#[test]
fn every_codec_round_trips() {
    let payload = sample(5, 30);
    for codec in [Codec::Raw, Codec::Zstd, Codec::Brotli] {
        let data = payload.encode(codec);
        assert_eq!(data[..2], [1, codec as u8]);
        assert_eq!(BatchPayload::decode(&data).unwrap(), payload, "{codec:?}");
    }
    assert!(payload.encode(Codec::Zstd).len() < payload.encode(Codec::Raw).len());
    let empty = BatchPayload { first_block: 7, blocks: vec![] };
    assert_eq!(BatchPayload::decode(&empty.encode(Codec::Raw)).unwrap(), empty);
}

#[test]
fn encoded_len_is_the_size_of_the_encoding() {
    let payload = sample(4, 7);
    let total: usize = payload.blocks.iter().map(BatchBlock::encoded_len).sum();
    assert_eq!(payload.to_bytes().len(), 8 + 4 + total);
}

#[test]
fn malformed_data_is_refused_with_a_reason() {
    let data = sample(2, 3).encode(Codec::Raw);
    assert_eq!(BatchPayload::decode(&[]), Err(DecodeError::Malformed("shorter than the header")));
    assert_eq!(BatchPayload::decode(&[9, 0]), Err(DecodeError::Version(9)));
    assert_eq!(BatchPayload::decode(&[1, 7, 0]), Err(DecodeError::Codec(7)));
    assert_eq!(BatchPayload::decode(&data[..data.len() - 1]), Err(DecodeError::Malformed("truncated")));
    let mut trailing = data.clone();
    trailing.push(0);
    assert_eq!(BatchPayload::decode(&trailing), Err(DecodeError::Malformed("trailing bytes")));
    let mut bad_tx = data;
    let first_tx_byte = 2 + 8 + 4 + 8 + 8 + 4 + 4 + 4;
    bad_tx[first_tx_byte] = 0x7f; // an unknown transaction type
    assert!(matches!(BatchPayload::decode(&bad_tx), Err(DecodeError::Transaction { block: 0, index: 0, .. })));
    assert!(matches!(BatchPayload::decode(&[1, 1, 0xde, 0xad]), Err(DecodeError::Decompress(_))));
}

#[test]
fn decompression_is_bounded() {
    // 64 MiB of zeros compresses to a few KiB; decoding must stop at the payload limit instead of allocating it all.
    let bomb = zstd::bulk::compress(&vec![0u8; 64 * 1024 * 1024], 3).unwrap();
    let mut data = vec![1, 1];
    data.extend(bomb);
    assert!(matches!(BatchPayload::decode(&data), Err(DecodeError::Decompress(_))));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Whatever arrives from L1, decoding returns an error or a payload, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = BatchPayload::decode(&bytes);
        let mut raw = vec![1, 0];
        raw.extend(&bytes);
        let _ = BatchPayload::decode(&raw);
    }
}
