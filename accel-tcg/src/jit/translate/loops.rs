//! Loops of a region and the guest registers each of them keeps in the CPU structure.
//!
//! Guest registers live in Cranelift variables, so a register the region changed before a loop
//! and uses again after it stays live (in a host register or a spill slot) all through the loop:
//! every exit inside the loop has to store it. In nested loops (the common case: a region holds
//! an inner loop and the outer loop around it) that pressure spills the inner loop's own
//! values. The split done here: each loop has a *resident* set of registers held in the CPU
//! structure while it runs: the registers it never reads or writes, and (register budget) the
//! registers it uses least when it uses more than the host can keep in registers (see
//! [`Loops::evict`]; an eviction applies to the loop's own blocks, not to its inner loops).
//! Inside a block, a resident register is read from memory at most once (then its value is
//! reused) and stored at its last write in the block, so it is clean between blocks and no exit
//! of another block needs its value: its live range ends in the block instead of spanning the
//! loop. On an edge *entering* a block where a register is resident, it is stored if dirty; on
//! an edge *leaving* that, it is reloaded into a fresh value.

/// Bit sets of integer and FP registers.
pub(super) type Regs = (u32, u32);

/// The register traffic on one control-flow edge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Traffic {
    /// Registers to store (where dirty) before following the edge.
    pub store: Regs,
    /// Registers to reload from the CPU structure before following the edge.
    pub reload: Regs,
}

impl Traffic {
    /// Whether the edge needs no code.
    pub fn is_empty(&self) -> bool {
        *self == Traffic::default()
    }
}

/// Natural loops of a region's block graph.
#[derive(Debug, Default)]
pub(super) struct Loops {
    /// Per block: bit `l` set when the block belongs to loop `l` (at most 64 loops are tracked;
    /// ignoring a loop is always correct, it just gets no split).
    member: Vec<u64>,
    /// Per loop: the registers no instruction of the loop reads or writes.
    untouched: Vec<Regs>,
    /// Per loop: the registers it reads or writes but keeps in memory in its own blocks (those
    /// of no inner loop; see [`Loops::evict`]).
    evicted: Vec<Regs>,
}

/// Host registers available to a loop's guest registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Budget {
    /// Integer registers.
    pub x: usize,
    /// FP registers.
    pub f: usize,
    /// The least a loop gets of each class whatever else it needs.
    pub min: usize,
    /// Integer registers a TLB probe cache slot takes (see `mem.rs`).
    pub per_probe: usize,
}

/// What keeping each register in memory would cost in one block: per register (0-31 integer,
/// 32-63 FP), the memory accesses it would need (one store if the block writes it, one load if
/// the block reads it before writing it) and its reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BlockCost {
    /// Loads and stores if the register were resident.
    pub cost: [u16; 64],
    /// Reads and writes.
    pub uses: [u16; 64],
}

impl Default for BlockCost {
    fn default() -> Self {
        BlockCost {
            cost: [0; 64],
            uses: [0; 64],
        }
    }
}

impl BlockCost {
    /// Records a block's accesses in order: `reads` then `writes` of one instruction (bit sets);
    /// `seen` holds the registers read or written earlier in the block and `written` those
    /// written (both updated).
    pub fn add(&mut self, reads: Regs, writes: Regs, seen: &mut Regs, written: &mut Regs) {
        for (i, (r, w, s, written)) in [
            (reads.0, writes.0, &mut seen.0, &mut written.0),
            (reads.1, writes.1, &mut seen.1, &mut written.1),
        ]
        .into_iter()
        .enumerate()
        {
            for bit in 0..32 {
                let m = 1u32 << bit;
                let k = 32 * i + bit;
                if r & m != 0 {
                    self.uses[k] = self.uses[k].saturating_add(1);
                    if *s & m == 0 {
                        self.cost[k] = self.cost[k].saturating_add(1);
                    }
                    *s |= m;
                }
                if w & m != 0 {
                    self.uses[k] = self.uses[k].saturating_add(1);
                    if *written & m == 0 {
                        self.cost[k] = self.cost[k].saturating_add(1);
                    }
                    *s |= m;
                    *written |= m;
                }
            }
        }
    }
}

