//! Numeric kernels of fleetcarbon.
//!
//! This crate has no Python dependency: it takes contiguous numeric columns
//! (slices) and row indices into factor tables, and returns owned columns.
//! The Python layer does all relational work (joining string keys to factor
//! rows, validation, grouping labels) before calling in here.
//!
//! The model is documented in `docs/model.md` at the repository root and
//! implemented once, in [`model`].

pub mod checks;
pub mod control;
pub mod copula;
pub mod dist;
pub mod error;
pub mod estimate;
pub mod factors;
pub mod grid_series;
pub mod model;
pub mod quantiles;
pub mod rng;
pub mod sampling;
pub mod simulate;
pub mod special;
pub mod statistics;
pub mod summation;

pub use checks::{scan, Domain, ScanCounts};
pub use control::Control;
pub use error::{CoreError, CoreResult};
pub use estimate::{estimate, modelled_it_energy, Estimates};
pub use factors::{Factor, FactorTables, Table, MISSING, N_FACTORS};
pub use model::{JobColumns, PowerBasis, RowIndex, OUTPUT_COLUMNS};
pub use summation::{grouped_sums, NeumaierSum};
