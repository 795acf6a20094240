//! field.cuh's PTX carry chains against their host twins (`kernels/emu/cuda_host.h`), which the emulator runs in
//! their place.
//!
//! The asm statements are read from field.cuh itself and executed by a small interpreter of the PTX instructions
//! they use (integer add/sub/mad with the carry flag, mov), so a change to the PTX that the twin does not follow,
//! or the other way round, fails here. The same parse checks the register discipline: no operand of an asm
//! statement is written before every operand has been read, so no register assignment the compiler may choose
//! (an output sharing an input's register) can change the result.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::{collections::HashMap, path::PathBuf};

use rand::{Rng, SeedableRng, rngs::StdRng};

// ---------------------------------------------------------------------------------------------------------------
// Parsing field.cuh's asm statements
// ---------------------------------------------------------------------------------------------------------------

/// One operand of an asm statement: its constraint (`=r`, `+r`, `r`) and the C expression bound to it.
#[derive(Debug, Clone)]
struct Operand {
    constraint: String,
    expr: String,
}

impl Operand {
    fn is_output(&self) -> bool {
        self.constraint.starts_with('=') || self.constraint.starts_with('+')
    }

    fn is_input(&self) -> bool {
        !self.constraint.starts_with('=')
    }
}

#[derive(Debug)]
struct AsmStatement {
    /// The function the statement is in.
    function: String,
    /// Instructions, without the trailing `;`.
    instructions: Vec<String>,
    /// Operands in `%n` order: outputs first, then inputs.
    operands: Vec<Operand>,
}

/// The C string literals at the start of `text`, concatenated (with `\n` and `\t` unescaped), and the rest.
fn string_literals(text: &str) -> (String, &str) {
    let mut out = String::new();
    let mut rest = text.trim_start();
    while let Some(body) = rest.strip_prefix('"') {
        let end = body.find('"').expect("closed literal");
        out.push_str(&body[..end].replace("\\n", "\n").replace("\\t", "\t"));
        rest = body[end + 1..].trim_start();
    }
    (out, rest)
}

/// Splits `text` at `sep` outside parentheses and string literals.
fn split_top(text: &str, sep: char) -> Vec<String> {
    let (mut parts, mut current, mut depth, mut quoted) = (Vec::new(), String::new(), 0i32, false);
    for ch in text.chars() {
        match ch {
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            _ => {}
        }
        if ch == sep && depth == 0 && !quoted {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(ch);
        }
    }
    parts.push(current);
    parts
}

fn operands(section: &str) -> Vec<Operand> {
    split_top(section, ',')
        .into_iter()
        .map(|item| item.trim().to_owned())
        .filter(|item| !item.is_empty())
        .map(|item| {
            let (constraint, rest) = string_literals(&item);
            let expr = rest.trim().strip_prefix('(').and_then(|e| e.strip_suffix(')')).expect("(expr)");
            Operand { constraint, expr: expr.trim().to_owned() }
        })
        .collect()
}

/// Every `asm(...)` statement of field.cuh, with the function it belongs to.
fn asm_statements() -> Vec<AsmStatement> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("cuda/field.cuh");
    let source = std::fs::read_to_string(&path).unwrap();
    let mut statements = Vec::new();
    let mut rest = source.as_str();
    while let Some(at) = rest.find("asm(") {
        let before = &rest[..at];
        // The function is the last `ZKR_DEV <type> <name>(` before the statement.
        let function = before
            .rfind("ZKR_DEV ")
            .map(|i| {
                let sig = &before[i..];
                let name_end = sig.find('(').unwrap();
                sig[..name_end].split_whitespace().last().unwrap().to_owned()
            })
            .unwrap();
        let body = &rest[at + 4..];
        let end = body.find(");").expect("asm statement ends with );");
        let parts = split_top(&body[..end], ':');
        let (template, _) = string_literals(&parts[0]);
        let mut ops = operands(&parts[1]);
        ops.extend(operands(parts.get(2).map_or("", String::as_str)));
        let instructions = template.split(';').map(|i| i.trim().to_owned()).filter(|i| !i.is_empty()).collect();
        statements.push(AsmStatement { function, instructions, operands: ops });
        rest = &body[end..];
    }
    statements
}

// ---------------------------------------------------------------------------------------------------------------
// A PTX interpreter for those instructions
// ---------------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reg {
    Operand(usize),
    Local(usize),
    Imm(u32),
}

