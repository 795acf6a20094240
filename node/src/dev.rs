//! Development helpers: the accounts `zkr-node --dev` funds, and signed transactions for the devnet's load, tests
//! and benchmarks.

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::Encodable2718,
    network::TxSignerSync,
    primitives::{Address, Bytes, TxKind, U256},
    signers::local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English},
};

/// The test mnemonic every Ethereum development tool uses (anvil, hardhat): its keys are public, never use them for
/// anything of value.
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";
/// How many of its accounts `--dev` funds (as anvil).
pub const DEV_ACCOUNTS: u32 = 10;
/// What each holds at genesis: 10,000 ETH (as anvil).
pub const DEV_BALANCE: U256 = U256::from_limbs([0x19e0_c9ba_b240_0000, 0x21e, 0, 0]);

/// The first `count` accounts of [`DEV_MNEMONIC`] (BIP-44 path `m/44'/60'/0'/0/i`), the same as anvil's.
pub fn dev_accounts(count: u32) -> Vec<PrivateKeySigner> {
    (0..count)
        .map(|index| {
            match MnemonicBuilder::<English>::default().phrase(DEV_MNEMONIC).index(index).and_then(|b| b.build()) {
                Ok(signer) => signer,
                // The phrase and path are constants that derive on every machine.
                Err(err) => unreachable!("the test mnemonic does not derive account {index}: {err}"),
            }
        })
        .collect()
}

/// One gwei in wei.
pub const GWEI: u128 = 1_000_000_000;

/// An EIP-1559 transfer of `value` wei (21,000 gas, 10 gwei max fee, 2 gwei tip), signed and encoded for
/// `eth_sendRawTransaction` or [`crate::Node::submit`].
pub fn signed_transfer(signer: &PrivateKeySigner, chain_id: u64, nonce: u64, to: Address, value: u128) -> Bytes {
    let mut tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10 * GWEI,
        max_priority_fee_per_gas: 2 * GWEI,
        to: TxKind::Call(to),
        value: U256::from(value),
        ..Default::default()
    };
    match signer.sign_transaction_sync(&mut tx) {
        Ok(signature) => TxEnvelope::from(tx.into_signed(signature)).encoded_2718().into(),
        // A local key signs any transaction with a chain id; there is nothing else to fail.
        Err(e) => unreachable!("a local key failed to sign: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_accounts_are_anvils() {
        let accounts = dev_accounts(DEV_ACCOUNTS);
        assert_eq!(accounts.len(), 10);
        // anvil's first and last default accounts.
        assert_eq!(accounts[0].address(), "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".parse::<Address>().unwrap());
        assert_eq!(accounts[9].address(), "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720".parse::<Address>().unwrap());
        assert_eq!(DEV_BALANCE, U256::from(10_000u128 * 1_000_000_000_000_000_000));
    }
}
