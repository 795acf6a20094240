// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {IVerifier} from "../interfaces/IVerifier.sol";

/// @title BatchVerifier
/// @notice The Rollup's verifier: runs the EVM verifier generated from the aggregation circuit, split into parts that
///         each fit the 24,576-byte code size limit, behind `IVerifier`.
/// @dev Calldata. The generated verifier (snark-verifier's) takes every public input of the aggregation proof as a
///      32-byte word, then the proof, and reverts unless the proof verifies. Its first public inputs are the 12 limbs
///      of the KZG accumulator, which the prover computes and the final pairing check validates; the Rollup cannot
///      know them. So the Rollup's `proof` argument is `accumulator limbs (12 words) || proof`, and this contract
///      splices the Rollup's public inputs in between. A statement whose inputs differ in any word from the proven
///      ones fails the pairing check.
///
///      Parts. The generated verifier is straight-line code whose only state is memory, so it is cut at statement
///      boundaries (`zkr_circuits::evm`). Part 0 gets the verifier calldata; part i > 0 gets
///      `verifier calldata || memory image of part i-1 || uint256(image length)`. Every part but the last reverts if a
///      check failed and otherwise returns its memory image; the last part reverts unless the proof verifies. A part
///      called on its own proves nothing, since its input memory is whatever its caller passes: only this contract's
///      chain, started at part 0 on the real calldata, is the verifier.
contract BatchVerifier is IVerifier {
    /// @notice Words of the KZG accumulator at the front of the aggregation proof's public inputs.
    uint256 public constant ACCUMULATOR_WORDS = 12;

    /// @notice Public inputs the Rollup supplies (6 + 4 per chunk).
    uint256 public immutable publicInputCount;

    /// @notice The parts of the generated verifier, in the order they run. Set once, at deployment.
    address[] internal _parts;

    /// @notice No parts were given.
    error NoVerifierParts();

    /// @notice A part has no code.
    error VerifierHasNoCode(address verifier);

    /// @param parts_ The deployed parts of the generated verifier, in order.
    /// @param publicInputCount_ Public inputs the Rollup supplies; must match the aggregation circuit.
    constructor(address[] memory parts_, uint256 publicInputCount_) {
        if (parts_.length == 0) revert NoVerifierParts();
        for (uint256 i = 0; i < parts_.length; i++) {
            if (parts_[i].code.length == 0) revert VerifierHasNoCode(parts_[i]);
        }
        _parts = parts_;
        publicInputCount = publicInputCount_;
    }

    /// @notice The parts of the generated verifier, in the order they run.
    function parts() external view returns (address[] memory) {
        return _parts;
    }

    /// @inheritdoc IVerifier
    function verify(uint256[] calldata publicInputs, bytes calldata proof) external view returns (bool ok) {
        if (publicInputs.length != publicInputCount || proof.length < ACCUMULATOR_WORDS * 32) return false;
        address[] memory chain = _parts;
        bytes memory data =
            abi.encodePacked(proof[:ACCUMULATOR_WORDS * 32], publicInputs, proof[ACCUMULATOR_WORDS * 32:]);
        // One buffer for every call: `data`, then the previous part's memory image and its length, written past
        // the free memory pointer (nothing is allocated after this point), so memory grows to the largest image
        // once instead of once per part.
        assembly ("memory-safe") {
            let input := add(data, 0x20)
            let dataLen := mload(data)
            let image := add(input, dataLen)
            let imageLen := 0
            let count := mload(chain)
            ok := 1
            for { let i := 0 } lt(i, count) { i := add(i, 1) } {
                let part := mload(add(add(chain, 0x20), mul(i, 0x20)))
                let inputLen := dataLen
                if i { inputLen := add(add(dataLen, imageLen), 0x20) }
                if iszero(staticcall(gas(), part, input, inputLen, 0, 0)) {
                    ok := 0
                    break
                }
                imageLen := returndatasize()
                returndatacopy(image, 0, imageLen)
                mstore(add(image, imageLen), imageLen)
            }
        }
    }
}
