//! The Poseidon table: every permutation of a circuit laid out in custom-gate rows beside halo2-base's columns.
//!
//! One permutation takes [`ROWS_PER_PERMUTATION`] rows of one lane (six advice columns):
//!
//! ```text
//!  row      columns 0..3        columns 3..6                     gate
//!  0..4     state               (state + c)^2, each              full round
//!  4..32    state               (s0 + c0)^2, b0, (b0 + c0')^2    two partial rounds
//!  32       state               (s0 + c0)^2                      one partial round
//!  33..37   state               (state + c)^2, each              full round
//!  37       output              -                                -
//! ```
//!
//! The rounds are Poseidon's plain form (round constants, S-box, MDS), with the raw constants of the same spec whose
//! optimized form `zkr_state::poseidon` computes natively, so both are the same function (checked in the tests). The
//! squares keep every gate at degree 4 (selector included), the degree the chunk circuit already has through its
//! lookups, so the table adds columns but does not widen the extended domain: a degree-6 gate over `x^5` directly
//! would save two cells per partial round and double the quotient's domain for the whole circuit.
//!
//! Lanes share the fixed columns (round constants and selectors), so permutation `i` of every lane sits in the same
//! rows. Columns 0..3 take part in copy constraints: the caller ties a permutation's input and output rows to the
//! cells of the rest of the circuit.

use std::sync::OnceLock;

use halo2_base::halo2_proofs::{
    circuit::{AssignedCell, Layouter, Region, Value},
    plonk::{Advice, Assigned, Column, ConstraintSystem, Error, Expression, Fixed, Selector, VirtualCells},
    poly::Rotation,
};
use poseidon_primitives::poseidon::primitives::Spec;
use zkr_state::{
    field::{Field, Fr},
    poseidon::{R_F, R_P, RATE, T},
};

/// Rows one permutation takes in a lane.
pub const ROWS_PER_PERMUTATION: usize = R_F + R_P.div_ceil(2) + 1;

/// Advice columns of one lane.
pub const LANE_WIDTH: usize = 6;

/// What a row of a permutation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// A full round with round constants `round`.
    Full { round: usize },
    /// Partial rounds `round` and `round + 1`.
    Partial2 { round: usize },
    /// Partial round `round`.
    Partial1 { round: usize },
    /// The permutation's output.
    Output,
}

/// The step of each row of a permutation.
fn schedule() -> &'static [Step] {
    static SCHEDULE: OnceLock<Vec<Step>> = OnceLock::new();
    SCHEDULE.get_or_init(|| {
        let half = R_F / 2;
        let mut steps: Vec<Step> = (0..half).map(|round| Step::Full { round }).collect();
        let mut round = half;
        while round + 1 < half + R_P {
            steps.push(Step::Partial2 { round });
            round += 2;
        }
        if round < half + R_P {
            steps.push(Step::Partial1 { round });
        }
        steps.extend((half + R_P..R_F + R_P).map(|round| Step::Full { round }));
        steps.push(Step::Output);
        debug_assert_eq!(steps.len(), ROWS_PER_PERMUTATION);
        steps
    })
}

/// The plain-form parameters of the spec `zkr_state::poseidon` uses (t = 3, 8 full and 57 partial rounds, x^5).
#[derive(Debug)]
struct Params;

impl Spec<Fr, T, RATE> for Params {
    fn full_rounds() -> usize {
        R_F
    }

    fn partial_rounds() -> usize {
        R_P
    }

    fn sbox(value: Fr) -> Fr {
        pow5(value)
    }

    fn secure_mds() -> usize {
        0
    }
}

/// Round constants and the MDS matrix.
struct Constants {
    rounds: Vec<[Fr; T]>,
    mds: [[Fr; T]; T],
}

fn constants() -> &'static Constants {
    static CONSTANTS: OnceLock<Constants> = OnceLock::new();
    CONSTANTS.get_or_init(|| {
        let (rounds, mds, _) = Params::constants();
        Constants { rounds, mds }
    })
}

fn pow5(x: Fr) -> Fr {
    x.square().square() * x
}

fn mix(mds: &[[Fr; T]; T], v: [Fr; T]) -> [Fr; T] {
    std::array::from_fn(|i| (0..T).map(|j| mds[i][j] * v[j]).sum())
}

