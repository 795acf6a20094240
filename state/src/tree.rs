//! The account tree: an indexed Merkle tree of fixed depth over Poseidon.
//!
//! Leaves are appended in the order accounts first appear, so a path is always [`TREE_DEPTH`] hashes long, whatever the
//! address. Each leaf also names the next larger address present in the tree, which makes the leaves a sorted linked
//! list starting at the zero address (leaf 0, always present). That list is what lets a circuit prove that an address
//! has no leaf yet before inserting one, and so that no address ever gets two leaves: the proof shows the "low leaf"
//! whose address is below the new one and whose successor is above it (or is the end of the list).
//!
//! ```text
//!   leaf     = poseidon([address, next_address, nonce * 2^128 + balance])     next_address = 0: end of the list
//!   node     = compress(left, right)       one permutation of [2^64, left, right], s[1] (see `poseidon::compress`)
//!   empty    = 0 (a leaf index not used yet), so an empty subtree of height h hashes to zeros[h]
//!   root     = the node at height TREE_DEPTH
//! ```
//!
//! Leaf 0 also holds the number of leaves, in its nonce (the zero address cannot send, so its nonce is otherwise
//! unused). Every root the tree gives covers that count ([`AccountTree::root`] writes it first), which is what lets a
//! circuit pin where a new account goes: the next free index, the count, and nowhere else. Between roots the count may
//! lag behind the leaves: a circuit writes it once per chunk ([`AccountTree::write_len`]), not once per insertion.
//!
//! The native tree keeps every node of the used part of the tree and recomputes only the paths of leaves changed since
//! the last [`AccountTree::root`] call, so a block that touches `n` accounts costs about `n * TREE_DEPTH` hashes minus
//! what their paths share.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use alloy_primitives::{Address, U256};

use crate::{
    Error, Result,
    field::{Field, Fr, fr_from_address, fr_from_u256},
    poseidon::{compress, poseidon_hash},
};

/// Depth of the account tree: room for 2^32 accounts.
pub const TREE_DEPTH: usize = 32;

/// Largest balance an account can hold: balances are 128-bit in the leaf (all the ETH there is fits in 88 bits).
pub const MAX_BALANCE: U256 = U256::from_limbs([u64::MAX, u64::MAX, 0, 0]);

/// An account's state: what the validity proof tracks for every address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Account {
    /// Number of transactions sent.
    pub nonce: u64,
    /// Balance in wei, at most [`MAX_BALANCE`].
    pub balance: U256,
}

impl Account {
    /// `nonce * 2^128 + balance`, the account packed into one field element.
    pub fn packed(&self) -> Result<Fr> {
        if self.balance > MAX_BALANCE {
            return Err(Error::BalanceTooLarge(self.balance));
        }
        fr_from_u256((U256::from(self.nonce) << 128) | self.balance)
    }
}

/// A leaf of the account tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AccountLeaf {
    /// The account's address.
    pub address: Address,
    /// The next larger address in the tree, or zero if there is none.
    pub next: Address,
    /// The account's state.
    pub account: Account,
}

impl AccountLeaf {
    /// The leaf's hash.
    pub fn hash(&self) -> Result<Fr> {
        Ok(poseidon_hash(&[fr_from_address(self.address), fr_from_address(self.next), self.account.packed()?]))
    }
}

/// A Merkle path from a leaf to the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafProof {
    /// The leaf's index.
    pub index: u64,
    /// The leaf.
    pub leaf: AccountLeaf,
    /// Sibling hashes from the leaf's level upwards.
    pub siblings: [Fr; TREE_DEPTH],
}

impl LeafProof {
    /// The root this path leads to.
    pub fn root(&self) -> Result<Fr> {
        Ok(fold_path(self.leaf.hash()?, self.index, &self.siblings))
    }

    /// Whether the path leads to `root`.
    pub fn verify(&self, root: Fr) -> bool {
        self.root().is_ok_and(|computed| computed == root)
    }
}

/// What the tree says about an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountProof {
    /// The address has a leaf.
    Present(LeafProof),
    /// The address has no leaf: this is the low leaf, whose address is below it and whose successor is above it (or
    /// the end of the list).
    Absent(LeafProof),
}