/// `dom[b][d]`: block `d` dominates block `b` (every path from block 0 to `b` passes through
/// `d`). Blocks unreachable from block 0 are dominated by none.
fn dominators(preds: &[Vec<usize>]) -> Vec<Vec<bool>> {
    let n = preds.len();
    // Reachability first: unreachable predecessors must not constrain anything.
    let mut reach = vec![false; n];
    if n > 0 {
        let mut succs: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (t, ps) in preds.iter().enumerate() {
            for &p in ps {
                succs[p].push(t);
            }
        }
        let mut stack = vec![0];
        while let Some(b) = stack.pop() {
            if !reach[b] {
                reach[b] = true;
                stack.extend_from_slice(&succs[b]);
            }
        }
    }
    let mut dom: Vec<Vec<bool>> = (0..n)
        .map(|b| {
            if b == 0 {
                (0..n).map(|d| d == 0).collect()
            } else {
                vec![reach[b]; n]
            }
        })
        .collect();
    let mut changed = true;
    while changed {
        changed = false;
        for b in 1..n {
            if !reach[b] {
                continue;
            }
            let mut new = vec![true; n];
            for &p in preds[b].iter().filter(|&&p| reach[p]) {
                for (d, v) in new.iter_mut().enumerate() {
                    *v &= dom[p][d];
                }
            }
            new[b] = true;
            if new != dom[b] {
                dom[b] = new;
                changed = true;
            }
        }
    }
    dom
}

impl Loops {
    /// Finds the loops. `succ[b]` lists block `b`'s successors inside the region (with whether
    /// the edge goes backwards in the code, which does not matter here); block 0 is the entry;
    /// `refs[b]` is the set of registers block `b` reads or writes. Every edge `s -> h` where
    /// `h` dominates `s` defines the natural loop of `h` and every block that reaches `s`
    /// without passing through `h`; such edges to one header make one loop. (An edge to a block
    /// earlier in the code that does not dominate its source, such as a call to a function
    /// placed before the caller, closes no loop.)
    pub fn find(succ: &[Vec<(usize, bool)>], refs: &[Regs]) -> Loops {
        let n = succ.len();
        let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (s, ts) in succ.iter().enumerate() {
            for &(t, _) in ts {
                if t < n {
                    preds[t].push(s);
                }
            }
        }
        let dom = dominators(&preds);
        let mut headers: Vec<usize> = Vec::new();
        let mut bodies: Vec<Vec<bool>> = Vec::new();
        for (s, ts) in succ.iter().enumerate() {
            for &(h, _) in ts {
                if h >= n || !dom[s][h] {
                    continue;
                }
                let l = match headers.iter().position(|&x| x == h) {
                    Some(l) => l,
                    None => {
                        if headers.len() == 64 {
                            continue;
                        }
                        headers.push(h);
                        let mut body = vec![false; n];
                        body[h] = true;
                        bodies.push(body);
                        headers.len() - 1
                    }
                };
                let body = &mut bodies[l];
                let mut stack = vec![s];
                while let Some(x) = stack.pop() {
                    if !body[x] {
                        body[x] = true;
                        stack.extend_from_slice(&preds[x]);
                    }
                }
            }
        }
        let mut member = vec![0u64; n];
        let mut untouched = Vec::with_capacity(bodies.len());
        for (l, body) in bodies.iter().enumerate() {
            let mut used: Regs = (0, 0);
            for (b, &inside) in body.iter().enumerate() {
                if inside {
                    member[b] |= 1 << l;
                    used.0 |= refs[b].0;
                    used.1 |= refs[b].1;
                }
            }
            untouched.push((!used.0, !used.1));
        }
        let evicted = vec![(0, 0); untouched.len()];
        Loops {
            member,
            untouched,
            evicted,
        }
    }

