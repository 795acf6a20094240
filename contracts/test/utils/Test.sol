// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @notice The subset of forge's cheatcodes this suite uses. forge-std is not available offline, so the interface is
///         declared here; every signature matches forge's own cheatcode definitions, because a call whose selector
///         forge does not know reverts and would make a test fail for the wrong reason.
interface Vm {
    // Environment.
    function prank(address msgSender) external;
    function startPrank(address msgSender) external;
    function stopPrank() external;
    function deal(address account, uint256 newBalance) external;
    function addr(uint256 privateKey) external pure returns (address keyAddr);
    function label(address account, string calldata newLabel) external;
    function getNonce(address account) external view returns (uint64 nonce);
    function computeCreateAddress(address deployer, uint256 nonce) external pure returns (address);
    function assume(bool condition) external pure;
    function warp(uint256 newTimestamp) external;
    function toString(uint256 value) external pure returns (string memory stringifiedValue);

    // Expectations.
    function expectRevert(bytes4 revertData) external;
    function expectRevert(bytes calldata revertData) external;
    function expectEmit(address emitter) external;

    // Assertions (they revert with a readable message, which is what fails the test).
    function assertTrue(bool condition) external pure;
    function assertTrue(bool condition, string calldata err) external pure;
    function assertFalse(bool condition) external pure;
    function assertFalse(bool condition, string calldata err) external pure;
    function assertEq(bool left, bool right) external pure;
    function assertEq(bool left, bool right, string calldata err) external pure;
    function assertEq(uint256 left, uint256 right) external pure;
    function assertEq(uint256 left, uint256 right, string calldata err) external pure;
    function assertEq(address left, address right) external pure;
    function assertEq(address left, address right, string calldata err) external pure;
    function assertEq(bytes32 left, bytes32 right) external pure;
    function assertEq(bytes32 left, bytes32 right, string calldata err) external pure;
    function assertEq(bytes calldata left, bytes calldata right) external pure;
    function assertEq(bytes calldata left, bytes calldata right, string calldata err) external pure;
    function assertEq(uint256[] calldata left, uint256[] calldata right) external pure;
    function assertLt(uint256 left, uint256 right) external pure;
    function assertLt(uint256 left, uint256 right, string calldata err) external pure;
    function assertGt(uint256 left, uint256 right) external pure;
    function assertGt(uint256 left, uint256 right, string calldata err) external pure;
    function assertGe(uint256 left, uint256 right) external pure;
    function assertLe(uint256 left, uint256 right) external pure;
    function assertGe(uint256 left, uint256 right, string calldata err) external pure;
}

/// @notice A contract and the selectors of it that the invariant fuzzer may call (read by forge from
///         `targetSelectors()`; the field layout is what forge decodes, so it must not change).
struct FuzzSelector {
    address addr;
    bytes4[] selectors;
}

/// @notice What tests and invariant handlers share: the cheatcode handle and small input helpers.
abstract contract CommonBase {
    /// @dev forge answers calls to address(uint160(uint256(keccak256("hevm cheat code")))), that is
    ///      0x7109709ECfa91a80626fF3989D68f67F5b1DD12D; deriving it documents where the constant comes from.
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @dev forge prints calls to this address (the ASCII of "console.log") as log lines under -vv.
    address private constant CONSOLE = 0x000000000000000000636F6e736F6c652e6c6f67;

    /// @notice Maps any fuzzed `x` into [min, max]. Values already in range are kept as they are, so the edge values
    ///         forge likes to try (0, 1, max) reach the code under test unchanged instead of being scrambled.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        if (x >= min && x <= max) return x;
        uint256 size = max - min;
        // The full uint256 range: every x is in range and was returned above.
        unchecked {
            return min + (x % (size + 1));
        }
    }

    /// @notice A deterministic, labelled EOA, so traces name actors instead of printing raw addresses.
    function makeAddr(string memory name) internal returns (address account) {
        account = vm.addr(uint256(keccak256(bytes(name))));
        vm.label(account, name);
    }

    /// @notice Prints `key value` in forge's log output.
    function _log(string memory key, uint256 value) internal view {
        // console.log is a view-safe staticcall that forge intercepts; its result carries no information.
        (bool ok,) = CONSOLE.staticcall(abi.encodeWithSignature("log(string,uint256)", key, value));
        ok;
    }
}

/// @notice Base of every test contract: CommonBase plus the hooks forge reads to pick invariant targets.
abstract contract Test is CommonBase {
    address[] private _targetedContracts;
    FuzzSelector[] private _targetedSelectors;

    /// @notice Restricts the invariant fuzzer to `target`; without any, forge would call every contract deployed in
    ///         setUp, including the Rollup and Portal directly with random senders, which only produces reverts.
    function targetContract(address target) internal {
        _targetedContracts.push(target);
    }

    /// @notice Restricts the calls made on `selector.addr` to the listed functions (the handler's actions, not its
    ///         view getters).
    function targetSelector(FuzzSelector memory selector) internal {
        _targetedSelectors.push(selector);
    }

    /// @notice Read by forge: the contracts the invariant fuzzer calls.
    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    /// @notice Read by forge: the functions the invariant fuzzer calls on each targeted contract.
    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }
}
