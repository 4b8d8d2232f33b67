//! `Tables`: the factor tables, converted once per `Factors` and reused.

use fleetcarbon_core::{Factor, FactorTables, Table, N_FACTORS};
use numpy::{PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{as_slice, factor_arrays};
use crate::errors::{argument_error, core_error};

/// The factor tables: one value per row for every factor, and the links
/// between tables (each datacenter's region, each region's default
/// datacenter, the datacenter of jobs that name neither).
#[pyclass(frozen, module = "fleetcarbon._core")]
pub struct Tables {
    pub inner: FactorTables,
}

#[pymethods]
impl Tables {
    #[new]
    #[pyo3(signature = (*, values, datacenter_region, region_default_datacenter, default_datacenter))]
    fn new(
        py: Python<'_>,
        values: &Bound<'_, PyDict>,
        datacenter_region: PyReadonlyArray1<'_, u32>,
        region_default_datacenter: PyReadonlyArray1<'_, u32>,
        default_datacenter: u32,
    ) -> PyResult<Self> {
        let mut columns: [Vec<f64>; N_FACTORS] = Default::default();
        let mut seen = [false; N_FACTORS];
        for (factor, array) in factor_arrays::<f64>("values", values)? {
            let array = array.bind(py).readonly();
            columns[factor as usize] = as_slice(factor.name(), &array)?.to_vec();
            seen[factor as usize] = true;
        }
        if let Some(k) = seen.iter().position(|s| !s) {
            return Err(argument_error(format!(
                "values lacks factor '{}'",
                Factor::ALL[k].name()
            )));
        }
        let inner = FactorTables::new(
            columns,
            as_slice("datacenter_region", &datacenter_region)?.to_vec(),
            as_slice("region_default_datacenter", &region_default_datacenter)?.to_vec(),
            default_datacenter,
        )
        .map_err(|e| core_error(py, e))?;
        Ok(Tables { inner })
    }

    /// Number of rows of `table` ("accelerators", "cpus", "regions", "datacenters", "defaults").
    fn rows(&self, table: &str) -> PyResult<usize> {
        Table::ALL
            .iter()
            .find(|t| t.name() == table)
            .map(|t| self.inner.len(*t))
            .ok_or_else(|| argument_error(format!("no factor table named '{table}'")))
    }

    fn __repr__(&self) -> String {
        let rows: Vec<String> = Table::ALL
            .iter()
            .map(|t| format!("{}={}", t.name(), self.inner.len(*t)))
            .collect();
        format!("Tables({})", rows.join(", "))
    }
}