impl AccountProof {
    /// Checks the proof against `root` for `address`, including the ordering that makes absence provable.
    pub fn verify(&self, address: Address, root: Fr) -> bool {
        match self {
            Self::Present(proof) => proof.leaf.address == address && proof.verify(root),
            Self::Absent(proof) => {
                let low = &proof.leaf;
                low.address < address && (low.next.is_zero() || address < low.next) && proof.verify(root)
            }
        }
    }
}

/// The account tree with all its nodes in memory.
#[derive(Debug, Clone)]
pub struct AccountTree {
    leaves: Vec<AccountLeaf>,
    indices: HashMap<Address, u64>,
    sorted: BTreeMap<Address, u64>,
    /// `nodes[h][i]`: node `i` at height `h` (0 = leaf hashes), for the used prefix of each level.
    nodes: Vec<Vec<Fr>>,
    dirty: BTreeSet<u64>,
    /// Leaves written since the last [`AccountTree::take_changed`], for whoever persists the tree.
    changed: BTreeSet<u64>,
    zeros: [Fr; TREE_DEPTH + 1],
}

impl Default for AccountTree {
    fn default() -> Self {
        Self::new()
    }
}

impl AccountTree {
    /// A tree holding only the zero address's account (leaf 0, the head of the sorted list, whose nonce counts the
    /// leaves).
    pub fn new() -> Self {
        let mut zeros = [Fr::ZERO; TREE_DEPTH + 1];
        for h in 0..TREE_DEPTH {
            zeros[h + 1] = compress(zeros[h], zeros[h]);
        }
        let mut tree = Self {
            leaves: Vec::new(),
            indices: HashMap::new(),
            sorted: BTreeMap::new(),
            nodes: vec![Vec::new(); TREE_DEPTH + 1],
            dirty: BTreeSet::new(),
            changed: BTreeSet::new(),
            zeros,
        };
        tree.push(AccountLeaf { account: Account { nonce: 1, balance: U256::ZERO }, ..AccountLeaf::default() });
        tree
    }

    /// Rebuilds a tree from its leaves in index order (as [`AccountTree::leaves`] returns them), checking that they
    /// form the sorted list the tree maintains.
    pub fn from_leaves(leaves: impl IntoIterator<Item = AccountLeaf>) -> Result<Self> {
        let mut tree = Self::new();
        tree.leaves.clear();
        tree.indices.clear();
        tree.sorted.clear();
        tree.dirty.clear();
        tree.changed.clear();
        for leaf in leaves {
            leaf.account.packed()?;
            if tree.indices.contains_key(&leaf.address) {
                return Err(Error::CorruptTree("an address has two leaves"));
            }
            tree.push(leaf);
        }
        if tree.leaves.first().is_none_or(|head| !head.address.is_zero()) {
            return Err(Error::CorruptTree("leaf 0 must be the zero address"));
        }
        // The successor of each address must be the next larger address present.
        let mut expected = tree.sorted.keys().skip(1).copied().chain(std::iter::once(Address::ZERO));
        for index in tree.sorted.values() {
            if tree.leaves[*index as usize].next != expected.next().unwrap_or_default() {
                return Err(Error::CorruptTree("successor links do not follow address order"));
            }
        }
        Ok(tree)
    }

    /// Number of leaves (accounts, the zero address included).
    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    /// Whether the tree holds only the zero address (it is never empty).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The leaves in index order.
    pub fn leaves(&self) -> &[AccountLeaf] {
        &self.leaves
    }

    /// The account of `address`, if it has a leaf.
    pub fn get(&self, address: &Address) -> Option<&Account> {
        self.indices.get(address).map(|&index| &self.leaves[index as usize].account)
    }

    /// The leaf index of `address`, if it has a leaf.
    pub fn index_of(&self, address: &Address) -> Option<u64> {
        self.indices.get(address).copied()
    }

