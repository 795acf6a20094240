//! The batch proof's EVM verifier, in as few contracts as fit Ethereum's code size limit: one for a thin final layer,
//! split for a wide one.
//!
//! snark-verifier generates one contract whose runtime code is straight-line Yul: about 2,600 top-level statements
//! that read the calldata (public inputs, then the proof), keep every intermediate value at a fixed memory address,
//! AND each check into one `success` flag, and end with the pairing check. Its size follows the aggregation circuit's
//! width: at k = 20 (a wide circuit) the runtime code is 36 KB for one chunk per batch, above the 24,576-byte limit
//! (EIP-170), while the thin circuit of k = 22 makes 20 KB, one contract (docs/perf.md). The Yul optimizer cannot
//! shrink it (solc runs out of memory on it). [`compile_to_fit`] finds the fewest parts that fit.
//!
//! Because the program is straight-line and its only state is memory plus three variables, it splits at any
//! top-level statement boundary:
//!
//! - every part repeats the prologue (`success`, the field moduli, the point check function);
//! - part `i > 0` starts by copying the memory image that part `i - 1` returned from the end of its calldata, laid
//!   out as `verifier calldata || memory image || uint256(image length)`;
//! - every part but the last reverts when `success` is false and otherwise returns its memory `[0, msize())`;
//! - the last part ends as the generated verifier does (revert on failure, empty return on success).
//!
//! `BatchVerifier` (contracts/src/verifier) runs the parts in order and passes each image on. A part on its own
//! proves nothing (its input memory is whatever the caller passes); only the chain, driven by `BatchVerifier` from
//! the first part, is the verifier. The parts are compiled without the optimizer: `msize()` is refused by solc
//! when the Yul optimizer runs, so an optimizing build fails loudly instead of changing the meaning.

use std::fmt::Write as _;

/// Why a generated verifier could not be split.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    /// The source does not have the shape this module splits (snark-verifier's generator changed).
    #[error("unexpected verifier source: {0}")]
    Shape(&'static str),
    /// More parts than top-level statements.
    #[error("{parts} parts asked for a verifier of {statements} statements")]
    TooManyParts {
        /// Parts asked for.
        parts: usize,
        /// Top-level statements of the verifier's body.
        statements: usize,
    },
}

/// Source bytes per part that keep a part's runtime code well under 24,576 bytes: the generated Yul compiles to
/// 0.22 to 0.28 bytes of code per byte of source (the point arithmetic at the end is the densest), so 70,000 bytes
/// give at most about 20 KB of code. The 1-chunk verifier (190 KB) makes three parts of 14.0, 14.0 and 17.8 KB.
pub const DEFAULT_PART_SOURCE_BYTES: usize = 70_000;

/// The parts of a split verifier: Solidity sources, one contract each, to deploy and hand to `BatchVerifier` in
/// order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierParts {
    /// `(contract name, Solidity source)` in the order `BatchVerifier` calls them.
    pub sources: Vec<(String, String)>,
}

/// The generated verifier cut into its pieces.
struct Parsed<'a> {
    /// Solidity text before the assembly body (pragma, contract header, fallback).
    header: &'a str,
    /// Top-level statements before the program (layout check, variables, functions).
    prologue: Vec<&'a str>,
    /// The straight-line program.
    body: Vec<&'a str>,
    /// From the final `success` check to the end of the assembly block.
    epilogue: Vec<&'a str>,
}