    /// The register budget: for each loop that touches more integer registers (x0 aside) or
    /// FP registers than `budget` allows (less `budget.per_probe` integer registers for each
    /// TLB probe cache slot its blocks use: `probes[b]` has bit `k` set when block `b` uses
    /// slot `k`), the ones of that class it would cost least to keep in memory (by
    /// [`BlockCost`], blocks of deeper loops weighing 8x per level) stay resident while it
    /// runs, so the host's registers hold the rest instead of spilling them.
    pub fn evict(&mut self, costs: &[BlockCost], probes: &[u32], budget: Budget) {
        for l in 0..self.untouched.len() {
            let touched = (!self.untouched[l].0 & !1, !self.untouched[l].1);
            let slots = (0..self.member.len())
                .filter(|&b| self.member[b] & (1 << l) != 0)
                .fold(0u32, |m, b| m | probes.get(b).copied().unwrap_or(0));
            let taken = budget.per_probe * slots.count_ones() as usize;
            let budget = (
                budget.x.saturating_sub(taken).max(budget.min),
                budget.f.max(budget.min),
            );
            if touched.0.count_ones() as usize <= budget.0
                && touched.1.count_ones() as usize <= budget.1
            {
                continue;
            }
            // (cost, uses) per register in the loop's own blocks (an eviction applies only
            // there, see `resident_at`); a register an inner loop keeps in a variable also costs
            // a store on entering that loop and a load on leaving it.
            let mut score = [(0u64, 0u64); 64];
            for (b, &m) in self.member.iter().enumerate() {
                if m & (1 << l) == 0 {
                    continue;
                }
                let Some(c) = costs.get(b) else { continue };
                let own = self.innermost(b) == Some(l);
                for (k, s) in score.iter_mut().enumerate() {
                    if own {
                        s.0 += c.cost[k] as u64;
                        s.1 += c.uses[k] as u64;
                    } else if c.uses[k] != 0 {
                        s.0 += 2;
                    }
                }
            }
            let mut ev: Regs = (0, 0);
            for (class, set, keep) in [(0, touched.0, budget.0), (1, touched.1, budget.1)] {
                let mut regs: Vec<usize> = (0..32).filter(|&k| set & (1 << k) != 0).collect();
                // Most expensive to keep in memory first; ties by register number.
                regs.sort_by(|&a, &b| {
                    score[32 * class + b]
                        .cmp(&score[32 * class + a])
                        .then(a.cmp(&b))
                });
                let mut m = 0u32;
                for &k in regs.iter().skip(keep) {
                    m |= 1 << k;
                }
                if class == 0 {
                    ev.0 = m;
                } else {
                    ev.1 = m;
                }
            }
            self.evicted[l] = ev;
        }
    }

    /// The innermost loop containing block `b` (the one with the fewest blocks).
    fn innermost(&self, b: usize) -> Option<usize> {
        let m = self.member.get(b).copied().unwrap_or(0);
        (0..self.untouched.len())
            .filter(|&l| m & (1 << l) != 0)
            .min_by_key(|&l| self.member.iter().filter(|&&mb| mb & (1 << l) != 0).count())
    }

    /// The registers held in memory in block `b`: those that a loop containing it never
    /// touches, and those its innermost loop evicted (an outer loop's evictions do not apply
    /// inside an inner loop, which may have room for them: they are reloaded on entering it).
    ///
    /// In a block of no loop every register is resident: such a block runs at most once per
    /// entry of the region, so loading what it reads and storing what it writes costs no more
    /// than loading every register at entry and storing the dirty ones at exits, and the
    /// entry then loads only what its first loop keeps in variables.
    pub fn resident_at(&self, b: usize) -> Regs {
        let m = self.member.get(b).copied().unwrap_or(0);
        if m == 0 {
            return (!1, !0);
        }
        let mut r: Regs = (0, 0);
        for (l, u) in self.untouched.iter().enumerate() {
            if m & (1 << l) != 0 {
                r.0 |= u.0;
                r.1 |= u.1;
            }
        }
        if let Some(e) = self.innermost(b).and_then(|l| self.evicted.get(l)) {
            r.0 |= e.0;
            r.1 |= e.1;
        }
        r
    }

