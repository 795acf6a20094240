// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {IVerifier} from "../../src/interfaces/IVerifier.sol";

// Test-only verifiers. A verifier that accepts everything must never exist outside test code: with it, anyone holding
// the prover role could finalize any state root and withdrawal root, i.e. take every coin in the Portal.

/// @notice Accepts every proof, so tests can finalize batches with chosen roots.
contract AcceptAllVerifier is IVerifier {
    function verify(uint256[] calldata, bytes calldata) external pure returns (bool) {
        return true;
    }
}

/// @notice Rejects every proof by returning false (the first of the two ways IVerifier allows).
contract RejectingVerifier is IVerifier {
    function verify(uint256[] calldata, bytes calldata) external pure returns (bool) {
        return false;
    }
}

/// @notice Rejects every proof by reverting (the second way IVerifier allows).
contract RevertingVerifier is IVerifier {
    error ProofRejected();

    function verify(uint256[] calldata, bytes calldata) external pure returns (bool) {
        revert ProofRejected();
    }
}

/// @notice Burns every unit of gas it is given: the worst a faulty or hostile verifier can do to the Rollup, which
///         must cap its cost at `verifierGasLimit` and read it as an invalid proof.
contract GasBurningVerifier is IVerifier {
    function verify(uint256[] calldata, bytes calldata) external view returns (bool) {
        uint256 x;
        // gasleft() never reaches zero here: the loop body runs out of gas first, which is the point.
        while (gasleft() > 0) {
            x = uint256(keccak256(abi.encode(x)));
        }
        return x == 0;
    }
}

/// @notice Accepts exactly one (public inputs, proof) pair, named by keccak256(abi.encode(publicInputs, proof)).
///         A finalization that succeeds with it proves the Rollup passed exactly those public inputs, in that order.
contract ExpectingVerifier is IVerifier {
    bytes32 public immutable expected;

    constructor(bytes32 expected_) {
        expected = expected_;
    }

    function verify(uint256[] calldata publicInputs, bytes calldata proof) external view returns (bool) {
        return keccak256(abi.encode(publicInputs, proof)) == expected;
    }
}

/// @notice Returns the raw bytes it was built with, whatever the ABI says: lets tests feed the Rollup malformed
///         answers (empty, a word other than 1, a longer answer) that a careless decode would read as "true".
contract RawReturnVerifier {
    bytes private _answer;

    constructor(bytes memory answer) {
        _answer = answer;
    }

    fallback() external {
        bytes memory answer = _answer;
        assembly ("memory-safe") {
            return(add(answer, 0x20), mload(answer))
        }
    }
}

/// @notice Accepts only when it was handed at least `minGas`: stands in for a real verifier whose honest run needs
///         nearly its whole allowance, to check that a caller cannot starve a valid proof into looking invalid.
contract GasCheckingVerifier is IVerifier {
    uint256 public immutable minGas;

    constructor(uint256 minGas_) {
        minGas = minGas_;
    }

    function verify(uint256[] calldata, bytes calldata) external view returns (bool) {
        return gasleft() >= minGas;
    }
}

/// @notice Accepts exactly the statements shaped like a batch statement for `chunksPerBatch` chunk positions: the
///         right number of inputs, both state roots in the BN254 scalar field, and every split hash half below
///         2^128. Stands in for a real verifier where tests want every finalization checked for a well-formed
///         statement, whatever its values.
contract WellFormedStatementVerifier is IVerifier {
    uint256 internal constant FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    uint256 public immutable chunksPerBatch;

    constructor(uint256 chunksPerBatch_) {
        chunksPerBatch = chunksPerBatch_;
    }

    function verify(uint256[] calldata publicInputs, bytes calldata) external view returns (bool) {
        if (publicInputs.length != 6 + 4 * chunksPerBatch) return false;
        if (publicInputs[0] >= FIELD || publicInputs[1] >= FIELD) return false;
        for (uint256 i = 2; i < publicInputs.length; ++i) {
            if (publicInputs[i] >> 128 != 0) return false;
        }
        return true;
    }
}

/// @notice Accepts every proof after spending all but a few thousand units of the gas it was given: stands in for a
///         valid proof whose verification needs the verifier's whole allowance, the worst case for the gas the
///         Rollup must keep back to record the finalization afterwards.
contract ExhaustingVerifier is IVerifier {
    /// @dev Enough to leave the loop, encode `true` and return.
    uint256 internal constant KEEP = 3_000;

    function verify(uint256[] calldata, bytes calldata) external view returns (bool) {
        uint256 x;
        while (gasleft() > KEEP) {
            x = uint256(keccak256(abi.encode(x)));
        }
        return x != 1;
    }
}

/// @notice Accepts exactly the statements a test allowed, by keccak256(abi.encode(publicInputs)), with any non-empty
///         proof: stands in for a real verifier that proves true statements and nothing else, so a test can have
///         honest outputs defended and wrong ones not.
contract AllowListVerifier is IVerifier {
    mapping(bytes32 statement => bool) public allowed;

    function allow(uint256[] calldata publicInputs) external {
        allowed[keccak256(abi.encode(publicInputs))] = true;
    }

    function verify(uint256[] calldata publicInputs, bytes calldata proof) external view returns (bool) {
        return proof.length != 0 && allowed[keccak256(abi.encode(publicInputs))];
    }
}
