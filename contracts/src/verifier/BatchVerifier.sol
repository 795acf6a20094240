// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {IVerifier} from "../interfaces/IVerifier.sol";

/// @title BatchVerifier
/// @notice The Rollup's verifier: adapts the EVM verifier generated from the aggregation circuit to `IVerifier`.
/// @dev The generated verifier (snark-verifier's) takes as calldata every public input of the aggregation proof as a
///      32-byte word, then the proof, and reverts unless the proof verifies. Its first public inputs are the 12 limbs
///      of the KZG accumulator, which the prover computes and the verifier's final pairing check validates; the
///      Rollup cannot know them. So the Rollup's `proof` argument is `accumulator limbs (12 words) || proof`, and this
///      contract splices the Rollup's public inputs in between. A statement whose inputs differ in any word from the
///      proven ones fails the pairing check.
contract BatchVerifier is IVerifier {
    /// @notice Words of the KZG accumulator at the front of the aggregation proof's public inputs.
    uint256 public constant ACCUMULATOR_WORDS = 12;

    /// @notice The generated verifier.
    address public immutable halo2Verifier;

    /// @notice Public inputs the Rollup supplies (6 + 4 per chunk).
    uint256 public immutable publicInputCount;

    /// @notice The generated verifier has no code.
    error VerifierHasNoCode(address verifier);

    /// @param halo2Verifier_ The deployed generated verifier.
    /// @param publicInputCount_ Public inputs the Rollup supplies; must match the aggregation circuit.
    constructor(address halo2Verifier_, uint256 publicInputCount_) {
        if (halo2Verifier_.code.length == 0) revert VerifierHasNoCode(halo2Verifier_);
        halo2Verifier = halo2Verifier_;
        publicInputCount = publicInputCount_;
    }

    /// @inheritdoc IVerifier
    function verify(uint256[] calldata publicInputs, bytes calldata proof) external view returns (bool) {
        if (publicInputs.length != publicInputCount || proof.length < ACCUMULATOR_WORDS * 32) return false;
        bytes memory data =
            abi.encodePacked(proof[:ACCUMULATOR_WORDS * 32], publicInputs, proof[ACCUMULATOR_WORDS * 32:]);
        (bool ok,) = halo2Verifier.staticcall(data);
        return ok;
    }
}