/// Splits `source`, as [`crate::verifier::Verifier::evm_verifier_source`] returns it, into `parts` contracts of
/// about equal size.
pub fn split_verifier(source: &str, parts: usize) -> Result<VerifierParts, SplitError> {
    let parsed = parse(source)?;
    for statement in &parsed.body {
        // The split relies on the program keeping no variables across top-level statements and on its memory
        // being all the state there is.
        if statement.starts_with("let ") || statement.starts_with("function ") {
            return Err(SplitError::Shape("a top-level variable or function inside the program"));
        }
        if statement.contains("msize") || statement.contains("calldatasize") {
            return Err(SplitError::Shape("the program reads msize or calldatasize"));
        }
    }
    let parts = parts.max(1);
    if parts > parsed.body.len() {
        return Err(SplitError::TooManyParts { parts, statements: parsed.body.len() });
    }
    let total: usize = parsed.body.iter().map(|s| s.len()).sum();
    let mut groups: Vec<&[&str]> = Vec::with_capacity(parts);
    let mut start = 0;
    let mut size = 0;
    for (i, statement) in parsed.body.iter().enumerate() {
        size += statement.len();
        let remaining_groups = parts - groups.len() - 1;
        let statements_left = parsed.body.len() - (i + 1);
        // Close a group once it holds its share, leaving at least one statement for every later group.
        if remaining_groups > 0
            && ((size * parts >= total * (groups.len() + 1) && statements_left >= remaining_groups)
                || statements_left == remaining_groups)
        {
            groups.push(&parsed.body[start..=i]);
            start = i + 1;
        }
    }
    groups.push(&parsed.body[start..]);
    debug_assert_eq!(groups.len(), parts);

    let sources = groups
        .iter()
        .enumerate()
        .map(|(i, group)| {
            let name = format!("Halo2VerifierPart{i}");
            (name.clone(), render(&parsed, &name, i, i + 1 == parts, group))
        })
        .collect();
    Ok(VerifierParts { sources })
}

/// Ethereum's limit on a contract's runtime code (EIP-170).
pub const MAX_CODE_SIZE: usize = 24_576;

/// Source bytes per part of the first split [`compile_to_fit`] tries: the generated Yul compiles to about 0.23
/// bytes of code per byte of source (the thin final layer's 86,645 bytes to 20,059), so 100,000 bytes is about the
/// most one contract holds.
pub const FIT_PART_SOURCE_BYTES: usize = 100_000;

/// Compiles `source` with `compile` (which returns creation code) in the fewest parts whose code each fits
/// [`MAX_CODE_SIZE`], trying from [`FIT_PART_SOURCE_BYTES`] a part upwards: one contract when the whole verifier fits
/// (a thin final layer), more for a wide aggregation circuit. The check is on the creation code, which is the runtime
/// code plus a few bytes of constructor, so a part accepted here always deploys.
pub fn compile_to_fit<E: From<SplitError>>(
    source: &str,
    mut compile: impl FnMut(&str) -> Result<Vec<u8>, E>,
) -> Result<Vec<Vec<u8>>, E> {
    let mut parts = source.len().div_ceil(FIT_PART_SOURCE_BYTES).max(1);
    loop {
        let split = split_verifier(source, parts)?;
        let codes = split.sources.iter().map(|(_, part)| compile(part)).collect::<Result<Vec<_>, _>>()?;
        if codes.iter().all(|code| code.len() <= MAX_CODE_SIZE) {
            return Ok(codes);
        }
        parts += 1;
    }
}

/// Splits `source` into as many parts as [`DEFAULT_PART_SOURCE_BYTES`] asks for.
pub fn split_verifier_default(source: &str) -> Result<VerifierParts, SplitError> {
    split_verifier(source, source.len().div_ceil(DEFAULT_PART_SOURCE_BYTES))
}