/// The advice values of one permutation's rows, computed natively.
pub fn trace(input: [Fr; T]) -> Vec<[Fr; LANE_WIDTH]> {
    let Constants { rounds, mds } = constants();
    let mut state = input;
    schedule()
        .iter()
        .map(|step| {
            let mut row = [Fr::ZERO; LANE_WIDTH];
            row[..T].copy_from_slice(&state);
            match *step {
                Step::Full { round } => {
                    let u: [Fr; T] = std::array::from_fn(|j| state[j] + rounds[round][j]);
                    for j in 0..T {
                        row[T + j] = u[j].square();
                    }
                    state = mix(mds, u.map(pow5));
                }
                Step::Partial2 { round } => {
                    let first = partial(mds, &rounds[round], state);
                    let second = partial(mds, &rounds[round + 1], first);
                    row[3] = (state[0] + rounds[round][0]).square();
                    row[4] = first[0];
                    row[5] = (first[0] + rounds[round + 1][0]).square();
                    state = second;
                }
                Step::Partial1 { round } => {
                    row[3] = (state[0] + rounds[round][0]).square();
                    state = partial(mds, &rounds[round], state);
                }
                Step::Output => {}
            }
            row
        })
        .collect()
}

fn partial(mds: &[[Fr; T]; T], constants: &[Fr; T], state: [Fr; T]) -> [Fr; T] {
    let mut u: [Fr; T] = std::array::from_fn(|j| state[j] + constants[j]);
    u[0] = pow5(u[0]);
    mix(mds, u)
}

/// The table's columns and gates.
#[derive(Debug, Clone)]
pub struct PoseidonTableConfig {
    lanes: Vec<[Column<Advice>; LANE_WIDTH]>,
    /// Round constants of the row's round (0..3) and, in double partial rows, of the next round (3..6).
    constants: [Column<Fixed>; 2 * T],
    full: Selector,
    partial2: Selector,
    partial1: Selector,
}