/// The registers of one run: the asm operands, the registers declared in the statement, and the carry flag.
struct Machine {
    operands: Vec<u32>,
    locals: HashMap<String, usize>,
    local_values: Vec<u32>,
    carry: bool,
    /// Per operand: the first instruction that writes it and the last that reads it.
    first_write: Vec<Option<usize>>,
    last_read: Vec<Option<usize>>,
}

impl Machine {
    fn reg(&mut self, token: &str) -> Reg {
        let token = token.trim().trim_end_matches(',');
        if let Some(n) = token.strip_prefix('%') {
            return Reg::Operand(n.parse().unwrap());
        }
        if let Ok(value) = token.parse::<u32>() {
            return Reg::Imm(value);
        }
        let index = self.locals.get(token).copied().unwrap_or_else(|| panic!("undeclared register {token}"));
        Reg::Local(index)
    }

    fn read(&mut self, reg: Reg, at: usize) -> u32 {
        match reg {
            Reg::Operand(n) => {
                self.last_read[n] = Some(at);
                self.operands[n]
            }
            Reg::Local(i) => self.local_values[i],
            Reg::Imm(v) => v,
        }
    }

    fn write(&mut self, reg: Reg, value: u32, at: usize) {
        match reg {
            Reg::Operand(n) => {
                self.first_write[n].get_or_insert(at);
                self.operands[n] = value;
            }
            Reg::Local(i) => self.local_values[i] = value,
            Reg::Imm(_) => panic!("write to an immediate"),
        }
    }

    /// `.reg .u32 name<N>;` declares name0 .. name{N-1}; `.reg .u32 name;` one register.
    fn declare(&mut self, decl: &str) {
        for name in decl.split_whitespace().skip(2).flat_map(|n| n.split(',')).filter(|n| !n.is_empty()) {
            if let Some((base, count)) = name.strip_suffix('>').and_then(|n| n.split_once('<')) {
                for i in 0..count.parse::<usize>().unwrap() {
                    self.locals.insert(format!("{base}{i}"), self.local_values.len());
                    self.local_values.push(0);
                }
            } else {
                self.locals.insert(name.to_owned(), self.local_values.len());
                self.local_values.push(0);
            }
        }
    }

    fn execute(&mut self, at: usize, instruction: &str) {
        let instruction = instruction.trim().trim_start_matches('{').trim_end_matches('}').trim();
        if instruction.is_empty() {
            return;
        }
        if instruction.starts_with(".reg") {
            self.declare(instruction);
            return;
        }
        let (opcode, args) = instruction.split_once(char::is_whitespace).unwrap();
        let args: Vec<Reg> = args.split(',').map(|a| self.reg(a)).collect();
        let parts: Vec<&str> = opcode.split('.').collect();
        assert_eq!(parts.last(), Some(&"u32"), "only u32 instructions: {instruction}");
        let sets_carry = parts.contains(&"cc");
        let base = parts[0];
        let carry_in = u64::from(base.ends_with('c') && base != "mov" && self.carry);
        match base {
            "mov" => {
                let v = self.read(args[1], at);
                self.write(args[0], v, at);
            }
            "add" | "addc" => {
                let (a, b) = (u64::from(self.read(args[1], at)), u64::from(self.read(args[2], at)));
                let sum = a + b + carry_in;
                self.write(args[0], sum as u32, at);
                if sets_carry {
                    self.carry = sum >> 32 != 0;
                }
            }
            "sub" | "subc" => {
                let (a, b) = (u64::from(self.read(args[1], at)), u64::from(self.read(args[2], at)));
                let diff = a.wrapping_sub(b).wrapping_sub(carry_in);
                self.write(args[0], diff as u32, at);
                if sets_carry {
                    // The carry flag of a subtraction is its borrow.
                    self.carry = a < b + carry_in;
                }
            }
            "mad" | "madc" => {
                let (a, b, c) = (
                    u64::from(self.read(args[1], at)),
                    u64::from(self.read(args[2], at)),
                    u64::from(self.read(args[3], at)),
                );
                let product = a * b;
                let half = if parts.contains(&"hi") { product >> 32 } else { product & 0xffff_ffff };
                let sum = half + c + carry_in;
                self.write(args[0], sum as u32, at);
                if sets_carry {
                    self.carry = sum >> 32 != 0;
                }
            }
            other => panic!("instruction {other} is not interpreted: {instruction}"),
        }
    }
}