fn parse(source: &str) -> Result<Parsed<'_>, SplitError> {
    const OPEN: &str = "assembly (\"memory-safe\") {";
    let open = source.find(OPEN).ok_or(SplitError::Shape("no memory-safe assembly block"))? + OPEN.len();
    let header = source[..open].trim_end_matches(OPEN);

    // Top-level statements of the assembly block: a line at brace depth zero, or a braced group of lines.
    let mut statements = Vec::new();
    let mut depth = 0usize;
    let mut begin: Option<usize> = None;
    let mut offset = open;
    let mut closed = false;
    for line in source[open..].split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        let code = line.split("//").next().unwrap_or_default();
        let opens = code.matches('{').count();
        let closes = code.matches('}').count();
        if depth == 0 && closes > opens {
            // The assembly block's closing brace.
            closed = true;
            break;
        }
        if begin.is_none() && !code.trim().is_empty() {
            begin = Some(line_start);
        }
        depth = (depth + opens).checked_sub(closes).ok_or(SplitError::Shape("unbalanced braces"))?;
        if depth == 0
            && let Some(b) = begin.take()
        {
            statements.push(source[b..offset].trim());
        }
    }
    if !closed {
        return Err(SplitError::Shape("the assembly block is not closed"));
    }

    // The prologue: the layout check, the variables and the functions, up to the first statement of the program.
    let first_write = statements
        .iter()
        .position(|s| !(s.starts_with("let ") || s.starts_with("function ") || s.starts_with("if iszero(eq(data")))
        .ok_or(SplitError::Shape("no program in the verifier"))?;
    let final_check = statements
        .iter()
        .rposition(|s| s.replace(' ', "") == "ifiszero(success){revert(0,0)}")
        .ok_or(SplitError::Shape("no final success check"))?;
    if final_check <= first_write {
        return Err(SplitError::Shape("the final check comes before the program"));
    }
    let prologue = statements[..first_write].to_vec();
    if !prologue.iter().any(|s| s.starts_with("let success")) {
        return Err(SplitError::Shape("no success variable in the prologue"));
    }
    let body = statements[first_write..final_check].to_vec();
    Ok(Parsed { header, prologue, body, epilogue: statements[final_check..].to_vec() })
}

