use alloy::primitives::{Address, U256};
use zkr_node::{BlockContext, SkipReason, decode, execute_block};
use zkr_state::{Account, AccountTree};

use crate::*;

const BASE_FEE: u64 = 1_000_000_000;

fn block(number: u64) -> BlockContext {
    BlockContext { number, timestamp: 1_700_000_000 + number, base_fee: BASE_FEE }
}

#[test]
fn a_transfer_moves_value_charges_fees_and_burns_the_base_fee() {
    let alice = key(1);
    let spec = spec_with(&[alice.address()]);
    let bob = Address::repeat_byte(0xb0);
    let mut tree = spec.genesis_state().unwrap();
    let genesis_root = tree.root().unwrap();

    let tx = decode(&sign_1559(&alice, transfer(spec.chain_id, 0, bob, ETH)), &spec, BASE_FEE).unwrap();
    let out = execute_block(&mut tree, &spec, &block(1), [tx]).unwrap();

    assert!(out.skipped.is_empty());
    assert_eq!(out.gas_used, 21_000);
    let executed = &out.executed[0];
    assert!(executed.receipt.status());
    assert_eq!(executed.receipt.cumulative_gas_used(), 21_000);
    // min(max fee 10 gwei, base fee 1 gwei + tip 2 gwei)
    assert_eq!(executed.effective_gas_price, 3 * GWEI);

    let gas = U256::from(21_000u64);
    assert_eq!(
        tree.get(&alice.address()),
        Some(&Account { nonce: 1, balance: U256::from(9 * ETH) - gas * U256::from(3 * GWEI) })
    );
    assert_eq!(tree.get(&bob), Some(&Account { nonce: 0, balance: U256::from(ETH) }));
    assert_eq!(tree.get(&spec.fee_recipient), Some(&Account { nonce: 0, balance: gas * U256::from(2 * GWEI) }));
    // The base fee part left circulation.
    let total: U256 = tree.leaves().iter().map(|leaf| leaf.account.balance).sum();
    assert_eq!(total, U256::from(10 * ETH) - gas * U256::from(BASE_FEE));

    let root = tree.root().unwrap();
    assert_ne!(root, genesis_root);
    // Genesis leaves: the zero address, the fee recipient, the withdrawal counter, then the allocations; the new
    // recipient comes after them.
    assert_eq!(tree.index_of(&spec.fee_recipient), Some(1));
    assert_eq!(tree.index_of(&zkr_node::WITHDRAWAL_ADDRESS), Some(2));
    assert_eq!(tree.index_of(&alice.address()), Some(3));
    assert_eq!(tree.index_of(&bob), Some(4));
    assert_eq!(AccountTree::from_leaves(tree.leaves().to_vec()).unwrap().root().unwrap(), root);
}

#[test]
fn genesis_holds_the_system_leaves_before_the_allocations() {
    let alice = key(1);
    let mut spec = spec_with(&[alice.address()]);
    let tree = spec.genesis_state().unwrap();
    let addresses: Vec<Address> = tree.leaves().iter().map(|leaf| leaf.address).collect();
    assert_eq!(addresses, vec![Address::ZERO, spec.fee_recipient, zkr_node::WITHDRAWAL_ADDRESS, alice.address()]);
    for system in [spec.fee_recipient, zkr_node::WITHDRAWAL_ADDRESS] {
        assert_eq!(tree.get(&system), Some(&Account::default()));
    }

    // An allocation to the fee recipient updates its leaf rather than adding one.
    spec.genesis_alloc.push((spec.fee_recipient, U256::from(5)));
    let tree = spec.genesis_state().unwrap();
    assert_eq!(tree.len(), 4);
    assert_eq!(tree.index_of(&spec.fee_recipient), Some(1));
    assert_eq!(tree.get(&spec.fee_recipient), Some(&Account { nonce: 0, balance: U256::from(5) }));
}

#[test]
fn a_zero_value_transfer_to_a_fresh_address_creates_no_account() {
    let alice = key(1);
    let spec = spec_with(&[alice.address()]);
    let nobody = Address::repeat_byte(0x77);
    let mut tree = spec.genesis_state().unwrap();
    let tx = decode(&sign_1559(&alice, transfer(spec.chain_id, 0, nobody, 0)), &spec, BASE_FEE).unwrap();
    let out = execute_block(&mut tree, &spec, &block(1), [tx]).unwrap();
    assert_eq!(out.executed.len(), 1);
    assert_eq!(tree.get(&nobody), None, "EIP-161: touched but empty accounts are not created");
}

