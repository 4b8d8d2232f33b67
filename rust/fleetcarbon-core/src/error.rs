//! Error type shared by all kernels.

use thiserror::Error;

/// Result alias for the kernels.
pub type CoreResult<T> = Result<T, CoreError>;

/// Everything that can go wrong inside a kernel.
///
/// The Python layer validates its input first, so in normal use most of these
/// are a last line of defence: they turn a would-be panic or a silent NaN into
/// a clear error. Every variant about rows keeps the first offending row (its
/// position in the arrays the kernel received), the column, and the number of
/// offending rows, so that the caller can name the record.
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
    #[error(
        "column '{column}': index {index} is out of range for a table of {table_len} rows \
         in {count} row(s); first row {row}"
    )]
    IndexOutOfRange {
        /// Name of the index column.
        column: String,
        /// First offending row.
        row: usize,
        /// The bad index.
        index: u32,
        /// Number of rows in the table.
        table_len: usize,
        /// Number of offending rows.
        count: usize,
    },
    /// No value could be found for a factor: the job has no table row for it
    /// and no per-job override.
    #[error(
        "no value for factor '{factor}' (no table row and no per-job override) in {count} \
         row(s); first row {row}"
    )]
    MissingFactor {
        /// Factor name.
        factor: &'static str,
        /// First offending row.
        row: usize,
        /// Number of offending rows.
        count: usize,
    },
    /// A result was NaN or infinite.
    #[error("'{column}' is not finite ({value}) in {count} row(s); first row {row}")]
    NonFinite {
        /// Output column of the first offending row.
        column: &'static str,
        /// First offending row.
        row: usize,
        /// The value produced there.
        value: f64,
        /// Number of rows with any non-finite result.
        count: usize,
    },
    /// A parameter passed to a kernel is not valid.
    #[error("invalid argument '{parameter}': {message}")]
    InvalidArgument {
        /// The parameter.
        parameter: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A distribution's parameters are not valid.
    #[error("{0}")]
    Distribution(String),
    /// Correlations between factors that are out of range or cannot hold together.
    #[error("{0}")]
    Correlation(String),
    /// The caller asked the run to stop (through [`crate::Control::cancel`]).
    #[error("cancelled")]
    Cancelled,
}

impl CoreError {
    /// Shorthand for [`CoreError::InvalidArgument`].
    pub fn invalid(parameter: &'static str, message: impl Into<String>) -> Self {
        CoreError::InvalidArgument {
            parameter,
            message: message.into(),
        }
    }

    /// The first offending row, for the variants about rows.
    pub fn row(&self) -> Option<usize> {
        match self {
            CoreError::IndexOutOfRange { row, .. }
            | CoreError::MissingFactor { row, .. }
            | CoreError::NonFinite { row, .. } => Some(*row),
            _ => None,
        }
    }

    /// The column (or factor, or parameter) concerned, where there is one.
    pub fn column(&self) -> Option<&str> {
        match self {
            CoreError::LengthMismatch { column, .. }
            | CoreError::IndexOutOfRange { column, .. } => Some(column),
            CoreError::MissingFactor { factor, .. } => Some(factor),
            CoreError::NonFinite { column, .. } => Some(column),
            CoreError::InvalidArgument { parameter, .. } => Some(parameter),
            _ => None,
        }
    }

    /// The number of offending rows, for the variants about rows.
    pub fn count(&self) -> Option<usize> {
        match self {
            CoreError::IndexOutOfRange { count, .. }
            | CoreError::MissingFactor { count, .. }
            | CoreError::NonFinite { count, .. } => Some(*count),
            _ => None,
        }
    }

    /// A stable name of the variant, for callers that dispatch on it.
    pub fn kind(&self) -> &'static str {
        match self {
            CoreError::LengthMismatch { .. } => "length_mismatch",
            CoreError::IndexOutOfRange { .. } => "index_out_of_range",
            CoreError::MissingFactor { .. } => "missing_factor",
            CoreError::NonFinite { .. } => "non_finite",
            CoreError::InvalidArgument { .. } => "invalid_argument",
            CoreError::Distribution(_) => "distribution",
            CoreError::Correlation(_) => "correlation",
            CoreError::Cancelled => "cancelled",
        }
    }
}

/// The first error of several (in row order) with the number of rows that failed.
///
/// Kernels that evaluate rows independently keep going after a failing row,
/// so that the error can report how many rows fail, not just the first.
#[derive(Debug, Default)]
pub(crate) struct RowErrors {
    first: Option<CoreError>,
    count: usize,
}

impl RowErrors {
    /// Record a failing row (rows must be recorded in increasing order per instance).
    pub(crate) fn record(&mut self, e: CoreError) {
        if self.first.is_none() {
            self.first = Some(e);
        }
        self.count += 1;
    }

    /// Merge a later block's errors.
    pub(crate) fn merge(&mut self, later: RowErrors) {
        if self.first.is_none() {
            self.first = later.first;
        }
        self.count += later.count;
    }

    /// `Ok` when no row failed, else the first error carrying the total count.
    pub(crate) fn into_result(self) -> CoreResult<()> {
        match self.first {
            None => Ok(()),
            Some(e) => Err(with_count(e, self.count)),
        }
    }
}

fn with_count(e: CoreError, n: usize) -> CoreError {
    match e {
        CoreError::NonFinite {
            column, row, value, ..
        } => CoreError::NonFinite {
            column,
            row,
            value,
            count: n,
        },
        CoreError::MissingFactor { factor, row, .. } => CoreError::MissingFactor {
            factor,
            row,
            count: n,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_errors_keep_the_first_and_count_all() {
        let mut a = RowErrors::default();
        let mut b = RowErrors::default();
        let bad = |row| CoreError::NonFinite {
            column: "total_kgco2e",
            row,
            value: f64::INFINITY,
            count: 1,
        };
        b.record(bad(7));
        b.record(bad(9));
        a.merge(b);
        let mut c = RowErrors::default();
        c.record(bad(12));
        a.merge(c);
        let e = a.into_result().err();
        assert_eq!(e.as_ref().and_then(CoreError::row), Some(7));
        assert_eq!(e.as_ref().and_then(CoreError::count), Some(3));
        assert_eq!(e.as_ref().map(CoreError::kind), Some("non_finite"));
        assert!(RowErrors::default().into_result().is_ok());
    }
}