fn render(parsed: &Parsed<'_>, name: &str, index: usize, last: bool, body: &[&str]) -> String {
    let mut out = String::with_capacity(body.iter().map(|s| s.len() + 1).sum::<usize>() + 4096);
    let header = parsed.header.replacen("contract Halo2Verifier", &format!("contract {name}"), 1);
    out.push_str(&header);
    out.push_str("assembly (\"memory-safe\") {\n");
    let _ = writeln!(out, "// Part {index} of the batch proof's verifier (zkr_circuits::evm).");
    for statement in &parsed.prologue {
        out.push_str(statement);
        out.push('\n');
    }
    if index > 0 {
        out.push_str(concat!(
            "// The memory image of the previous part: calldata = verifier calldata || image || uint256(image length).\n",
            "{\n",
            "    let image_len := calldataload(sub(calldatasize(), 0x20))\n",
            "    calldatacopy(0, sub(sub(calldatasize(), 0x20), image_len), image_len)\n",
            "}\n",
        ));
    }
    for statement in body {
        out.push_str(statement);
        out.push('\n');
    }
    if last {
        for statement in &parsed.epilogue {
            out.push_str(statement);
            out.push('\n');
        }
    } else {
        out.push_str("if iszero(success) { revert(0, 0) }\n");
        out.push_str("// Hand the memory image to the next part.\n");
        out.push_str("return(0, msize())\n");
    }
    out.push_str("        }\n    }\n}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"
// SPDX-License-Identifier: MIT

pragma solidity 0.8.19;

contract Halo2Verifier {
    fallback(bytes calldata) external returns (bytes memory) {
        assembly ("memory-safe") {
            // Enforce that Solidity memory layout is respected
            let data := mload(0x40)
            if iszero(eq(data, 0x80)) {
                revert(0, 0)
            }

            let success := true
            let f_q := 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001
            function check(x) -> valid {
                {
                    valid := lt(x, f_q)
                }
            }
            mstore(0xa0, mod(calldataload(0x0), f_q))
mstore(0xc0, mod(calldataload(0x20), f_q))
        {
            let x := calldataload(0x40)
            mstore(0xe0, x)
            success := and(check(x), success)
        }
mstore(0x100, addmod(mload(0xa0), mload(0xc0), f_q))
success := and(eq(mload(0x100), mload(0xe0)), success)
            // Revert if anything fails
            if iszero(success) { revert(0, 0) }
            // Return empty bytes on success
            return(0, 0)
        }
    }
}
"#;

    #[test]
    fn parses_the_generated_shape() {
        let parsed = parse(SOURCE).unwrap();
        assert_eq!(parsed.prologue.len(), 5, "{:?}", parsed.prologue);
        assert_eq!(parsed.body.len(), 5, "{:?}", parsed.body);
        assert!(parsed.body[2].starts_with('{') && parsed.body[2].ends_with('}'));
        assert_eq!(parsed.epilogue, ["if iszero(success) { revert(0, 0) }", "return(0, 0)"]);
    }

    #[test]
    fn every_statement_lands_in_exactly_one_part_in_order() {
        for parts in 1..=5 {
            let split = split_verifier(SOURCE, parts).unwrap();
            assert_eq!(split.sources.len(), parts);
            let parsed = parse(SOURCE).unwrap();
            let mut seen = Vec::new();
            for (i, (name, source)) in split.sources.iter().enumerate() {
                assert_eq!(name, &format!("Halo2VerifierPart{i}"));
                assert!(source.contains(&format!("contract {name} {{")));
                let part = parse(source).unwrap();
                assert_eq!(part.prologue, parsed.prologue);
                assert_eq!(source.contains("image_len"), i > 0);
                assert_eq!(source.contains("return(0, msize())"), i + 1 < parts);
                // The memory image copy opens every part after the first.
                let body = if i > 0 { &part.body[1..] } else { &part.body[..] };
                seen.extend(body.iter().map(|s| (*s).to_owned()));
            }
            assert_eq!(seen, parsed.body.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        }
    }

    #[test]
    fn compiles_in_the_fewest_parts_that_fit() {
        // A stand-in compiler whose code is `factor` bytes per byte of the verifier's own statements in a part (the
        // repeated prologue and the memory image copy are free): one part when the whole fits, else the fewest parts
        // whose every piece fits, trying fewer parts first.
        let statements = |part: &str| {
            let parsed = parse(part).unwrap();
            let own = if part.contains("image_len") { &parsed.body[1..] } else { &parsed.body[..] };
            own.iter().map(|s| s.len()).sum::<usize>()
        };
        let fit = |factor: usize| {
            let mut compiled = 0;
            let codes = compile_to_fit::<SplitError>(SOURCE, |part| {
                compiled += 1;
                Ok(vec![0; statements(part) * factor])
            })
            .unwrap();
            assert!(codes.iter().all(|code| code.len() <= MAX_CODE_SIZE));
            (codes.len(), compiled)
        };
        assert_eq!(fit(1), (1, 1));
        let whole = statements(SOURCE);
        assert_eq!(fit(MAX_CODE_SIZE / whole + 1), (2, 3), "the whole does not fit, two halves do");
        // Nothing fits: the split runs out of statements and says so.
        assert!(matches!(
            compile_to_fit::<SplitError>(SOURCE, |_| Ok(vec![0; MAX_CODE_SIZE + 1])),
            Err(SplitError::TooManyParts { .. })
        ));
    }

    #[test]
    fn refuses_sources_it_does_not_understand() {
        assert!(matches!(split_verifier("contract X {}", 1), Err(SplitError::Shape(_))));
        let no_final = SOURCE.replace("if iszero(success) { revert(0, 0) }", "");
        assert!(matches!(split_verifier(&no_final, 1), Err(SplitError::Shape(_))));
        let with_var = SOURCE.replace("mstore(0xc0, mod(calldataload(0x20), f_q))", "let y := 1");
        assert!(matches!(split_verifier(&with_var, 1), Err(SplitError::Shape(_))));
        assert!(matches!(split_verifier(SOURCE, 6), Err(SplitError::TooManyParts { parts: 6, statements: 5 })));
    }
}
