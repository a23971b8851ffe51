//! What the commands print for a person on standard output and standard error.
//!
//! Rust's `println!` panics when the stream is gone (`config | head` after `head` exited, a
//! closed terminal); the program ignores SIGPIPE, so the write fails with EPIPE instead of ending
//! the process. A command must not panic then, and must still do its work (`check` below level 1
//! still runs the shutdown guard when nobody reads its table), so these writes drop what cannot be
//! written and carry on. Log lines go through `logging` and are protected there.

use std::fmt;
use std::io::Write;

/// Writes to standard output; a failed write (closed pipe) is dropped.
pub fn out(args: fmt::Arguments<'_>) {
    let _ = std::io::stdout().lock().write_fmt(args);
}

/// Writes to standard error; a failed write (closed pipe) is dropped.
pub fn err(args: fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// `println!` that never panics: see the module docs.
#[macro_export]
macro_rules! outln {
    () => { $crate::console::out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::console::out(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` that never panics.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::console::out(format_args!($($arg)*)) };
}

/// `eprintln!` that never panics.
#[macro_export]
macro_rules! errln {
    () => { $crate::console::err(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::console::err(format_args!("{}\n", format_args!($($arg)*))) };
}
