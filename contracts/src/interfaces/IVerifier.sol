// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @title IVerifier
/// @notice Checks the validity proof of one batch against the statement the Rollup assembles for it.
/// @dev The production implementation wraps the EVM verifier generated from the aggregation circuit. An
///      implementation may either return false or revert on a proof that does not verify; the Rollup treats both
///      the same way and forwards a bounded amount of gas to the call.
interface IVerifier {
    /// @notice Returns true if and only if `proof` proves the statement given by `publicInputs`.
    /// @param publicInputs The public inputs as BN254 scalar field elements, laid out as in
    ///        `Rollup.publicInputs`.
    /// @param proof The proof bytes, in the format the verifier's circuit defines.
    function verify(uint256[] calldata publicInputs, bytes calldata proof) external view returns (bool);
}
