//! The layout of the proofs' public inputs, defined once for the circuits, the coordinator and the Rollup's
//! encoding.
//!
//! A chunk proof's public inputs are [`crate::ChunkPublicInputs::to_words`], at the indices of [`chunk`]. A batch
//! proof (the aggregation of a batch's chunk proofs, in order) carries [`ACCUMULATOR_LIMBS`] words of the KZG
//! accumulator first, then its statement, which [`batch_statement`] lists as positions in the chunk proofs:
//!
//! ```text
//!  0      state root before the batch          (chunk 0, input 0)
//!  1      state root after it                  (last chunk, input 1)
//!  2, 3   deposit hash before the batch        (chunk 0, inputs 4, 5)
//!  4, 5   deposit hash after it                (last chunk, inputs 6, 7)
//!  6 + 4j .. 9 + 4j                            (chunk j, inputs 2, 3, 8, 9): its data hash and withdrawal root
//! ```
//!
//! Consecutive chunks chain: [`CHAINED`] pairs an input of chunk `j` with the input of chunk `j + 1` it must equal.
//!
//! Aggregation can run in layers (a tree): a proof of a layer below the last covers a range of consecutive chunks and
//! carries, after its accumulator, the statement of that range in the same layout (six words, then four per chunk).
//! A chunk proof's inputs read as the statement of a range of one chunk through [`CHUNK_STATEMENT`]; ranges chain
//! through [`STATEMENT_CHAINED`] and merge through [`merged_statement`], which over chunk ranges is
//! [`batch_statement`].

/// Indices of a chunk proof's public inputs (256-bit hashes as two 128-bit halves, high first).
pub mod chunk {
    /// State root before the chunk.
    pub const PREV_STATE_ROOT: usize = 0;
    /// State root after it.
    pub const NEW_STATE_ROOT: usize = 1;
    /// keccak256 of the chunk's bytes.
    pub const DATA_HASH: [usize; 2] = [2, 3];
    /// Deposit hash-chain value before the chunk.
    pub const DEPOSIT_HASH_BEFORE: [usize; 2] = [4, 5];
    /// Deposit hash-chain value after it.
    pub const DEPOSIT_HASH_AFTER: [usize; 2] = [6, 7];
    /// Root of the chunk's withdrawal subtree.
    pub const WITHDRAWAL_ROOT: [usize; 2] = [8, 9];
    /// Number of public inputs of a chunk proof.
    pub const LEN: usize = crate::chunk::CHUNK_PUBLIC_INPUTS;
}

/// Limbs of the KZG accumulator a batch proof carries first among its public inputs.
pub const ACCUMULATOR_LIMBS: usize = 12;

/// Pairs `(a, b)`: input `a` of chunk `j` equals input `b` of chunk `j + 1` (the state root and the deposit hash
/// carry over).
pub const CHAINED: [(usize, usize); 3] = [
    (chunk::NEW_STATE_ROOT, chunk::PREV_STATE_ROOT),
    (chunk::DEPOSIT_HASH_AFTER[0], chunk::DEPOSIT_HASH_BEFORE[0]),
    (chunk::DEPOSIT_HASH_AFTER[1], chunk::DEPOSIT_HASH_BEFORE[1]),
];

/// Words of a batch proof's statement (after the accumulator) for `chunks` chunks.
pub const fn batch_statement_len(chunks: usize) -> usize {
    6 + 4 * chunks
}

/// Where each word of the statement of a batch of `chunks` chunks comes from: `(chunk, input)` pairs, in order.
pub fn batch_statement(chunks: usize) -> Vec<(usize, usize)> {
    assert!(chunks > 0, "a batch holds at least one chunk");
    let last = chunks - 1;
    let mut positions = vec![
        (0, chunk::PREV_STATE_ROOT),
        (last, chunk::NEW_STATE_ROOT),
        (0, chunk::DEPOSIT_HASH_BEFORE[0]),
        (0, chunk::DEPOSIT_HASH_BEFORE[1]),
        (last, chunk::DEPOSIT_HASH_AFTER[0]),
        (last, chunk::DEPOSIT_HASH_AFTER[1]),
    ];
    for j in 0..chunks {
        positions.extend(
            [chunk::DATA_HASH[0], chunk::DATA_HASH[1], chunk::WITHDRAWAL_ROOT[0], chunk::WITHDRAWAL_ROOT[1]]
                .map(|input| (j, input)),
        );
    }
    debug_assert_eq!(positions.len(), batch_statement_len(chunks));
    positions
}

/// A chunk proof's inputs in the order of the statement of a range of one chunk: the statement's word `i` is the
/// chunk's input `CHUNK_STATEMENT[i]`.
pub const CHUNK_STATEMENT: [usize; batch_statement_len(1)] = [
    chunk::PREV_STATE_ROOT,
    chunk::NEW_STATE_ROOT,
    chunk::DEPOSIT_HASH_BEFORE[0],
    chunk::DEPOSIT_HASH_BEFORE[1],
    chunk::DEPOSIT_HASH_AFTER[0],
    chunk::DEPOSIT_HASH_AFTER[1],
    chunk::DATA_HASH[0],
    chunk::DATA_HASH[1],
    chunk::WITHDRAWAL_ROOT[0],
    chunk::WITHDRAWAL_ROOT[1],
];