    /// Sets the account of `address`, inserting a leaf (and relinking its low leaf) if it has none.
    pub fn set(&mut self, address: Address, account: Account) -> Result<()> {
        account.packed()?;
        if let Some(&index) = self.indices.get(&address) {
            self.leaves[index as usize].account = account;
            self.dirty.insert(index);
            self.changed.insert(index);
            return Ok(());
        }
        if self.leaves.len() as u64 >= 1u64 << TREE_DEPTH {
            return Err(Error::TreeFull);
        }
        let low_index = self.low_leaf_index(&address);
        let low = &mut self.leaves[low_index as usize];
        let next = std::mem::replace(&mut low.next, address);
        self.dirty.insert(low_index);
        self.changed.insert(low_index);
        self.push(AccountLeaf { address, next, account });
        Ok(())
    }

    /// The path of the first unused slot (index [`AccountTree::len`]); its `leaf` is the default leaf, standing for
    /// "empty" (hash zero).
    pub fn empty_slot_proof(&mut self) -> Result<LeafProof> {
        self.commit()?;
        let index = self.leaves.len() as u64;
        let siblings = std::array::from_fn(|height| self.node(height, (index >> height) ^ 1));
        Ok(LeafProof { index, leaf: AccountLeaf::default(), siblings })
    }

    /// Inserts a leaf for `address`, which must have none, in the two writes a circuit checks one after the other,
    /// and returns the proof of each write against the root just before it:
    ///
    /// 1. the low leaf (largest address below `address`) before its successor link is changed to `address`;
    /// 2. the empty slot at index [`AccountTree::len`] (its `leaf` is the default leaf and stands for "empty", hash
    ///    zero), after step 1; the new leaf `{address, low's old successor, account}` goes there.
    pub fn insert_stepwise(&mut self, address: Address, account: Account) -> Result<(LeafProof, LeafProof)> {
        account.packed()?;
        if self.indices.contains_key(&address) {
            return Err(Error::AlreadyPresent(address));
        }
        if self.leaves.len() as u64 >= 1u64 << TREE_DEPTH {
            return Err(Error::TreeFull);
        }
        self.commit()?;
        let low_index = self.low_leaf_index(&address);
        let low = self.leaf_proof(low_index);
        let next = std::mem::replace(&mut self.leaves[low_index as usize].next, address);
        self.dirty.insert(low_index);
        self.changed.insert(low_index);
        let empty = self.empty_slot_proof()?;
        self.push(AccountLeaf { address, next, account });
        Ok((low, empty))
    }

    /// The indices of the leaves written (inserted, updated or relinked) since the last call, with their leaves.
    pub fn take_changed(&mut self) -> Vec<(u64, AccountLeaf)> {
        std::mem::take(&mut self.changed).into_iter().map(|index| (index, self.leaves[index as usize])).collect()
    }

    /// The root, after writing the number of leaves into leaf 0 (see the module docs) and rehashing the paths of the
    /// leaves changed since the last call.
    pub fn root(&mut self) -> Result<Fr> {
        self.store_len();
        self.commit()?;
        Ok(self.node(TREE_DEPTH, 0))
    }

    /// Writes the number of leaves into leaf 0's nonce, where it is not there yet, and returns leaf 0's path against
    /// the root before the write: the write a chunk circuit makes once, after its records.
    pub fn write_len(&mut self) -> Result<LeafProof> {
        self.commit()?;
        let before = self.leaf_proof(0);
        self.store_len();
        self.commit()?;
        Ok(before)
    }

    /// Marks leaf 0 dirty with the number of leaves as its nonce, where it is not there yet.
    fn store_len(&mut self) {
        let len = self.leaves.len() as u64;
        let head = &mut self.leaves[0];
        if head.account.nonce != len {
            head.account.nonce = len;
            self.dirty.insert(0);
            self.changed.insert(0);
        }
    }

    /// The proof for `address`: its leaf's path, or the low leaf's path showing it has none.
    pub fn prove(&mut self, address: &Address) -> Result<AccountProof> {
        self.commit()?;
        Ok(match self.indices.get(address) {
            Some(&index) => AccountProof::Present(self.leaf_proof(index)),
            None => AccountProof::Absent(self.leaf_proof(self.low_leaf_index(address))),
        })
    }