#[test]
fn skips_what_no_longer_fits_or_is_no_longer_valid() {
    let alice = key(1);
    let bob = key(2);
    let mut spec = spec_with(&[alice.address(), bob.address()]);
    spec.block_gas_limit = 50_000;
    let to = Address::repeat_byte(0x33);
    let mut tree = spec.genesis_state().unwrap();
    let sign = |who: &alloy::signers::local::PrivateKeySigner, nonce, value| {
        decode(&sign_1559(who, transfer(spec.chain_id, nonce, to, value)), &spec, BASE_FEE).unwrap()
    };

    let txs = vec![
        sign(&alice, 1, 1),      // nonce gap at execution time: invalid, dropped
        sign(&alice, 0, 1),      // fine
        sign(&bob, 0, 10 * ETH), // cannot pay value plus gas: invalid
        sign(&bob, 0, 1),        // fine: the block now holds 42,000 gas
        sign(&bob, 1, 1),        // 21,000 more would pass 50,000: stays for the next block
    ];
    let out = execute_block(&mut tree, &spec, &block(1), txs.clone()).unwrap();
    assert_eq!(out.executed.iter().map(|e| e.tx.hash).collect::<Vec<_>>(), vec![txs[1].hash, txs[3].hash]);
    assert_eq!(out.gas_used, 42_000);
    assert_eq!(out.executed[1].receipt.cumulative_gas_used(), 42_000);

    let reasons: Vec<_> = out.skipped.iter().map(|s| (s.tx.hash, s.reason.clone())).collect();
    assert_eq!(reasons.len(), 3);
    assert!(
        matches!(&reasons[0], (h, SkipReason::Invalid(msg)) if *h == txs[0].hash && msg.contains("nonce")),
        "{reasons:?}"
    );
    assert!(matches!(&reasons[1], (h, SkipReason::Invalid(_)) if *h == txs[2].hash), "{reasons:?}");
    assert_eq!(reasons[2], (txs[4].hash, SkipReason::BlockFull));
    assert_eq!(tree.get(&bob.address()).unwrap().nonce, 1);
}

#[test]
fn execution_is_deterministic() {
    let senders: Vec<_> = (1..=6).map(key).collect();
    let spec = spec_with(&senders.iter().map(|s| s.address()).collect::<Vec<_>>());
    let txs: Vec<_> = senders
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let to = Address::repeat_byte(0x40 + i as u8 % 3);
            decode(&sign_1559(s, transfer(spec.chain_id, 0, to, ETH / (i as u128 + 1))), &spec, BASE_FEE).unwrap()
        })
        .collect();
    let roots: Vec<_> = (0..2)
        .map(|_| {
            let mut tree = spec.genesis_state().unwrap();
            execute_block(&mut tree, &spec, &block(1), txs.clone()).unwrap();
            tree.root().unwrap()
        })
        .collect();
    assert_eq!(roots[0], roots[1]);
}

#[test]
fn a_transfer_to_the_withdrawal_address_leaves_l2_as_a_withdrawal() {
    let alice = key(1);
    let mut spec = spec_with(&[alice.address()]);
    spec.max_block_withdrawals = 2;
    let mut tree = spec.genesis_state().unwrap();
    let out_tx = |nonce, value| {
        decode(&sign_1559(&alice, transfer(spec.chain_id, nonce, zkr_node::WITHDRAWAL_ADDRESS, value)), &spec, BASE_FEE)
            .unwrap()
    };
    let txs = vec![out_tx(0, 2 * ETH), out_tx(1, ETH)];
    // Seven withdrawals happened before this block (the counter's nonce says so): these are numbered 7 and 8.
    tree.set(zkr_node::WITHDRAWAL_ADDRESS, Account { nonce: 7, balance: U256::ZERO }).unwrap();
    let out = execute_block(&mut tree, &spec, &block(1), txs.clone()).unwrap();
    assert_eq!(out.executed.len(), 2);
    let made: Vec<_> = out.withdrawals.iter().map(|r| (r.withdrawal.nonce, r.withdrawal.value, r.tx_hash)).collect();
    assert_eq!(made, vec![(7, U256::from(2 * ETH), txs[0].hash), (8, U256::from(ETH), txs[1].hash)]);
    for record in &out.withdrawals {
        assert_eq!((record.withdrawal.from, record.withdrawal.to), (alice.address(), alice.address()));
    }
    // The value left L2: no account holds it; the counter's leaf counts the two withdrawals and holds no balance.
    assert_eq!(tree.get(&zkr_node::WITHDRAWAL_ADDRESS), Some(&Account { nonce: 9, balance: U256::ZERO }));
    let gas = U256::from(2 * 21_000u64) * U256::from(3 * GWEI);
    assert_eq!(tree.get(&alice.address()).unwrap().balance, U256::from(7 * ETH) - gas);

    // Beyond the block's withdrawal cap the next one waits for another block, not dropped.
    let capped = zkr_node::ChainSpec { max_block_withdrawals: 1, ..spec.clone() };
    let mut tree = capped.genesis_state().unwrap();
    let out = execute_block(&mut tree, &capped, &block(1), txs.clone()).unwrap();
    assert_eq!((out.executed.len(), out.withdrawals.len()), (1, 1));
    assert_eq!(out.skipped.len(), 1);
    assert_eq!((out.skipped[0].tx.hash, &out.skipped[0].reason), (txs[1].hash, &SkipReason::BlockFull));

    // A zero-value withdrawal is refused at admission.
    let zero = sign_1559(&alice, transfer(spec.chain_id, 2, zkr_node::WITHDRAWAL_ADDRESS, 0));
    assert_eq!(decode(&zero, &spec, BASE_FEE), Err(zkr_node::TxError::ZeroWithdrawal));
}
