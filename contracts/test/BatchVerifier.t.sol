// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {BatchVerifier} from "../src/verifier/BatchVerifier.sol";

/// Stands for the generated halo2 verifier: accepts exactly one calldata (and reverts otherwise, as the generated
/// code does).
contract ExpectedCalldataVerifier {
    bytes32 public immutable expected;

    constructor(bytes32 expected_) {
        expected = expected_;
    }

    fallback(bytes calldata data) external returns (bytes memory) {
        require(keccak256(data) == expected, "unexpected calldata");
        return "";
    }
}

contract BatchVerifierTest is Test {
    function inputs(uint256 n, uint256 seed) internal pure returns (uint256[] memory out) {
        out = new uint256[](n);
        for (uint256 i = 0; i < n; i++) {
            out[i] = uint256(keccak256(abi.encode(seed, i))) >> 8;
        }
    }

    function test_splicesThePublicInputsBetweenTheAccumulatorAndTheProof() public {
        uint256[] memory accumulator = inputs(12, 1);
        uint256[] memory statement = inputs(10, 2);
        bytes memory proof = abi.encodePacked(keccak256("proof"), keccak256("more"), uint8(7));
        bytes memory rollupProof = abi.encodePacked(accumulator, proof);
        bytes32 expected = keccak256(abi.encodePacked(accumulator, statement, proof));
        BatchVerifier verifier = new BatchVerifier(address(new ExpectedCalldataVerifier(expected)), 10);

        vm.assertTrue(verifier.verify(statement, rollupProof));
        // Any change to the statement, the accumulator or the proof is refused.
        statement[9] += 1;
        vm.assertFalse(verifier.verify(statement, rollupProof));
        statement[9] -= 1;
        rollupProof[0] ^= 0x01;
        vm.assertFalse(verifier.verify(statement, rollupProof));
        rollupProof[0] ^= 0x01;
        rollupProof[rollupProof.length - 1] ^= 0x01;
        vm.assertFalse(verifier.verify(statement, rollupProof));
    }

    function test_refusesWrongShapes() public {
        BatchVerifier verifier = new BatchVerifier(address(new ExpectedCalldataVerifier(bytes32(0))), 10);
        vm.assertFalse(verifier.verify(inputs(9, 1), new bytes(1000)));
        vm.assertFalse(verifier.verify(inputs(10, 1), new bytes(383)));
    }

    function test_refusesAVerifierWithoutCode() public {
        vm.expectRevert(abi.encodeWithSelector(BatchVerifier.VerifierHasNoCode.selector, address(0x1234)));
        new BatchVerifier(address(0x1234), 10);
    }
}
