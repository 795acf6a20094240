use alloy::{
    consensus::TxEip1559,
    primitives::{Address, U256},
};
use zkr_node::{Node, NodeError, SubmitError, TxError, TxLookup};

use crate::*;

fn open(spec: &zkr_node::ChainSpec, dir: &tempfile::TempDir) -> Node {
    Node::open(spec.clone(), dir.path()).unwrap()
}

fn rejected(result: Result<alloy::primitives::B256, SubmitError>) -> TxError {
    match result {
        Err(SubmitError::Rejected(err)) => err,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn submitted_transfers_land_in_the_next_block() {
    let alice = key(1);
    let spec = spec_with(&[alice.address()]);
    let dir = tempfile::tempdir().unwrap();
    let node = open(&spec, &dir);
    assert_eq!(node.head().number(), 0);
    let empty = node.produce_block(1).unwrap();
    assert_eq!((empty.number(), empty.transactions.len(), empty.deposits.len()), (1, 0, 0), "an empty block");

    let bob = Address::repeat_byte(0xb0);
    let raw = sign_1559(&alice, transfer(spec.chain_id, 0, bob, ETH));
    let hash = node.submit(&raw).unwrap();
    assert_eq!(node.pool_size(), 1);
    assert_eq!(node.pending_nonce(&alice.address()), 1);
    assert!(matches!(node.transaction(&hash).unwrap(), Some(TxLookup::Pending(_))));
    assert_eq!(rejected(node.submit(&raw)), TxError::AlreadyKnown);

    let block = node.produce_block(1_700_000_000).unwrap();
    assert_eq!(block.number(), 2);
    assert_eq!(block.header.parent_hash, empty.hash);
    assert_eq!(block.transactions.len(), 1);
    assert_eq!(node.pool_size(), 0);
    assert_eq!(node.account(&bob).balance, U256::from(ETH));
    assert_eq!(node.block_by_hash(&block.hash).unwrap(), Some(block.clone()));
    match node.transaction(&hash).unwrap() {
        Some(TxLookup::Included { block: found, index }) => assert_eq!((found.hash, index), (block.hash, 0)),
        other => panic!("{other:?}"),
    }
    // Once included, the same bytes are still known, and the nonce is spent.
    assert_eq!(rejected(node.submit(&raw)), TxError::AlreadyKnown);
    let again = sign_1559(&alice, TxEip1559 { value: U256::from(2), ..transfer(spec.chain_id, 0, bob, 1) });
    assert!(matches!(rejected(node.submit(&again)), TxError::NonceTooLow { next: 1, nonce: 0 }));
}

#[test]
fn a_replacement_must_outbid_and_a_gap_waits_for_its_predecessor() {
    let alice = key(1);
    let spec = spec_with(&[alice.address()]);
    let dir = tempfile::tempdir().unwrap();
    let node = open(&spec, &dir);
    let to = Address::repeat_byte(0x22);

    // Nonce 1 before nonce 0: accepted, but nothing executes until 0 arrives.
    let second = node.submit(&sign_1559(&alice, transfer(spec.chain_id, 1, to, 1))).unwrap();
    assert!(node.produce_block(1).unwrap().transactions.is_empty());

    let first = transfer(spec.chain_id, 0, to, 2);
    node.submit(&sign_1559(&alice, first.clone())).unwrap();
    let cheap = TxEip1559 { max_fee_per_gas: first.max_fee_per_gas + 1, value: U256::from(3), ..first.clone() };
    assert_eq!(rejected(node.submit(&sign_1559(&alice, cheap))), TxError::ReplacementUnderpriced);
    let bumped = TxEip1559 {
        max_fee_per_gas: first.max_fee_per_gas * 2,
        max_priority_fee_per_gas: first.max_priority_fee_per_gas * 2,
        value: U256::from(4),
        ..first
    };
    let replacement = node.submit(&sign_1559(&alice, bumped)).unwrap();
    assert_eq!(node.pool_size(), 2);

    let block = node.produce_block(2).unwrap();
    let hashes: Vec<_> = block.transactions.iter().map(|tx| *tx.envelope.tx_hash()).collect();
    assert_eq!(hashes, vec![replacement, second]);
    assert_eq!(node.account(&to).balance, U256::from(5));
}

#[test]
fn restart_restores_chain_accounts_and_pool() {
    let alice = key(1);
    let spec = spec_with(&[alice.address()]);
    let dir = tempfile::tempdir().unwrap();
    let to = Address::repeat_byte(0x33);
    let (head, pooled) = {
        let node = open(&spec, &dir);
        node.submit(&sign_1559(&alice, transfer(spec.chain_id, 0, to, 1))).unwrap();
        node.submit(&sign_1559(&alice, transfer(spec.chain_id, 1, to, 1))).unwrap();
        let head = node.produce_block(10).unwrap();
        // Accepted after the block: only in the pool when the node goes away.
        let pooled = node.submit(&sign_1559(&alice, transfer(spec.chain_id, 2, to, 1))).unwrap();
        (head, pooled)
    };

    let node = open(&spec, &dir);
    assert_eq!(node.head(), head);
    assert_eq!(node.account(&to).balance, U256::from(2));
    assert_eq!(node.pool_size(), 1);
    assert!(matches!(node.transaction(&pooled).unwrap(), Some(TxLookup::Pending(_))));
    let next = node.produce_block(11).unwrap();
    assert_eq!(next.number(), 2);
    assert_eq!(*next.transactions[0].envelope.tx_hash(), pooled);
    assert_eq!(node.account(&to).balance, U256::from(3));
}

#[test]
fn refuses_a_data_directory_of_another_chain() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(&spec_with(&[key(1).address()]), &dir));
    let err = Node::open(spec_with(&[key(2).address()]), dir.path()).unwrap_err();
    assert!(matches!(err, NodeError::Inconsistent(_)), "{err}");
    assert!(err.to_string().contains("genesis"), "{err}");
}

#[test]
fn a_full_pool_refuses_new_transactions_until_a_block_drains_it() {
    let alice = key(1);
    let mut spec = spec_with(&[alice.address()]);
    spec.max_pool_txs = 2;
    let dir = tempfile::tempdir().unwrap();
    let node = open(&spec, &dir);
    let to = Address::repeat_byte(0x55);
    node.submit(&sign_1559(&alice, transfer(spec.chain_id, 0, to, 1))).unwrap();
    node.submit(&sign_1559(&alice, transfer(spec.chain_id, 1, to, 1))).unwrap();
    let third = sign_1559(&alice, transfer(spec.chain_id, 2, to, 1));
    let err = rejected(node.submit(&third));
    assert_eq!(err, TxError::PoolFull);
    assert_eq!(err.to_string(), "txpool is full");
    node.produce_block(1).unwrap();
    node.submit(&third).unwrap();
}