/// Runs `statement` with the operands bound to `values` (in `%n` order); returns the operands afterwards and the
/// machine (for the access pattern).
fn run(statement: &AsmStatement, values: Vec<u32>) -> Machine {
    let n = values.len();
    let mut machine = Machine {
        operands: values,
        locals: HashMap::new(),
        local_values: Vec::new(),
        carry: false,
        first_write: vec![None; n],
        last_read: vec![None; n],
    };
    for (at, instruction) in statement.instructions.iter().enumerate() {
        machine.execute(at, instruction);
    }
    machine
}

// ---------------------------------------------------------------------------------------------------------------
// The twins, through the emulator library build.rs made
// ---------------------------------------------------------------------------------------------------------------

type Add8 = unsafe extern "C" fn(*mut u32, *const u32, *const u32);
type Sub8 = unsafe extern "C" fn(*mut u32, *const u32, *const u32) -> u32;
type Row = unsafe extern "C" fn(*mut u32, *const u32, u32);

fn library() -> libloading::Library {
    let path = env!("ZKR_KERNELS_EMULATOR_BUILT");
    assert!(!path.is_empty(), "build.rs did not build the kernel emulator");
    // SAFETY: our own library.
    unsafe { libloading::Library::new(path) }.unwrap()
}

/// Values for C expressions `name` or `name[i]`.
struct Env(HashMap<String, Vec<u32>>);

impl Env {
    fn get(&self, expr: &str) -> u32 {
        match expr.split_once('[') {
            Some((name, index)) => self.0[name][index.trim_end_matches(']').parse::<usize>().unwrap()],
            None => self.0[expr][0],
        }
    }

    fn set(&mut self, expr: &str, value: u32) {
        match expr.split_once('[') {
            Some((name, index)) => {
                self.0.get_mut(name).unwrap()[index.trim_end_matches(']').parse::<usize>().unwrap()] = value;
            }
            None => self.0.get_mut(expr).unwrap()[0] = value,
        }
    }

    /// The asm statement run on these values: every output expression updated.
    fn after(&self, statement: &AsmStatement) -> (Self, Machine) {
        let values = statement.operands.iter().map(|op| if op.is_input() { self.get(&op.expr) } else { 0 }).collect();
        let machine = run(statement, values);
        let mut out = Self(self.0.clone());
        for (op, value) in statement.operands.iter().zip(&machine.operands) {
            if op.is_output() {
                out.set(&op.expr, *value);
            }
        }
        (out, machine)
    }
}

fn limbs(rng: &mut StdRng, n: usize, edge: u8) -> Vec<u32> {
    (0..n)
        .map(|_| match edge {
            0 => rng.r#gen(),
            1 => u32::MAX,
            2 => 0,
            // Mostly all-ones limbs with random ones between: long carry chains that stop somewhere.
            _ => {
                if rng.gen_bool(0.8) {
                    u32::MAX
                } else {
                    rng.r#gen()
                }
            }
        })
        .collect()
}

#[test]
fn field_cuh_has_the_four_carry_chains() {
    let names: Vec<String> = asm_statements().into_iter().map(|s| s.function).collect();
    assert_eq!(names, ["add8", "sub8", "mad_lo_row", "mad_hi_row"]);
}

