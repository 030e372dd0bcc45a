//! `vmm`: a virtual machine monitor for the G233 RISC-V board (TCG or KVM) and x86_64 under KVM.
//!
//! `main` parses the command line, dispatches to `run`, `boards` or `accels`, and turns the
//! outcome into the documented exit status (see `vmm --help`).

mod accel;
mod cli;
mod error;
mod g233;
mod image;
mod memory;
mod microvm;
mod run;
mod serial;
mod stop;

use clap::Parser;

use cli::{Cli, Command};
use error::{EXIT_ERROR, EXIT_SIGNAL_BASE, EXIT_USAGE};

fn main() {
    let code = real_main();
    serial::restore_terminal();
    std::process::exit(code);
}

/// A second stop signal: give up waiting for the guest.
fn exit_now(sig: i32) {
    serial::restore_terminal();
    eprintln!("vmm: signal {sig} again; exiting without waiting for the guest");
    std::process::exit(EXIT_SIGNAL_BASE + sig);
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let env = env_logger::Env::default().default_filter_or(level);
    let _ = env_logger::Builder::from_env(env)
        .format_timestamp(None)
        .format_target(false)
        .try_init();
}

fn real_main() -> i32 {
    // Before any thread exists, so that every thread inherits the mask (see `stop`).
    if let Err(e) = stop::block_signals() {
        eprintln!("vmm: error: cannot block signals: {e}; this is a bug, please report it");
        return EXIT_ERROR;
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    init_logging(cli.verbose);
    match cli.command {
        Some(Command::Boards) => {
            let width = boards::list()
                .iter()
                .map(|b| b.name.len())
                .max()
                .unwrap_or(0);
            for b in boards::list() {
                println!("{:width$}  {}", b.name, b.description);
            }
            0
        }
        Some(Command::Accels) => {
            print!("{}", accel::report());
            0
        }
        Some(Command::Run(args)) => run_guest(&args, cli.verbose),
        None => match Cli::try_parse_from(["vmm", "run"]).map(|c| c.command) {
            Ok(Some(Command::Run(args))) => run_guest(&args, cli.verbose),
            _ => {
                eprintln!("vmm: error: the default run options do not parse; this is a bug");
                EXIT_ERROR
            }
        },
    }
}

fn run_guest(args: &cli::RunArgs, verbose: u8) -> i32 {
    let stop = stop::StopState::new();
    if let Err(e) = stop::spawn_signal_thread(stop.clone(), exit_now) {
        eprintln!("vmm: error: cannot start the signal thread: {e}; check the process limits");
        return EXIT_ERROR;
    }
    match run::run(args, verbose, stop.clone()) {
        Ok(code) => code,
        Err(e) => {
            // A signal during set-up (e.g. a long --mem-prealloc) is a stop, not an error.
            if let Some(r) = stop.reason() {
                return r.exit_code();
            }
            eprintln!("vmm: error: {}", e.one_line());
            e.exit_code()
        }
    }
}