/// Pairs `(a, b)` of statement words: word `a` of a range's statement equals word `b` of the next range's (the
/// state root after and the deposit hash after carry over).
pub const STATEMENT_CHAINED: [(usize, usize); 3] = [(1, 0), (4, 2), (5, 3)];

/// Chunks a statement of `words` words covers, if `words` is a statement's length.
pub const fn statement_chunks(words: usize) -> Option<usize> {
    if words >= batch_statement_len(1) && (words - 6).is_multiple_of(4) { Some((words - 6) / 4) } else { None }
}

/// Where each word of the statement over consecutive ranges comes from, as `(range, word)` pairs in order, for ranges
/// covering `chunks[r]` chunks each: the first range's starting words, the last range's ending words, then every
/// range's per-chunk words.
pub fn merged_statement(chunks: &[usize]) -> Vec<(usize, usize)> {
    assert!(!chunks.is_empty() && chunks.iter().all(|&c| c > 0), "every range covers a chunk");
    let last = chunks.len() - 1;
    let mut positions = vec![(0, 0), (last, 1), (0, 2), (0, 3), (last, 4), (last, 5)];
    for (r, &covered) in chunks.iter().enumerate() {
        positions.extend((6..6 + 4 * covered).map(|word| (r, word)));
    }
    debug_assert_eq!(positions.len(), batch_statement_len(chunks.iter().sum()));
    positions
}

#[cfg(test)]
mod tests {
    use alloy_primitives::B256;

    use super::*;
    use crate::ChunkPublicInputs;

    #[test]
    fn chunk_indices_follow_the_words() {
        let inputs = ChunkPublicInputs {
            prev_state_root: B256::repeat_byte(1),
            new_state_root: B256::repeat_byte(2),
            data_hash: B256::repeat_byte(3),
            deposit_hash_before: B256::repeat_byte(4),
            deposit_hash_after: B256::repeat_byte(5),
            withdrawal_root: B256::repeat_byte(6),
        };
        let words = inputs.to_words();
        assert_eq!(words.len(), chunk::LEN);
        let byte = |i: usize| words[i].to_be_bytes::<32>()[31];
        assert_eq!(byte(chunk::PREV_STATE_ROOT), 1);
        assert_eq!(byte(chunk::NEW_STATE_ROOT), 2);
        for (index, expected) in [
            (chunk::DATA_HASH, 3),
            (chunk::DEPOSIT_HASH_BEFORE, 4),
            (chunk::DEPOSIT_HASH_AFTER, 5),
            (chunk::WITHDRAWAL_ROOT, 6),
        ] {
            assert_eq!([byte(index[0]), byte(index[1])], [expected, expected]);
        }
    }

    #[test]
    fn the_batch_statement_is_six_words_then_four_per_chunk() {
        assert_eq!(
            batch_statement(1),
            vec![(0, 0), (0, 1), (0, 4), (0, 5), (0, 6), (0, 7), (0, 2), (0, 3), (0, 8), (0, 9)]
        );
        let three = batch_statement(3);
        assert_eq!(three.len(), batch_statement_len(3));
        assert_eq!(&three[..6], &[(0, 0), (2, 1), (0, 4), (0, 5), (2, 6), (2, 7)]);
        assert_eq!(&three[6 + 4 * 2..], &[(2, 2), (2, 3), (2, 8), (2, 9)]);
    }

    #[test]
    fn merging_chunk_ranges_is_the_batch_statement_and_merging_is_associative() {
        for chunks in 1..=8 {
            let via_ranges: Vec<_> =
                merged_statement(&vec![1; chunks]).into_iter().map(|(j, word)| (j, CHUNK_STATEMENT[word])).collect();
            assert_eq!(via_ranges, batch_statement(chunks), "{chunks} chunks");
            let chained: Vec<_> = STATEMENT_CHAINED.map(|(a, b)| (CHUNK_STATEMENT[a], CHUNK_STATEMENT[b])).to_vec();
            assert_eq!(chained, CHAINED.to_vec());
        }
        // Four chunks as two ranges of two, each merged from two chunks, equal the four chunks merged at once.
        let pairs = merged_statement(&[1, 1]);
        let tree: Vec<_> = merged_statement(&[2, 2])
            .into_iter()
            .map(|(range, word)| {
                let (chunk, chunk_word) = pairs[word];
                (2 * range + chunk, CHUNK_STATEMENT[chunk_word])
            })
            .collect();
        assert_eq!(tree, batch_statement(4));
        assert_eq!(statement_chunks(batch_statement_len(5)), Some(5));
        assert_eq!(statement_chunks(7), None);
        assert_eq!(statement_chunks(6), None);
    }
}
