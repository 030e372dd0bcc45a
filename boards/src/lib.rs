//! Machines: memory maps, which devices sit where, IRQ wiring and boot set-up.
