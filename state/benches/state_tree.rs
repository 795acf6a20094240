//! What state roots cost: native Poseidon and account-tree updates per block.
//!
//! `cargo bench -p zkr-state --bench state_tree` prints one table. Every transfer touches at least its sender and its
//! recipient, so `accounts per block` below is about twice the transfers a block can hold.

#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use alloy_primitives::{Address, U256};
use zkr_state::{
    Account, AccountTree,
    field::Fr,
    poseidon::{hash2, poseidon_hash},
};

/// A deterministic address stream (splitmix64), so runs compare.
fn address(i: u64) -> Address {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut bytes = [0u8; 20];
    for chunk in bytes.chunks_mut(8) {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_be_bytes()[..chunk.len()]);
    }
    Address::from(bytes)
}

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

fn main() {
    let n = 200_000u64;
    let mut acc = Fr::from(1u64);
    let ((), per_hash) = time(|| {
        for i in 0..n {
            acc = hash2(acc, Fr::from(i));
        }
    });
    std::hint::black_box(acc);
    let ((), per_leaf) = time(|| {
        for i in 0..n / 2 {
            acc = poseidon_hash(&[acc, Fr::from(i), Fr::from(i + 1)]);
        }
    });
    std::hint::black_box(acc);

    println!("| operation | figure |");
    println!("|---|---|");
    println!("| poseidon, 2 inputs (tree node) | {:.2} µs |", per_hash.as_secs_f64() * 1e6 / n as f64);
    println!("| poseidon, 3 inputs (leaf) | {:.2} µs |", per_leaf.as_secs_f64() * 1e6 / (n / 2) as f64);

    let accounts = 100_000u64;
    let mut tree = AccountTree::new();
    let ((), build) = time(|| {
        for i in 0..accounts {
            tree.set(address(i), Account { nonce: 0, balance: U256::from(10u64.pow(18)) }).unwrap();
        }
        tree.root().unwrap();
    });
    println!("| build a tree of {accounts} accounts | {:.2} s |", build.as_secs_f64());

    for block in [100u64, 1_000, 4_000] {
        let (_, update) = time(|| {
            for i in 0..block {
                let who = address((i * 7_919) % accounts);
                let mut account = *tree.get(&who).unwrap();
                account.nonce += 1;
                tree.set(who, account).unwrap();
            }
            tree.root().unwrap()
        });
        println!(
            "| block updating {block} existing accounts, then root | {:.1} ms ({:.0} accounts/s) |",
            update.as_secs_f64() * 1e3,
            block as f64 / update.as_secs_f64()
        );
    }
    let (_, insert) = time(|| {
        for i in 0..1_000 {
            tree.set(address(accounts + i), Account::default()).unwrap();
        }
        tree.root().unwrap()
    });
    println!("| block inserting 1000 new accounts, then root | {:.1} ms |", insert.as_secs_f64() * 1e3);
}
