use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy},
    eips::{
        Encodable2718,
        eip2930::{AccessList, AccessListItem},
    },
    primitives::{Address, B256, Bytes, Signature, TxKind, U256},
};
use zkr_node::{ExecutionMode, TxError, check_sender, decode};
use zkr_state::Account;

use crate::*;

const BASE_FEE: u64 = 1_000_000_000;

#[test]
fn accepts_the_three_supported_types_and_recovers_the_sender() {
    let alice = key(1);
    let spec = spec_with(&[alice.address()]);
    let bob = Address::repeat_byte(0xb0);

    let raw = sign_1559(&alice, transfer(spec.chain_id, 0, bob, ETH));
    let tx = decode(&raw, &spec, BASE_FEE).unwrap();
    assert_eq!(tx.sender, alice.address());
    assert_eq!(tx.encoded, raw);
    assert_eq!(tx.hash, alloy::primitives::keccak256(&raw));

    let legacy = TxLegacy {
        chain_id: Some(spec.chain_id),
        nonce: 0,
        gas_price: 2 * GWEI,
        gas_limit: 21_000,
        to: TxKind::Call(bob),
        value: U256::from(1),
        input: Bytes::new(),
    };
    assert_eq!(decode(&sign_legacy(&alice, legacy), &spec, BASE_FEE).unwrap().sender, alice.address());

    let access_list = alloy::consensus::TxEip2930 {
        chain_id: spec.chain_id,
        nonce: 0,
        gas_price: 2 * GWEI,
        gas_limit: 21_000,
        to: TxKind::Call(bob),
        value: U256::from(1),
        access_list: AccessList::default(),
        input: Bytes::new(),
    };
    assert_eq!(decode(&sign_2930(&alice, access_list), &spec, BASE_FEE).unwrap().sender, alice.address());
}

#[test]
fn refuses_malformed_and_oversized_bytes() {
    let spec = spec_with(&[]);
    for raw in [&b""[..], &[0x02, 0xc0], &[0xf8, 0x01, 0x02], &[0x7f; 40]] {
        let err = decode(raw, &spec, BASE_FEE).unwrap_err();
        assert!(matches!(err, TxError::Malformed(_) | TxError::UnsupportedType(_)), "{raw:?}: {err}");
        assert_eq!(err.rpc_code(), -32000);
    }
    let huge = vec![0u8; spec.max_tx_size + 1];
    assert!(matches!(decode(&huge, &spec, BASE_FEE), Err(TxError::Oversized { .. })));

    // A valid transaction with a trailing byte is malformed too.
    let alice = key(1);
    let mut raw = sign_1559(&alice, transfer(spec.chain_id, 0, Address::ZERO, 1)).to_vec();
    raw.push(0);
    assert!(matches!(decode(&raw, &spec, BASE_FEE), Err(TxError::Malformed(_))));
}

#[test]
fn refuses_replayable_and_foreign_chain_transactions() {
    let alice = key(1);
    let spec = spec_with(&[alice.address()]);
    let unprotected = TxLegacy {
        chain_id: None,
        nonce: 0,
        gas_price: 2 * GWEI,
        gas_limit: 21_000,
        to: TxKind::Call(Address::repeat_byte(1)),
        value: U256::from(1),
        input: Bytes::new(),
    };
    let err = decode(&sign_legacy(&alice, unprotected), &spec, BASE_FEE).unwrap_err();
    assert_eq!(err, TxError::NotReplayProtected);
    assert_eq!(err.to_string(), "only replay-protected (EIP-155) transactions allowed over RPC");

    let foreign = sign_1559(&alice, transfer(1, 0, Address::repeat_byte(1), 1));
    let err = decode(&foreign, &spec, BASE_FEE).unwrap_err();
    assert_eq!(err, TxError::WrongChainId { have: 1, want: spec.chain_id });
    assert!(err.to_string().starts_with("invalid sender: invalid chain id for signer"), "{err}");
}

#[test]
fn refuses_a_signature_that_recovers_no_sender() {
    let spec = spec_with(&[]);
    let tx = transfer(spec.chain_id, 0, Address::repeat_byte(1), 1);
    // r = 0 is not a point on the curve: no key signed this.
    let forged = TxEnvelope::from(tx.into_signed(Signature::new(U256::ZERO, U256::from(1), false)));
    let err = decode(&forged.encoded_2718(), &spec, BASE_FEE).unwrap_err();
    assert!(matches!(err, TxError::InvalidSignature(_)), "{err}");
    assert!(err.to_string().starts_with("invalid sender"), "{err}");
}