    fn push(&mut self, leaf: AccountLeaf) {
        let index = self.leaves.len() as u64;
        self.indices.insert(leaf.address, index);
        self.sorted.insert(leaf.address, index);
        self.leaves.push(leaf);
        self.dirty.insert(index);
        self.changed.insert(index);
    }

    /// The leaf with the largest address below `address` (leaf 0 at worst, since no address is below zero).
    fn low_leaf_index(&self, address: &Address) -> u64 {
        self.sorted.range(..*address).next_back().map_or(0, |(_, &index)| index)
    }

    fn node(&self, height: usize, index: u64) -> Fr {
        self.nodes[height].get(index as usize).copied().unwrap_or(self.zeros[height])
    }

    fn leaf_proof(&self, index: u64) -> LeafProof {
        let siblings = std::array::from_fn(|height| self.node(height, (index >> height) ^ 1));
        LeafProof { index, leaf: self.leaves[index as usize], siblings }
    }

    fn commit(&mut self) -> Result<()> {
        if self.dirty.is_empty() {
            return Ok(());
        }
        let mut dirty = std::mem::take(&mut self.dirty);
        let leaf_hashes = &mut self.nodes[0];
        leaf_hashes.resize(self.leaves.len(), Fr::ZERO);
        for &index in &dirty {
            leaf_hashes[index as usize] = self.leaves[index as usize].hash()?;
        }
        for height in 1..=TREE_DEPTH {
            let parents: BTreeSet<u64> = dirty.iter().map(|index| index >> 1).collect();
            let width = self.nodes[height - 1].len().div_ceil(2);
            self.nodes[height].resize(width, Fr::ZERO);
            for &parent in &parents {
                let hash = compress(self.node(height - 1, parent * 2), self.node(height - 1, parent * 2 + 1));
                self.nodes[height][parent as usize] = hash;
            }
            dirty = parents;
        }
        Ok(())
    }
}

