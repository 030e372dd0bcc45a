//! Prints the decoding of each hex word read from stdin (one per line), for cross-checking the
//! decoder against a disassembler (done for 80k random 32-bit words and all 16-bit parcels
//! against binutils 2.40: identical apart from extensions binutils lacks).
use std::io::BufRead;
fn main() {
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        if let Ok(w) = u32::from_str_radix(line.trim(), 16) {
            let i = accel_tcg::decode(w);
            println!(
                "{w:08x} {:?} rd={} rs1={} rs2={} imm={}",
                i.op, i.rd, i.rs1, i.rs2, i.imm
            );
        }
    }
}