#[test]
fn refuses_bad_fees_and_gas() {
    let alice = key(1);
    let spec = spec_with(&[alice.address()]);
    let to = Address::repeat_byte(1);
    let base = transfer(spec.chain_id, 0, to, 1);

    let tip_above_cap = TxEip1559 { max_priority_fee_per_gas: 20 * GWEI, ..base.clone() };
    assert_eq!(decode(&sign_1559(&alice, tip_above_cap), &spec, BASE_FEE), Err(TxError::TipAboveFeeCap));

    let below_base_fee = TxEip1559 { max_fee_per_gas: GWEI / 2, max_priority_fee_per_gas: 0, ..base.clone() };
    let err = decode(&sign_1559(&alice, below_base_fee), &spec, BASE_FEE).unwrap_err();
    assert!(err.to_string().starts_with("max fee per gas less than block base fee"), "{err}");

    let over_block = TxEip1559 { gas_limit: spec.block_gas_limit + 1, ..base.clone() };
    assert_eq!(decode(&sign_1559(&alice, over_block), &spec, BASE_FEE), Err(TxError::ExceedsBlockGasLimit));

    let too_little_gas = TxEip1559 { gas_limit: 20_999, ..base };
    let err = decode(&sign_1559(&alice, too_little_gas), &spec, BASE_FEE).unwrap_err();
    assert_eq!(err, TxError::IntrinsicGasTooLow { gas: 20_999, minimum: 21_000 });
    assert_eq!(err.to_string(), "intrinsic gas too low: gas 20999, minimum needed 21000");
}

#[test]
fn zk_mode_admits_value_transfers_only() {
    let alice = key(1);
    let mut spec = spec_with(&[alice.address()]);
    let base = transfer(spec.chain_id, 0, Address::repeat_byte(1), 1);

    let create =
        TxEip1559 { to: TxKind::Create, gas_limit: 100_000, input: Bytes::from_static(&[0x60]), ..base.clone() };
    assert_eq!(decode(&sign_1559(&alice, create.clone()), &spec, BASE_FEE), Err(TxError::CreateNotSupported));

    let call = TxEip1559 { gas_limit: 50_000, input: Bytes::from_static(&[0xa9, 0x05, 0x9c, 0xbb]), ..base.clone() };
    let err = decode(&sign_1559(&alice, call.clone()), &spec, BASE_FEE).unwrap_err();
    assert!(matches!(err, TxError::CallNotSupported(_)));
    assert!(err.to_string().contains("zk mode"), "{err}");

    let precompile = TxEip1559 { to: TxKind::Call(Address::with_last_byte(1)), ..base.clone() };
    assert!(matches!(decode(&sign_1559(&alice, precompile), &spec, BASE_FEE), Err(TxError::CallNotSupported(_))));

    // A non-empty access list costs gas the proof does not charge, and no record carries it: refused in either
    // transaction type that has one.
    let list = AccessList(vec![AccessListItem { address: Address::repeat_byte(1), storage_keys: vec![B256::ZERO] }]);
    let listed = TxEip1559 { gas_limit: 21_000 + 2_400 + 1_900, access_list: list.clone(), ..base };
    let err = decode(&sign_1559(&alice, listed.clone()), &spec, BASE_FEE).unwrap_err();
    assert_eq!(err, TxError::AccessListNotSupported);
    assert!(err.to_string().starts_with("access lists are not supported in zk mode"), "{err}");
    assert_eq!(err.rpc_code(), -32000);
    let listed_2930 = alloy::consensus::TxEip2930 {
        chain_id: spec.chain_id,
        nonce: 0,
        gas_price: 2 * GWEI,
        gas_limit: 21_000 + 2_400 + 1_900,
        to: TxKind::Call(Address::repeat_byte(1)),
        value: U256::from(1),
        access_list: list,
        input: Bytes::new(),
    };
    assert_eq!(decode(&sign_2930(&alice, listed_2930.clone()), &spec, BASE_FEE), Err(TxError::AccessListNotSupported));

    // The optimistic variant executes them.
    spec.mode = ExecutionMode::Full;
    decode(&sign_1559(&alice, create), &spec, BASE_FEE).unwrap();
    decode(&sign_1559(&alice, call), &spec, BASE_FEE).unwrap();
    decode(&sign_1559(&alice, listed), &spec, BASE_FEE).unwrap();
    decode(&sign_2930(&alice, listed_2930), &spec, BASE_FEE).unwrap();
}

#[test]
fn checks_nonce_and_balance_against_the_pending_state() {
    let alice = key(1);
    let spec = spec_with(&[alice.address()]);
    let to = Address::repeat_byte(1);
    let account = Account { nonce: 5, balance: U256::from(ETH) };
    let tx =
        |nonce, value| decode(&sign_1559(&alice, transfer(spec.chain_id, nonce, to, value)), &spec, BASE_FEE).unwrap();

    check_sender(&tx(5, 1), &account, 5, &spec).unwrap();
    // A later nonce waits in the pool, up to the configured gap.
    check_sender(&tx(5 + spec.max_nonce_gap, 1), &account, 5, &spec).unwrap();

    let err = check_sender(&tx(4, 1), &account, 5, &spec).unwrap_err();
    assert_eq!(err.to_string(), "nonce too low: next nonce 5, tx nonce 4");
    let err = check_sender(&tx(6 + spec.max_nonce_gap, 1), &account, 5, &spec).unwrap_err();
    assert!(err.to_string().starts_with("nonce too high"), "{err}");

    // Value plus 21,000 gas at the 10 gwei fee cap must be covered.
    let cost = U256::from(ETH) + U256::from(21_000u128 * 10 * GWEI);
    let err = check_sender(&tx(5, ETH), &account, 5, &spec).unwrap_err();
    assert_eq!(err, TxError::InsufficientFunds { balance: account.balance, cost });
    assert!(err.to_string().starts_with("insufficient funds for gas * price + value"), "{err}");
}
