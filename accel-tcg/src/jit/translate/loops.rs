//! Loops of a region and the guest registers each of them leaves alone.
//!
//! Guest registers live in Cranelift variables, so a register the region changed before a loop
//! and uses again after it stays live (in a host register or a spill slot) all through the loop:
//! every exit inside the loop has to store it. In nested loops (the common case: a region holds
//! an inner loop and the outer loop around it) that pressure spills the inner loop's own
//! values. The split done here: on an edge *entering* a loop, the registers the loop never reads
//! or writes are stored to the CPU structure if dirty (so they are clean inside the loop: its
//! exits store nothing for them), and on an edge *leaving* it they are reloaded into fresh
//! values (so the old values are dead inside the loop).

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
        Loops { member, untouched }
    }

    fn union(&self, set: u64) -> Regs {
        let mut r: Regs = (0, 0);
        for (l, u) in self.untouched.iter().enumerate() {
            if set & (1 << l) != 0 {
                r.0 |= u.0;
                r.1 |= u.1;
            }
        }
        r
    }

    /// The traffic on the edge `s -> t`: store what the loops being entered leave alone, and
    /// reload (among `used`, the registers held in variables) what the loops being left leave
    /// alone, except registers that a loop containing `t` leaves alone too (they stay in memory
    /// until that loop is left).
    pub fn traffic(&self, s: usize, t: usize, used: Regs) -> Traffic {
        let ms = self.member.get(s).copied().unwrap_or(0);
        let mt = self.member.get(t).copied().unwrap_or(0);
        let store = self.union(mt & !ms);
        let left = self.union(ms & !mt);
        let keep = self.union(mt);
        Traffic {
            store,
            reload: (left.0 & !keep.0 & used.0, left.1 & !keep.1 & used.1),
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
