//! Error type shared by all kernels.

use thiserror::Error;

/// Result alias for the kernels.
pub type CoreResult<T> = Result<T, CoreError>;

/// Everything that can go wrong inside a kernel.
///
/// The Python layer validates its input first, so in normal use these are
/// a last line of defence: they turn a would-be panic or a silent NaN into a
/// clear error that names the column and the first offending row.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum CoreError {
    /// Two columns that must describe the same rows have different lengths.
    #[error("column '{column}' has {actual} rows, expected {expected}")]
    LengthMismatch {
        /// Name of the offending column.
        column: String,
        /// Length the kernel expected.
        expected: usize,
        /// Length it received.
        actual: usize,
    },
    /// A row index points past the end of its factor table.
    #[error("column '{column}' row {row}: index {index} is out of range for a table of {table_len} rows")]
    IndexOutOfRange {
        /// Name of the index column.
        column: String,
        /// First offending row.
        row: usize,
        /// The bad index.
        index: u32,
        /// Number of rows in the table.
        table_len: usize,
    },
    /// No value could be found for a factor: the job has no table row for it
    /// and no per-job override.
    #[error("row {row}: no value for factor '{factor}' (no table row and no per-job override)")]
    MissingFactor {
        /// Factor name.
        factor: &'static str,
        /// First offending row.
        row: usize,
    },
    /// A result was NaN or infinite.
    #[error("row {row}: '{column}' is not finite ({value})")]
    NonFinite {
        /// Output column.
        column: &'static str,
        /// First offending row.
        row: usize,
        /// The value produced.
        value: f64,
    },
    /// A parameter passed to a kernel is not valid.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}
