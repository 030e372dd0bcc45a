//! Loops of a region and the guest registers each of them keeps in the CPU structure.
//!
//! Guest registers live in Cranelift variables, so a register the region changed before a loop
//! and uses again after it stays live (in a host register or a spill slot) all through the loop:
//! every exit inside the loop has to store it. In nested loops (the common case: a region holds
//! an inner loop and the outer loop around it) that pressure spills the inner loop's own
//! values. The split done here: each loop has a *resident* set of registers held in the CPU
//! structure while it runs: the registers it never reads or writes, and (register budget) the
//! registers it uses least when it uses more than the host can keep in registers (see
//! [`Loops::evict`]). Inside a block, a resident register is read from memory once (then its
//! value is reused) and every write is also stored (write-through), so it is never dirty and no
//! exit needs its value: its live range ends at its last use in the block instead of spanning
//! the loop. On an edge *entering* a block where a register is resident, it is stored if dirty;
//! on an edge *leaving* that, it is reloaded into a fresh value.

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
    /// Per loop: the registers it reads or writes but keeps in memory (see [`Loops::evict`]).
    evicted: Vec<Regs>,
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

impl Loops {
    /// Finds the loops. `succ[b]` lists block `b`'s successors inside the region with whether
    /// the edge is a back-edge; `refs[b]` is the set of registers block `b` reads or writes.
    /// Every back-edge `s -> h` defines the natural loop of `h` and every block that reaches `s`
    /// without passing through `h`; back-edges to one header make one loop.
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
        let mut headers: Vec<usize> = Vec::new();
        let mut bodies: Vec<Vec<bool>> = Vec::new();
        for (s, ts) in succ.iter().enumerate() {
            for &(h, back) in ts {
                if !back || h >= n {
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

    /// The register budget: for each loop that touches more than `budget` registers (integer
    /// and FP together, x0 aside), the ones it would cost least to keep in memory (by
    /// [`BlockCost`], blocks of deeper loops weighing 8x per level) stay resident while it
    /// runs, so the host's registers hold the rest instead of spilling them. Then each loop's
    /// registers compete only with its own: the integer registers untouched and evicted are
    /// never in host registers inside it.
    pub fn evict(&mut self, costs: &[BlockCost], budget: usize) {
        for l in 0..self.untouched.len() {
            let touched = (!self.untouched[l].0 & !1, !self.untouched[l].1);
            let n = (touched.0.count_ones() + touched.1.count_ones()) as usize;
            if n <= budget {
                continue;
            }
            // (cost, uses) per register, weighted by the depth of the blocks.
            let mut score = [(0u64, 0u64); 64];
            for (b, &m) in self.member.iter().enumerate() {
                if m & (1 << l) == 0 {
                    continue;
                }
                let Some(c) = costs.get(b) else { continue };
                let w = 1u64 << (3 * m.count_ones().min(6));
                for (k, s) in score.iter_mut().enumerate() {
                    s.0 += w * c.cost[k] as u64;
                    s.1 += w * c.uses[k] as u64;
                }
            }
            let mut regs: Vec<usize> = (0..64)
                .filter(|&k| {
                    if k < 32 {
                        touched.0 & (1 << k) != 0
                    } else {
                        touched.1 & (1 << (k - 32)) != 0
                    }
                })
                .collect();
            // Most expensive to keep in memory first; ties by register number (deterministic).
            regs.sort_by(|&a, &b| score[b].cmp(&score[a]).then(a.cmp(&b)));
            let mut ev: Regs = (0, 0);
            for &k in &regs[budget.min(regs.len())..] {
                if k < 32 {
                    ev.0 |= 1 << k;
                } else {
                    ev.1 |= 1 << (k - 32);
                }
            }
            self.evicted[l] = ev;
        }
    }

    /// The registers held in memory in block `b`: those resident in any loop containing it.
    pub fn resident_at(&self, b: usize) -> Regs {
        self.union(self.member.get(b).copied().unwrap_or(0))
    }

    /// The registers resident (untouched or evicted) in any of the loops in `set`.
    fn union(&self, set: u64) -> Regs {
        let mut r: Regs = (0, 0);
        for (l, (u, e)) in self.untouched.iter().zip(&self.evicted).enumerate() {
            if set & (1 << l) != 0 {
                r.0 |= u.0 | e.0;
                r.1 |= u.1 | e.1;
            }
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
        // Leaving both for block 2: x7 and x10 reloaded.
        let t = l.traffic(1, 2, used);
        assert_eq!(t.reload, (1 << 7 | 1 << 10, 0));
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
}