#[test]
fn no_operand_is_written_before_every_operand_is_read() {
    // With every operand read before any is written, it does not matter which registers the compiler gives the
    // outputs (without early clobbers an output may share an input's register, and a "+r" operand may share a
    // register with an input of equal value).
    let mut rng = StdRng::seed_from_u64(1);
    for statement in asm_statements() {
        let values = (0..statement.operands.len()).map(|_| rng.r#gen()).collect();
        let machine = run(&statement, values);
        let last_read = machine.last_read.iter().flatten().max().copied().unwrap();
        let first_write = machine.first_write.iter().flatten().min().copied().unwrap();
        assert!(
            first_write > last_read,
            "{}: instruction {first_write} writes an operand before instruction {last_read} reads one",
            statement.function
        );
    }
}

#[test]
fn the_host_twins_compute_what_the_ptx_computes() {
    let lib = library();
    // SAFETY: the signatures of emulator.cpp's zkr_emu_twin_* functions.
    let (add8, sub8, mad_lo, mad_hi) = unsafe {
        (
            *lib.get::<Add8>("zkr_emu_twin_add8").unwrap(),
            *lib.get::<Sub8>("zkr_emu_twin_sub8").unwrap(),
            *lib.get::<Row>("zkr_emu_twin_mad_lo_row").unwrap(),
            *lib.get::<Row>("zkr_emu_twin_mad_hi_row").unwrap(),
        )
    };
    let statements = asm_statements();
    let mut rng = StdRng::seed_from_u64(2);
    for round in 0..4000u32 {
        let edge = (round % 8) as u8;
        let a = limbs(&mut rng, 8, edge);
        let b = limbs(&mut rng, 8, if edge < 4 { edge } else { 0 });
        let t = limbs(&mut rng, 9, edge);
        let scalar: u32 = if edge == 1 { u32::MAX } else { rng.r#gen() };
        for statement in &statements {
            let env = match statement.function.as_str() {
                "add8" | "sub8" => Env(HashMap::from([
                    ("a".into(), a.clone()),
                    ("b".into(), b.clone()),
                    ("r".into(), vec![0; 8]),
                    ("borrow".into(), vec![0]),
                ])),
                _ => Env(HashMap::from([("a".into(), a.clone()), ("b".into(), vec![scalar]), ("t".into(), t.clone())])),
            };
            let (ptx, _) = env.after(statement);
            match statement.function.as_str() {
                "add8" => {
                    let mut r = [0u32; 8];
                    // SAFETY: arrays of the sizes the twin reads and writes.
                    unsafe { add8(r.as_mut_ptr(), a.as_ptr(), b.as_ptr()) };
                    assert_eq!(r.to_vec(), ptx.0["r"], "add8({a:x?}, {b:x?})");
                }
                "sub8" => {
                    let mut r = [0u32; 8];
                    // SAFETY: as above.
                    let borrow = unsafe { sub8(r.as_mut_ptr(), a.as_ptr(), b.as_ptr()) };
                    assert_eq!(r.to_vec(), ptx.0["r"], "sub8({a:x?}, {b:x?})");
                    assert_eq!(borrow, ptx.0["borrow"][0], "sub8's borrow");
                }
                "mad_lo_row" | "mad_hi_row" => {
                    let mut twin = t.clone();
                    let f = if statement.function == "mad_lo_row" { mad_lo } else { mad_hi };
                    // SAFETY: as above.
                    unsafe { f(twin.as_mut_ptr(), a.as_ptr(), scalar) };
                    assert_eq!(twin, ptx.0["t"], "{}({t:x?}, {a:x?}, {scalar:#x})", statement.function);
                }
                other => panic!("no twin for {other}"),
            }
        }
    }
}

#[test]
fn the_interpreter_agrees_with_big_integer_arithmetic() {
    // The interpreter itself, on the statements: add8 is addition mod 2^256, sub8 subtraction with a borrow mask.
    let statements = asm_statements();
    let mut rng = StdRng::seed_from_u64(3);
    let to_u128s = |v: &[u32]| -> (u128, u128) {
        let lo = v[..4].iter().rev().fold(0u128, |acc, &l| (acc << 32) | u128::from(l));
        let hi = v[4..8].iter().rev().fold(0u128, |acc, &l| (acc << 32) | u128::from(l));
        (lo, hi)
    };
    for _ in 0..200 {
        let a = limbs(&mut rng, 8, 0);
        let b = limbs(&mut rng, 8, 0);
        let env = Env(HashMap::from([
            ("a".into(), a.clone()),
            ("b".into(), b.clone()),
            ("r".into(), vec![0; 8]),
            ("borrow".into(), vec![0]),
        ]));
        let (sum, _) = env.after(&statements[0]);
        let ((alo, ahi), (blo, bhi)) = (to_u128s(&a), to_u128s(&b));
        let (lo, carry) = alo.overflowing_add(blo);
        let hi = ahi.wrapping_add(bhi).wrapping_add(u128::from(carry));
        assert_eq!(to_u128s(&sum.0["r"]), (lo, hi));
        let (diff, _) = env.after(&statements[1]);
        let (lo, borrow_lo) = alo.overflowing_sub(blo);
        let (hi1, b1) = ahi.overflowing_sub(bhi);
        let (hi, b2) = hi1.overflowing_sub(u128::from(borrow_lo));
        assert_eq!(to_u128s(&diff.0["r"]), (lo, hi));
        assert_eq!(diff.0["borrow"][0], if b1 || b2 { u32::MAX } else { 0 });
    }
}