    /// The traffic on the edge `s -> t`: store the registers resident in `t` but not in `s`
    /// (where dirty), and reload (among `used`, the registers held in variables) those
    /// resident in `s` but not in `t`.
    pub fn traffic(&self, s: usize, t: usize, used: Regs) -> Traffic {
        let rs = self.resident_at(s);
        let rt = self.resident_at(t);
        Traffic {
            store: (rt.0 & !rs.0, rt.1 & !rs.1),
            reload: (rs.0 & !rt.0 & used.0, rs.1 & !rt.1 & used.1),
        }
    }

    /// How many of the loops contain block `b`.
    pub fn depth(&self, b: usize) -> u32 {
        self.member.get(b).map_or(0, |m| m.count_ones())
    }

    /// Number of loops found.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.untouched.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Block 0: outer code writing x10; block 1: inner loop (back-edge to itself) using x5;
    /// block 2: outer tail using x10, back-edge to block 0.
    fn nested() -> Loops {
        let succ = vec![
            vec![(1, false)],
            vec![(1, true), (2, false)],
            vec![(0, true)],
        ];
        let refs = vec![(1 << 10, 0), (1 << 5, 1 << 3), (1 << 10, 0)];
        Loops::find(&succ, &refs)
    }

    #[test]
    fn nested_loops_found() {
        let l = nested();
        assert_eq!(l.len(), 2);
        // Inner loop {1}, outer loop {0, 1, 2}.
        assert_eq!(l.member, vec![0b10, 0b11, 0b10]);
        assert_eq!(
            (l.depth(0), l.depth(1), l.depth(2), l.depth(9)),
            (1, 2, 1, 0)
        );
        assert_eq!(l.untouched[0].0 & (1 << 5), 0);
        assert_ne!(l.untouched[0].0 & (1 << 10), 0);
        assert_eq!(l.untouched[1].0 & (1 << 10), 0);
        assert_eq!(l.untouched[1].0 & (1 << 5), 0);
    }

    #[test]
    fn entering_stores_and_leaving_reloads() {
        let l = nested();
        let used = (1 << 5 | 1 << 10, 1 << 3);
        let enter = l.traffic(0, 1, used);
        assert_ne!(
            enter.store.0 & (1 << 10),
            0,
            "x10 stored entering the inner loop"
        );
        assert_eq!(enter.store.0 & (1 << 5), 0, "x5 is the inner loop's own");
        assert_eq!(enter.store.1 & (1 << 3), 0);
        assert_eq!(enter.reload, (0, 0));
        let leave = l.traffic(1, 2, used);
        assert_eq!(leave.store, (0, 0));
        assert_eq!(leave.reload, (1 << 10, 0), "only used registers reloaded");
        // Inside one loop: nothing.
        assert!(l.traffic(1, 1, used).is_empty());
        // The outer back-edge stays inside the outer loop.
        assert!(l.traffic(2, 0, used).is_empty());
    }

    #[test]
    fn registers_left_alone_by_the_target_loop_are_not_reloaded() {
        // Loop A = {0, 1} (back-edge 1 -> 0), inner loop B = {1} (self back-edge); block 2
        // outside both. x7 is used by no block: in both untouched sets.
        let succ = vec![
            vec![(1, false)],
            vec![(1, true), (0, true), (2, false)],
            vec![],
        ];
        let refs = vec![(1 << 10, 0), (1 << 5, 0), (1 << 7, 0)];
        let l = Loops::find(&succ, &refs);
        let used = (1 << 5 | 1 << 7 | 1 << 10, 0);
        // Leaving B for block 0 (still in A): x10 reloaded, x7 (A leaves it alone) not.
        let t = l.traffic(1, 0, used);
        assert_eq!(t.reload, (1 << 10, 0));
        // Leaving both for block 2 (in no loop: every register resident there): nothing
        // reloaded, the registers B keeps in variables stored.
        let t = l.traffic(1, 2, used);
        assert_eq!(t.reload, (0, 0));
        assert_eq!(t.store.0 & used.0, 1 << 5);
    }