/// One permutation's input and output cells, for the caller's copy constraints.
#[derive(Debug)]
pub struct AssignedPermutation<'v> {
    /// The state before the permutation.
    pub input: [AssignedCell<&'v Assigned<Fr>, Fr>; T],
    /// The state after it.
    pub output: [AssignedCell<&'v Assigned<Fr>, Fr>; T],
}

impl PoseidonTableConfig {
    /// Adds `lanes` lanes (at least one) and the gates.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, lanes: usize) -> Self {
        assert!(lanes > 0, "the Poseidon table needs a lane");
        let lanes: Vec<[Column<Advice>; LANE_WIDTH]> =
            (0..lanes).map(|_| std::array::from_fn(|_| meta.advice_column())).collect();
        for lane in &lanes {
            for column in &lane[..T] {
                meta.enable_equality(*column);
            }
        }
        let config = Self {
            lanes,
            constants: std::array::from_fn(|_| meta.fixed_column()),
            full: meta.selector(),
            partial2: meta.selector(),
            partial1: meta.selector(),
        };
        let mds = constants().mds.map(|row| row.map(Expression::Constant));
        // Each gate is `selector * (degree 3)`.
        for lane in &config.lanes {
            let lane = *lane;
            meta.create_gate("poseidon full round", |meta| {
                let q = meta.query_selector(config.full);
                let state = query_state(meta, &lane, Rotation::cur());
                let squares: [Expression<Fr>; T] =
                    std::array::from_fn(|j| meta.query_advice(lane[T + j], Rotation::cur()));
                let next = query_state(meta, &lane, Rotation::next());
                let c: [Expression<Fr>; T] = query_constants(meta, &config.constants);
                let u: [Expression<Fr>; T] = std::array::from_fn(|j| state[j].clone() + c[j].clone());
                let sbox: [Expression<Fr>; T] =
                    std::array::from_fn(|j| u[j].clone() * squares[j].clone() * squares[j].clone());
                let mut constraints: Vec<Expression<Fr>> =
                    (0..T).map(|j| q.clone() * (squares[j].clone() - u[j].clone() * u[j].clone())).collect();
                constraints.extend((0..T).map(|i| q.clone() * (next[i].clone() - dot(&mds[i], &sbox))));
                constraints
            });
            meta.create_gate("poseidon two partial rounds", |meta| {
                let q = meta.query_selector(config.partial2);
                let state = query_state(meta, &lane, Rotation::cur());
                let square = meta.query_advice(lane[3], Rotation::cur());
                let mid = meta.query_advice(lane[4], Rotation::cur());
                let mid_square = meta.query_advice(lane[5], Rotation::cur());
                let next = query_state(meta, &lane, Rotation::next());
                let c: [Expression<Fr>; 2 * T] = query_constants(meta, &config.constants);
                // First round: u = state + c, S-box on u0 only, then the MDS; its first output is `mid`.
                let (square_constraint, first) = partial_round(&state, square, &c[..T]);
                // Second round on [mid, (mds * first)[1], (mds * first)[2]].
                let w0 = mid.clone() + c[3].clone();
                let second = [
                    w0.clone() * mid_square.clone() * mid_square.clone(),
                    dot(&mds[1], &first) + c[4].clone(),
                    dot(&mds[2], &first) + c[5].clone(),
                ];
                let mut constraints = vec![
                    q.clone() * square_constraint,
                    q.clone() * (mid - dot(&mds[0], &first)),
                    q.clone() * (mid_square - w0.clone() * w0),
                ];
                constraints.extend((0..T).map(|i| q.clone() * (next[i].clone() - dot(&mds[i], &second))));
                constraints
            });
            meta.create_gate("poseidon one partial round", |meta| {
                let q = meta.query_selector(config.partial1);
                let state = query_state(meta, &lane, Rotation::cur());
                let square = meta.query_advice(lane[3], Rotation::cur());
                let next = query_state(meta, &lane, Rotation::next());
                let c: [Expression<Fr>; T] = query_constants(meta, &config.constants);
                let (square_constraint, round) = partial_round(&state, square, &c);
                let mut constraints = vec![q.clone() * square_constraint];
                constraints.extend((0..T).map(|i| q.clone() * (next[i].clone() - dot(&mds[i], &round))));
                constraints
            });
        }
        config
    }

    /// Lanes of the table.
    pub fn lanes(&self) -> usize {
        self.lanes.len()
    }

    /// Lays out one permutation of each input, `slots` permutations per lane (inputs beyond the given ones are
    /// permutations of zero), and returns the input and output cells of the given ones, in order.
    pub fn assign<'v>(
        &self,
        layouter: &mut impl Layouter<Fr>,
        inputs: &[[Fr; T]],
        slots: usize,
    ) -> Result<Vec<AssignedPermutation<'v>>, Error> {
        let traces: Vec<_> = inputs.iter().map(|input| trace(*input)).collect();
        self.assign_traces(layouter, &traces, slots)
    }

    /// [`Self::assign`] from the rows themselves (tests hand in tampered ones).
    pub fn assign_traces<'v>(
        &self,
        layouter: &mut impl Layouter<Fr>,
        traces: &[Vec<[Fr; LANE_WIDTH]>],
        slots: usize,
    ) -> Result<Vec<AssignedPermutation<'v>>, Error> {
        let capacity = slots * self.lanes.len();
        if traces.len() > capacity {
            // `ChunkCircuit::configure_shape` sizes the lanes; a caller asking for more is a layout bug.
            tracing::error!(permutations = traces.len(), capacity, "the Poseidon table has too few slots");
            return Err(Error::Synthesis);
        }
        let padding = trace([Fr::ZERO; T]);
        let mut assigned = Vec::with_capacity(traces.len());
        layouter.assign_region(
            || "poseidon table",
            |mut region| {
                assigned.clear();
                for slot in 0..slots {
                    self.assign_constants(&mut region, slot * ROWS_PER_PERMUTATION)?;
                }
                for index in 0..capacity {
                    let (lane, slot) = (index / slots, index % slots);
                    let rows = traces.get(index).unwrap_or(&padding);
                    let cells = self.assign_rows(&mut region, &self.lanes[lane], slot * ROWS_PER_PERMUTATION, rows);
                    if index < traces.len() {
                        assigned.push(cells);
                    }
                }
                Ok(())
            },
        )?;
        Ok(assigned)
    }

    fn assign_constants(&self, region: &mut Region<'_, Fr>, offset: usize) -> Result<(), Error> {
        let rounds = &constants().rounds;
        for (i, step) in schedule().iter().enumerate() {
            let row = offset + i;
            let (selector, values): (&Selector, Vec<Fr>) = match *step {
                Step::Full { round } => (&self.full, rounds[round].to_vec()),
                Step::Partial2 { round } => (&self.partial2, [rounds[round], rounds[round + 1]].concat()),
                Step::Partial1 { round } => (&self.partial1, rounds[round].to_vec()),
                Step::Output => continue,
            };
            selector.enable(region, row)?;
            for (column, value) in self.constants.iter().zip(values) {
                region.assign_fixed(*column, row, value);
            }
        }
        Ok(())
    }

    fn assign_rows<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        lane: &[Column<Advice>; LANE_WIDTH],
        offset: usize,
        rows: &[[Fr; LANE_WIDTH]],
    ) -> AssignedPermutation<'v> {
        debug_assert_eq!(rows.len(), ROWS_PER_PERMUTATION);
        let mut input = Vec::with_capacity(T);
        let mut output = Vec::with_capacity(T);
        for (i, row) in rows.iter().enumerate() {
            for (j, (column, value)) in lane.iter().zip(row).enumerate() {
                let cell = region.assign_advice(*column, offset + i, Value::known(*value));
                if j < T && i == 0 {
                    input.push(cell);
                } else if j < T && i == ROWS_PER_PERMUTATION - 1 {
                    output.push(cell);
                }
            }
        }
        let array = |cells: Vec<_>| -> [AssignedCell<&'v Assigned<Fr>, Fr>; T] {
            cells.try_into().unwrap_or_else(|_| unreachable!("one cell per state element"))
        };
        AssignedPermutation { input: array(input), output: array(output) }
    }
}