/// Hashes a leaf up its path.
fn fold_path(leaf_hash: Fr, index: u64, siblings: &[Fr; TREE_DEPTH]) -> Fr {
    siblings.iter().enumerate().fold(leaf_hash, |node, (height, sibling)| {
        if (index >> height) & 1 == 0 { compress(node, *sibling) } else { compress(*sibling, node) }
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn account(nonce: u64, balance: u64) -> Account {
        Account { nonce, balance: U256::from(balance) }
    }

    /// The root computed from scratch, recursively, independently of the incremental code.
    fn reference_root(leaves: &[AccountLeaf]) -> Fr {
        let hashes: Vec<Fr> = leaves.iter().map(|leaf| leaf.hash().unwrap()).collect();
        fn node(hashes: &[Fr], zeros: &[Fr], height: usize, index: u64) -> Fr {
            if (index << height) >= hashes.len() as u64 {
                return zeros[height];
            }
            if height == 0 {
                return hashes[index as usize];
            }
            compress(node(hashes, zeros, height - 1, index * 2), node(hashes, zeros, height - 1, index * 2 + 1))
        }
        let mut zeros = vec![Fr::ZERO];
        for h in 0..TREE_DEPTH {
            zeros.push(compress(zeros[h], zeros[h]));
        }
        node(&hashes, &zeros, TREE_DEPTH, 0)
    }

    #[test]
    fn stepwise_insertion_proves_each_write_against_the_root_before_it() {
        let mut tree = AccountTree::new();
        let mut plain = AccountTree::new();
        for (i, byte) in [0x50u8, 0x20, 0x90, 0x30].into_iter().enumerate() {
            let address = Address::repeat_byte(byte);
            let account = account(i as u64, 10 + i as u64);
            let before = tree.root().unwrap();
            let (low, empty) = tree.insert_stepwise(address, account).unwrap();
            assert!(low.verify(before), "low leaf proof against the root before the insertion");
            assert!(low.leaf.address < address && (low.leaf.next.is_zero() || address < low.leaf.next));
            let mut relinked = low.clone();
            relinked.leaf.next = address;
            let middle = relinked.root().unwrap();
            assert_eq!(fold_path(Fr::ZERO, empty.index, &empty.siblings), middle, "empty slot under the relinked root");
            let leaf = AccountLeaf { address, next: low.leaf.next, account };
            let head = tree.write_len().unwrap();
            assert_eq!(fold_path(leaf.hash().unwrap(), empty.index, &empty.siblings), head.root().unwrap());
            assert_eq!(empty.index, head.leaf.account.nonce, "the new leaf takes the next free index, the count");
            plain.set(address, account).unwrap();
            assert_eq!(plain.root().unwrap(), tree.root().unwrap(), "same tree as a plain insertion");
        }
        assert_eq!(
            tree.insert_stepwise(Address::repeat_byte(0x20), Account::default()).unwrap_err(),
            Error::AlreadyPresent(Address::repeat_byte(0x20))
        );
    }

    /// Walks the successor links from the zero address: they must visit every address once, in increasing order.
    fn assert_sorted_list(tree: &AccountTree) {
        let mut seen = 1;
        let mut current = tree.leaves[0];
        while !current.next.is_zero() {
            assert!(current.next > current.address, "links must increase");
            current = tree.leaves[tree.index_of(&current.next).unwrap() as usize];
            seen += 1;
        }
        assert_eq!(seen, tree.len(), "every leaf is on the list exactly once");
    }

    #[test]
    fn empty_tree_root_is_the_zero_accounts_leaf_over_empty_subtrees() {
        let mut tree = AccountTree::new();
        assert_eq!(tree.len(), 1);
        assert_eq!(tree.root().unwrap(), reference_root(tree.leaves()));
        assert_eq!(tree.get(&Address::ZERO), Some(&Account { nonce: 1, balance: U256::ZERO }), "one leaf");
    }

    #[test]
    fn every_root_covers_the_number_of_leaves_in_leaf_0() {
        let mut tree = AccountTree::new();
        for (i, byte) in [0x50u8, 0x20, 0x90].into_iter().enumerate() {
            let address = Address::repeat_byte(byte);
            tree.set(address, account(0, 1)).unwrap();
            assert_eq!(tree.get(&Address::ZERO).unwrap().nonce, i as u64 + 1, "the count lags until a root");
            let before = tree.write_len().unwrap();
            assert_eq!(before.index, 0);
            assert_eq!(before.leaf.account.nonce, i as u64 + 1, "the proof shows leaf 0 before the write");
            let mut after = before.clone();
            after.leaf.account.nonce = tree.len() as u64;
            let root = tree.root().unwrap();
            assert!(after.verify(root), "the root is the written count's");
            assert_eq!(tree.write_len().unwrap(), after, "a second write changes nothing");
            assert_eq!(root, reference_root(tree.leaves()));
        }
        // A write to the zero address's account (a deposit to it) does not move the count of the next root.
        tree.set(Address::ZERO, account(0, 7)).unwrap();
        assert_eq!(tree.root().unwrap(), reference_root(tree.leaves()));
        assert_eq!(tree.get(&Address::ZERO), Some(&account(4, 7)));
    }

    #[test]
    fn insert_links_the_new_address_after_its_low_leaf() {
        let mut tree = AccountTree::new();
        let (a, b, c) = (Address::repeat_byte(0x10), Address::repeat_byte(0x30), Address::repeat_byte(0x20));
        tree.set(a, account(0, 5)).unwrap();
        tree.set(b, account(1, 6)).unwrap();
        tree.set(c, account(2, 7)).unwrap();
        // Indices follow insertion, links follow address order: 0 -> a -> c -> b -> end.
        assert_eq!(tree.index_of(&c), Some(3));
        assert_eq!(tree.leaves()[0].next, a);
        assert_eq!(tree.leaves()[1].next, c);
        assert_eq!(tree.leaves()[3].next, b);
        assert!(tree.leaves()[2].next.is_zero());
        assert_sorted_list(&tree);
        assert_eq!(tree.root().unwrap(), reference_root(tree.leaves()));
    }

    #[test]
    fn proofs_of_presence_and_absence_verify_and_reject_tampering() {
        let mut tree = AccountTree::new();
        let (a, b) = (Address::repeat_byte(0x10), Address::repeat_byte(0x30));
        tree.set(a, account(3, 100)).unwrap();
        tree.set(b, account(0, 1)).unwrap();
        let root = tree.root().unwrap();

        let present = tree.prove(&a).unwrap();
        assert!(matches!(present, AccountProof::Present(_)));
        assert!(present.verify(a, root));
        assert!(!present.verify(b, root), "a proof is for one address");

        let missing = Address::repeat_byte(0x20);
        let absent = tree.prove(&missing).unwrap();
        let AccountProof::Absent(low) = &absent else { panic!("expected absence") };
        assert_eq!(low.leaf.address, a);
        assert!(absent.verify(missing, root));
        // The same low leaf cannot show that `b` (which exists) is absent.
        assert!(!absent.verify(b, root));

        let AccountProof::Present(mut forged) = present else { unreachable!() };
        forged.leaf.account.balance += U256::from(1);
        assert!(!forged.verify(root), "a changed balance changes the root");
    }

    #[test]
    fn reports_every_written_leaf_once() {
        let mut tree = AccountTree::new();
        tree.take_changed();
        let (a, b) = (Address::repeat_byte(0x10), Address::repeat_byte(0x08));
        tree.set(a, account(0, 1)).unwrap();
        tree.root().unwrap();
        tree.set(a, account(1, 1)).unwrap();
        tree.set(b, account(0, 2)).unwrap();
        // a (written twice), the zero leaf (relinked twice) and b (inserted), each once.
        let changed: Vec<u64> = tree.take_changed().into_iter().map(|(index, _)| index).collect();
        assert_eq!(changed, vec![0, 1, 2]);
        assert!(tree.take_changed().is_empty());
    }

    #[test]
    fn rejects_balances_beyond_128_bits() {
        let mut tree = AccountTree::new();
        let too_much = Account { nonce: 0, balance: MAX_BALANCE + U256::from(1) };
        assert_eq!(tree.set(Address::repeat_byte(1), too_much), Err(Error::BalanceTooLarge(too_much.balance)));
        assert_eq!(tree.len(), 1, "nothing was inserted");
        tree.set(Address::repeat_byte(1), Account { nonce: u64::MAX, balance: MAX_BALANCE }).unwrap();
    }

    #[test]
    fn from_leaves_restores_the_tree_and_rejects_broken_lists() {
        let mut tree = AccountTree::new();
        for i in 1..20u8 {
            tree.set(Address::repeat_byte(i.wrapping_mul(37)), account(i.into(), 1000 * u64::from(i))).unwrap();
        }
        let mut restored = AccountTree::from_leaves(tree.leaves().to_vec()).unwrap();
        assert_eq!(restored.root().unwrap(), tree.root().unwrap());

        let mut broken = tree.leaves().to_vec();
        broken[3].next = Address::ZERO;
        assert!(matches!(AccountTree::from_leaves(broken), Err(Error::CorruptTree(_))));
        let mut duplicated = tree.leaves().to_vec();
        duplicated.push(duplicated[2]);
        assert!(matches!(AccountTree::from_leaves(duplicated), Err(Error::CorruptTree(_))));
        assert!(matches!(AccountTree::from_leaves(tree.leaves()[1..].to_vec()), Err(Error::CorruptTree(_))));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Any sequence of writes, with roots taken at random points: the incremental root equals the one computed
        /// from scratch, the list stays sorted, and every address's proof verifies.
        #[test]
        fn incremental_root_matches_the_reference(
            writes in prop::collection::vec((0u8..24, any::<u64>(), any::<u64>(), any::<bool>()), 1..40)
        ) {
            let mut tree = AccountTree::new();
            for (key, nonce, balance, take_root) in writes {
                let address = Address::with_last_byte(key);
                tree.set(address, account(nonce, balance)).unwrap();
                if take_root {
                    prop_assert_eq!(tree.root().unwrap(), reference_root(tree.leaves()));
                }
            }
            let root = tree.root().unwrap();
            prop_assert_eq!(root, reference_root(tree.leaves()));
            assert_sorted_list(&tree);
            for key in 0u8..26 {
                let address = Address::with_last_byte(key);
                prop_assert!(tree.prove(&address).unwrap().verify(address, root));
            }
        }
    }
}