    #[test]
    fn no_back_edges_no_loops() {
        let succ = vec![vec![(1, false)], vec![]];
        let l = Loops::find(&succ, &[(1, 1), (2, 2)]);
        assert_eq!(l.len(), 0);
        assert!(l.traffic(0, 1, (!0, !0)).is_empty());
        // Out-of-range indices are harmless.
        assert!(l.traffic(5, 9, (!0, !0)).is_empty());
    }

    /// One self-loop block whose instructions read and write `regs`, `heavy` of them in
    /// three instructions each, the others once.
    fn one_loop(regs: &[u32], heavy: &[u32]) -> (Loops, Vec<BlockCost>) {
        let succ = vec![vec![(0, true)]];
        let mut refs: Regs = (0, 0);
        let mut c = BlockCost::default();
        let (mut seen, mut written) = ((0, 0), (0, 0));
        for &r in regs {
            refs.0 |= 1 << r;
            let n = if heavy.contains(&r) { 3 } else { 1 };
            for _ in 0..n {
                // `add r, r, r` each time: the first reads (a load if resident) and writes.
                c.add((1 << r, 0), (1 << r, 0), &mut seen, &mut written);
            }
        }
        (Loops::find(&succ, &[refs]), vec![c])
    }

    fn budget(x: usize) -> Budget {
        Budget {
            x,
            f: 12,
            min: 2,
            per_probe: 2,
        }
    }

    #[test]
    fn block_cost_counts_one_load_and_one_store() {
        let mut c = BlockCost::default();
        let (mut seen, mut written) = ((0, 0), (0, 0));
        c.add((1 << 5, 0), (1 << 6, 0), &mut seen, &mut written); // x6 = f(x5)
        c.add((1 << 6, 0), (1 << 6, 0), &mut seen, &mut written); // x6 = f(x6)
        c.add((1 << 5, 0), (0, 1 << 2), &mut seen, &mut written); // f2 = f(x5)
        assert_eq!((c.cost[5], c.uses[5]), (1, 2), "x5: one load, two reads");
        assert_eq!(
            (c.cost[6], c.uses[6]),
            (1, 3),
            "x6: written first, one store"
        );
        assert_eq!((c.cost[34], c.uses[34]), (1, 1), "f2");
    }

    #[test]
    fn budget_evicts_the_cheapest_registers_of_a_loop_over_it() {
        let regs = [5, 6, 7, 10, 11, 12];
        let (mut l, costs) = one_loop(&regs, &[5, 6, 7, 10]);
        l.evict(&costs, &[0], budget(4));
        // x11 and x12 are used once: resident; the rest stay in variables.
        assert_eq!(l.resident_at(0).0 & 0x1ce0, 1 << 11 | 1 << 12);
        // Untouched registers stay resident too.
        assert_ne!(l.resident_at(0).0 & (1 << 20), 0);
        // Under the budget nothing is evicted.
        let (mut l, costs) = one_loop(&regs, &[]);
        l.evict(&costs, &[0], budget(6));
        assert_eq!(l.resident_at(0).0 & 0x1ce0, 0);
        // A probe cache slot used by the loop takes two registers of the budget.
        l.evict(&costs, &[1], budget(6));
        assert_eq!((l.resident_at(0).0 & 0x1ce0).count_ones(), 2);
        // Entering the loop from code in no loop (where every register is resident) loads
        // the registers it keeps in variables; leaving it stores them.
        let kept = !l.resident_at(0).0 & 0x1ce0;
        assert_eq!(kept.count_ones(), 4);
        let e = l.traffic(1, 0, (0x1ce0, 0));
        assert_eq!((e.reload.0, e.store.0 & 0x1ce0), (kept, 0));
        let x = l.traffic(0, 1, (0x1ce0, 0));
        assert_eq!((x.reload.0, x.store.0 & 0x1ce0), (0, kept));
    }

