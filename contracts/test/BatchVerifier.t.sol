// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {BatchVerifier} from "../src/verifier/BatchVerifier.sol";

/// Stands for one part of the generated halo2 verifier: accepts exactly one calldata, reverting otherwise as the
/// generated code does, and returns a fixed memory image.
contract ExpectedCalldataPart {
    bytes32 public immutable expected;
    bytes internal image;

    constructor(bytes32 expected_, bytes memory image_) {
        expected = expected_;
        image = image_;
    }

    fallback(bytes calldata data) external returns (bytes memory) {
        require(keccak256(data) == expected, "unexpected calldata");
        return image;
    }
}

contract BatchVerifierTest is Test {
    function inputs(uint256 n, uint256 seed) internal pure returns (uint256[] memory out) {
        out = new uint256[](n);
        for (uint256 i = 0; i < n; i++) {
            out[i] = uint256(keccak256(abi.encode(seed, i))) >> 8;
        }
    }

    function one(address part) internal pure returns (address[] memory parts) {
        parts = new address[](1);
        parts[0] = part;
    }

    function test_splicesThePublicInputsBetweenTheAccumulatorAndTheProof() public {
        uint256[] memory accumulator = inputs(12, 1);
        uint256[] memory statement = inputs(10, 2);
        bytes memory proof = abi.encodePacked(keccak256("proof"), keccak256("more"), uint8(7));
        bytes memory rollupProof = abi.encodePacked(accumulator, proof);
        bytes32 expected = keccak256(abi.encodePacked(accumulator, statement, proof));
        BatchVerifier verifier = new BatchVerifier(one(address(new ExpectedCalldataPart(expected, ""))), 10);

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

    /// Each part after the first gets the verifier calldata, then the memory image the part before it returned, then
    /// the image's length.
    function test_chainsThePartsPassingEachMemoryImageOn() public {
        uint256[] memory accumulator = inputs(12, 3);
        uint256[] memory statement = inputs(6, 4);
        bytes memory proof = abi.encodePacked(keccak256("a"), keccak256("b"), keccak256("c"));
        bytes memory data = abi.encodePacked(accumulator, statement, proof);
        // An image whose length is not a multiple of 32, then a longer one, then the last part.
        bytes memory image0 = abi.encodePacked(keccak256("image0"), uint16(0xbeef));
        bytes memory image1 = abi.encodePacked(keccak256("x"), keccak256("y"), keccak256("z"));
        address[] memory parts = new address[](3);
        parts[0] = address(new ExpectedCalldataPart(keccak256(data), image0));
        parts[1] = address(new ExpectedCalldataPart(keccak256(abi.encodePacked(data, image0, image0.length)), image1));
        parts[2] = address(new ExpectedCalldataPart(keccak256(abi.encodePacked(data, image1, image1.length)), ""));
        BatchVerifier verifier = new BatchVerifier(parts, 6);
        vm.assertEq(verifier.parts().length, 3);

        bytes memory rollupProof = abi.encodePacked(accumulator, proof);
        vm.assertTrue(verifier.verify(statement, rollupProof));
        // A failure in any part fails the whole: part 0 refuses a changed statement, and a chain whose middle part
        // passes on an image the next part does not expect fails there.
        statement[0] += 1;
        vm.assertFalse(verifier.verify(statement, rollupProof));
        statement[0] -= 1;
        parts[1] = address(new ExpectedCalldataPart(keccak256(abi.encodePacked(data, image0, image0.length)), image0));
        vm.assertFalse(new BatchVerifier(parts, 6).verify(statement, rollupProof));
    }

    function test_refusesWrongShapes() public {
        BatchVerifier verifier = new BatchVerifier(one(address(new ExpectedCalldataPart(bytes32(0), ""))), 10);
        vm.assertFalse(verifier.verify(inputs(9, 1), new bytes(1000)));
        vm.assertFalse(verifier.verify(inputs(10, 1), new bytes(383)));
    }

    function test_refusesPartsWithoutCode() public {
        vm.expectRevert(abi.encodeWithSelector(BatchVerifier.VerifierHasNoCode.selector, address(0x1234)));
        new BatchVerifier(one(address(0x1234)), 10);
        vm.expectRevert(BatchVerifier.NoVerifierParts.selector);
        new BatchVerifier(new address[](0), 10);
    }
}
