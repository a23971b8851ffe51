//! The server's own egress, and what is left of the package *now*.
//!
//! The bill (`ListFreeResourceUsages`) lags the traffic by a time Huawei does not publish for
//! Flexus L (hourly-settled usage is deducted about an hour after the hour ends). This module owns
//! the live side: [`counter`] reads the kernel's byte counters of the public interface,
//! [`meter`] folds them into totals that survive resets, wraps, restarts and reboots, and
//! [`estimate`] anchors them to the bill (`remaining now ≈ bill − egress since the bill's
//! horizon`) and learns the lag. All three are pure or read files only; [`live`] runs them.
//! For servers guarded through the API, [`cloudeye`] turns the minutes Huawei Cloud Eye reports
//! of their EIP into the same kind of meter, and [`offbox`] reads them and anchors each to its
//! package's bill with the same estimator.
//!
//! It does not decide anything: the engine, the enforcer and the guard take the lower of the bill
//! and the estimate, so the estimate can only make an action come earlier.

pub mod cloudeye;
pub mod counter;
pub mod estimate;
pub mod live;
pub mod meter;
pub mod offbox;

pub use estimate::{Estimate, Estimator, Lag};
pub use meter::Meter;