    #[test]
    fn an_outer_loop_eviction_does_not_apply_inside_its_inner_loop() {
        // Outer loop {0, 1, 2}, inner loop {1}. The outer blocks use x10..x17 once each, the
        // inner loop x5, x6 and x10 (three times each).
        let succ = vec![
            vec![(1, false)],
            vec![(1, true), (2, false)],
            vec![(0, true)],
        ];
        let outer: u32 = 0xff << 10;
        let inner: u32 = 1 << 5 | 1 << 6 | 1 << 10;
        let refs = vec![(outer, 0), (inner, 0), (outer, 0)];
        let mut costs = vec![BlockCost::default(); 3];
        for (b, set, n) in [(0, outer, 1), (1, inner, 3), (2, outer, 1)] {
            let (mut seen, mut written) = ((0, 0), (0, 0));
            for _ in 0..n {
                costs[b].add((set, 0), (set, 0), &mut seen, &mut written);
            }
        }
        let mut l = Loops::find(&succ, &refs);
        l.evict(&costs, &[0; 3], budget(6));
        let (r0, r1) = (l.resident_at(0).0, l.resident_at(1).0);
        // The outer loop touches 10 registers: 4 evicted from its own blocks, first x5 and x6,
        // which they never use (they only cost traffic at the inner loop's boundary).
        assert_eq!((r0 & (outer | inner)).count_ones(), 4);
        assert_eq!(r0 & (1 << 5 | 1 << 6), 1 << 5 | 1 << 6);
        assert_eq!(r0 & (1 << 10), 0, "x10 is used in both loops");
        // Inside the inner loop (3 registers, under the budget) its own registers are in
        // variables whatever the outer loop evicted.
        assert_eq!(r1 & inner, 0);
        // Entering the inner loop reloads an evicted register it uses.
        let t = l.traffic(0, 1, (outer | inner, 0));
        assert_eq!(t.reload.0, 1 << 5 | 1 << 6);
        // Leaving it stores them (if dirty) for the outer blocks.
        assert_eq!(
            l.traffic(1, 2, (outer | inner, 0)).store.0 & inner,
            1 << 5 | 1 << 6
        );
    }

    #[test]
    fn a_jump_back_to_a_block_that_does_not_dominate_closes_no_loop() {
        // Entry 0 is a self-loop; it falls into 1, which calls 2 (a function placed before the
        // caller in the code: a backwards edge), which returns to 3. Only {0} is a loop.
        let succ = vec![
            vec![(0, true), (1, false)],
            vec![(2, true)],
            vec![(3, false)],
            vec![],
        ];
        let refs = vec![(1 << 5, 0), (1 << 6, 0), (1 << 7, 0), (1 << 8, 0)];
        let l = Loops::find(&succ, &refs);
        assert_eq!(l.len(), 1);
        assert_eq!(
            (l.depth(0), l.depth(1), l.depth(2), l.depth(3)),
            (1, 0, 0, 0)
        );
        // Unreachable blocks are in no loop.
        let succ = vec![vec![], vec![(1, true)]];
        let l = Loops::find(&succ, &[(0, 0), (0, 0)]);
        assert_eq!(l.len(), 0);
    }

    #[test]
    fn dominators_of_a_diamond() {
        // 0 -> 1, 0 -> 2, 1 -> 3, 2 -> 3.
        let preds = vec![vec![], vec![0], vec![0], vec![1, 2]];
        let d = dominators(&preds);
        assert!(d[3][0] && !d[3][1] && !d[3][2] && d[3][3]);
        assert!(d[1][0] && !d[1][2]);
    }
}