/// The state cells of a lane's row.
fn query_state(
    meta: &mut VirtualCells<'_, Fr>,
    lane: &[Column<Advice>; LANE_WIDTH],
    at: Rotation,
) -> [Expression<Fr>; T] {
    std::array::from_fn(|j| meta.query_advice(lane[j], at))
}

/// The first `N` round-constant columns of the current row.
fn query_constants<const N: usize>(
    meta: &mut VirtualCells<'_, Fr>,
    columns: &[Column<Fixed>; 2 * T],
) -> [Expression<Fr>; N] {
    std::array::from_fn(|j| meta.query_fixed(columns[j], Rotation::cur()))
}

/// A partial round's S-box with its square cell: the constraint `square = (s0 + c0)^2` and the MDS input
/// `[(s0 + c0) * square^2, s1 + c1, s2 + c2]`.
fn partial_round(
    state: &[Expression<Fr>; T],
    square: Expression<Fr>,
    c: &[Expression<Fr>],
) -> (Expression<Fr>, [Expression<Fr>; T]) {
    let u0 = state[0].clone() + c[0].clone();
    let input = [
        u0.clone() * square.clone() * square.clone(),
        state[1].clone() + c[1].clone(),
        state[2].clone() + c[2].clone(),
    ];
    (square - u0.clone() * u0, input)
}

fn dot(row: &[Expression<Fr>; T], v: &[Expression<Fr>; T]) -> Expression<Fr> {
    row.iter().zip(v).map(|(m, x)| m.clone() * x.clone()).reduce(|a, b| a + b).expect("T > 0")
}

#[cfg(test)]
mod tests {
    use halo2_base::halo2_proofs::{
        circuit::SimpleFloorPlanner,
        dev::MockProver,
        plonk::{Circuit, Instance},
    };
    use proptest::prelude::*;
    use zkr_state::poseidon::permutation;

    use super::*;

    fn native(input: [Fr; T]) -> [Fr; T] {
        let mut state = input;
        permutation(&mut state);
        state
    }

    #[test]
    fn schedule_covers_every_round_once() {
        let mut rounds = Vec::new();
        for step in schedule() {
            match *step {
                Step::Full { round } | Step::Partial1 { round } => rounds.push(round),
                Step::Partial2 { round } => rounds.extend([round, round + 1]),
                Step::Output => {}
            }
        }
        assert_eq!(rounds, (0..R_F + R_P).collect::<Vec<_>>());
        assert_eq!(schedule().last(), Some(&Step::Output));
    }

    #[test]
    fn the_plain_form_equals_the_optimized_native_permutation_on_edge_inputs() {
        let minus_one = -Fr::ONE;
        for input in [
            [Fr::ZERO; T],
            [Fr::ONE; T],
            [minus_one; T],
            [Fr::from_raw([0, 1, 0, 0]), Fr::ZERO, Fr::ZERO],
            [Fr::from_raw([0, 1, 0, 0]), minus_one, Fr::ONE],
        ] {
            assert_eq!(trace(input).last().map(|row| [row[0], row[1], row[2]]), Some(native(input)));
        }
    }

    /// The table alone, with its outputs exposed as public inputs.
    #[derive(Debug, Clone, Default)]
    struct TableCircuit {
        traces: Vec<Vec<[Fr; LANE_WIDTH]>>,
        lanes: usize,
        slots: usize,
    }

    impl Circuit<Fr> for TableCircuit {
        type Config = (PoseidonTableConfig, Column<Instance>);
        type FloorPlanner = SimpleFloorPlanner;
        type Params = usize;

        fn params(&self) -> usize {
            self.lanes
        }

        fn without_witnesses(&self) -> Self {
            self.clone()
        }

        fn configure_with_params(meta: &mut ConstraintSystem<Fr>, lanes: usize) -> Self::Config {
            let instance = meta.instance_column();
            meta.enable_equality(instance);
            (PoseidonTableConfig::configure(meta, lanes), instance)
        }

        fn configure(_: &mut ConstraintSystem<Fr>) -> Self::Config {
            unreachable!("configured with the lane count")
        }

        fn synthesize(&self, (config, instance): Self::Config, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
            let assigned = config.assign_traces(&mut layouter, &self.traces, self.slots)?;
            let mut row = 0;
            for permutation in &assigned {
                for cell in permutation.input.iter().chain(&permutation.output) {
                    layouter.constrain_instance(cell.cell(), instance, row);
                    row += 1;
                }
            }
            Ok(())
        }
    }

    fn check(inputs: &[[Fr; T]], lanes: usize, slots: usize, tamper: impl FnOnce(&mut Vec<Vec<[Fr; 6]>>)) -> bool {
        let mut traces: Vec<_> = inputs.iter().map(|i| trace(*i)).collect();
        let public: Vec<Fr> = inputs.iter().flat_map(|i| i.iter().copied().chain(native(*i))).collect();
        tamper(&mut traces);
        let circuit = TableCircuit { traces, lanes, slots };
        MockProver::run(10, &circuit, vec![public]).expect("synthesis").verify().is_ok()
    }

    #[test]
    fn the_degree_stays_at_four() {
        let mut meta = ConstraintSystem::<Fr>::default();
        let _ = PoseidonTableConfig::configure(&mut meta, 2);
        assert_eq!(meta.degree(), 4);
    }

    #[test]
    fn lanes_and_padding_slots_hold() {
        let inputs: Vec<[Fr; T]> = (0..5u64).map(|i| [Fr::from(i), Fr::from(i + 1), Fr::from(i * i)]).collect();
        assert!(check(&inputs, 2, 3, |_| ()));
        assert!(check(&inputs, 1, 5, |_| ()));
    }

    #[test]
    fn a_tampered_output_or_intermediate_cell_is_refused() {
        let inputs = [[Fr::from(3), Fr::from(5), Fr::from(7)], [Fr::ONE, Fr::ZERO, minus(2)]];
        let output = ROWS_PER_PERMUTATION - 1;
        // A changed output cell (the public inputs claim the true output).
        assert!(!check(&inputs, 1, 2, |t| t[1][output][1] += Fr::ONE));
        for (row, column) in [(0, 3), (2, 5), (5, 3), (5, 4), (5, 5), (32, 3), (33, 4), (36, 0), (output, 0)] {
            assert!(!check(&inputs, 2, 1, |t| t[0][row][column] += Fr::ONE), "row {row} column {column}");
        }
    }

    #[test]
    fn the_gates_alone_refuse_a_wrong_output() {
        // No public inputs pin the output: a trace whose last row was changed must fail in the gates.
        let input = [Fr::from(11), Fr::from(13), Fr::from(17)];
        let mut traces = vec![trace(input)];
        traces[0][ROWS_PER_PERMUTATION - 1][2] += Fr::ONE;
        let circuit = TableCircuit { traces, lanes: 1, slots: 1 };
        let public: Vec<Fr> = input.iter().copied().chain(native(input)).collect();
        let mut claimed = public;
        claimed[5] += Fr::ONE;
        assert!(MockProver::run(10, &circuit, vec![claimed]).expect("synthesis").verify().is_err());
    }

    fn minus(x: u64) -> Fr {
        -Fr::from(x)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn the_plain_form_equals_the_native_permutation(limbs in any::<[[u64; 4]; 3]>()) {
            let input = limbs.map(Fr::from_raw);
            let rows = trace(input);
            let last = rows.last().expect("rows");
            prop_assert_eq!([last[0], last[1], last[2]], native(input));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4))]
        #[test]
        fn random_permutations_satisfy_the_gates(limbs in any::<[[u64; 4]; 3]>()) {
            prop_assert!(check(&[limbs.map(Fr::from_raw)], 1, 1, |_| ()));
        }
    }
}
