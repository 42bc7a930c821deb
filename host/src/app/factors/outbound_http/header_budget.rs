//! A budget of HTTP field bytes per request. A `wasi:http` field set lives in
//! host memory, outside the guest's linear memory and its cap, and wasmtime
//! bounds only each set (128 KiB) and the number of handles (100,000 per
//! store): a guest held to 64 MiB could make the host hold gigabytes of
//! headers. Every call that adds bytes to a field set — a new set, one built
//! from a list, a clone, `set`, `append`, in both WASI versions — is charged
//! here first, and a guest past its budget traps: that request gets a 500,
//! and the host's memory plan counts the budget once per instance.
//!
//! The charge is cumulative (deleting a field gives nothing back): what an
//! instance can make the host hold is at most what it was charged, and an
//! instance lives one request.

use crate::app::state::HostState;
use wasmtime::component::{Linker, Resource};
use wasmtime::StoreContextMut;
use wasmtime_wasi_http::{FieldMap, WasiHttpView};

/// What a field set costs besides its entries: the map and its table entry.
pub const FIELDS_COST: u64 = 256;
/// What one entry costs besides its name and value bytes (wasmtime's own
/// accounting adds the sizes of `HeaderName` and `HeaderValue`).
pub const ENTRY_COST: u64 = 64;

/// Field bytes one instance has made the host hold, and its limit.
#[derive(Debug)]
pub struct HeaderBudget {
    limit: u64,
    spent: u64,
}

/// The trap of a guest past its budget.
#[derive(Debug, Clone, Copy)]
pub struct HeaderBudgetExceeded {
    pub limit: u64,
}

impl std::fmt::Display for HeaderBudgetExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the guest built more than {} bytes of HTTP fields (--guest-header-budget)",
            self.limit
        )
    }
}

impl std::error::Error for HeaderBudgetExceeded {}

impl HeaderBudget {
    pub fn new(limit: u64) -> Self {
        HeaderBudget { limit, spent: 0 }
    }

    /// Charges `bytes`, or refuses (and charges nothing) past the limit.
    pub fn spend(&mut self, bytes: u64) -> Result<(), HeaderBudgetExceeded> {
        let after = self.spent.saturating_add(bytes);
        if after > self.limit {
            return Err(HeaderBudgetExceeded { limit: self.limit });
        }
        self.spent = after;
        Ok(())
    }

    pub fn spent(&self) -> u64 {
        self.spent
    }
}

fn entry_cost(name: usize, value: usize) -> u64 {
    (name as u64).saturating_add(value as u64).saturating_add(ENTRY_COST)
}

/// What a copy of `map` costs.
fn map_cost(map: &http::HeaderMap) -> u64 {
    map.iter()
        .map(|(name, value)| entry_cost(name.as_str().len(), value.len()))
        .fold(FIELDS_COST, u64::saturating_add)
}

fn charge(store: &mut StoreContextMut<'_, HostState>, bytes: u64) -> wasmtime::Result<()> {
    store
        .data_mut()
        .header_budget
        .spend(bytes)
        .map_err(wasmtime::Error::new)
}

/// The cost of cloning the field set `fields`.
fn clone_cost(store: &mut StoreContextMut<'_, HostState>, fields: &Resource<FieldMap>) -> wasmtime::Result<u64> {
    let state = store.data_mut();
    Ok(map_cost(state.http().table.get(fields)?))
}

/// Puts the budget in front of the field-building functions of
/// `wasi:http/types`, 0.2 and 0.3, which `wasmtime_wasi_http` linked
/// already: each charges, then calls wasmtime's own implementation.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    linker.allow_shadowing(true);
    let result = add_p2(linker).and_then(|()| add_p3(linker));
    linker.allow_shadowing(false);
    result
}

/// The five field-building functions of one version's `fields` resource,
/// each charging before it calls wasmtime's `HostFields` implementation;
/// `$answer` turns that implementation's header result into the WIT result.
macro_rules! charge_before {
    ($types:expr, $host:path, $answer:expr) => {{
        use $host as HostFields;
        let types = &mut $types;
        types.func_wrap(
            "[constructor]fields",
            |mut store: StoreContextMut<'_, HostState>, (): ()| {
                charge(&mut store, FIELDS_COST)?;
                Ok((HostFields::new(&mut store.data_mut().http())?,))
            },
        )?;
        types.func_wrap(
            "[static]fields.from-list",
            |mut store: StoreContextMut<'_, HostState>, (entries,): (Vec<(String, Vec<u8>)>,)| {
                let cost = entries
                    .iter()
                    .map(|(name, value)| entry_cost(name.len(), value.len()))
                    .fold(FIELDS_COST, u64::saturating_add);
                charge(&mut store, cost)?;
                $answer(HostFields::from_list(&mut store.data_mut().http(), entries))
            },
        )?;
        types.func_wrap(
            "[method]fields.set",
            |mut store: StoreContextMut<'_, HostState>,
             (fields, name, values): (Resource<FieldMap>, String, Vec<Vec<u8>>)| {
                let cost = values
                    .iter()
                    .map(|value| entry_cost(name.len(), value.len()))
                    .fold(0, u64::saturating_add);
                charge(&mut store, cost)?;
                $answer(HostFields::set(&mut store.data_mut().http(), fields, name, values))
            },
        )?;
        types.func_wrap(
            "[method]fields.append",
            |mut store: StoreContextMut<'_, HostState>,
             (fields, name, value): (Resource<FieldMap>, String, Vec<u8>)| {
                charge(&mut store, entry_cost(name.len(), value.len()))?;
                $answer(HostFields::append(&mut store.data_mut().http(), fields, name, value))
            },
        )?;
        types.func_wrap(
            "[method]fields.clone",
            |mut store: StoreContextMut<'_, HostState>, (fields,): (Resource<FieldMap>,)| {
                let cost = clone_cost(&mut store, &fields)?;
                charge(&mut store, cost)?;
                Ok((HostFields::clone(&mut store.data_mut().http(), fields)?,))
            },
        )?;
    }};
}

fn add_p2(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    use wasmtime_wasi_http::p2::bindings::http::types::HeaderError;
    // What wasmtime's generated glue does with a header error: the error
    // code goes to the guest, anything else traps.
    fn answer<T>(result: wasmtime_wasi_http::p2::HeaderResult<T>) -> wasmtime::Result<(Result<T, HeaderError>,)> {
        match result {
            Ok(value) => Ok((Ok(value),)),
            Err(error) => Ok((Err(error.downcast()?),)),
        }
    }
    charge_before!(
        linker.instance("wasi:http/types@0.2.12")?,
        wasmtime_wasi_http::p2::bindings::http::types::HostFields,
        answer
    );
    Ok(())
}

fn add_p3(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    use wasmtime_wasi_http::p3::bindings::http::types::HeaderError;
    fn answer<T>(
        result: Result<T, wasmtime_wasi::TrappableError<HeaderError>>,
    ) -> wasmtime::Result<(Result<T, HeaderError>,)> {
        match result {
            Ok(value) => Ok((Ok(value),)),
            Err(error) => Ok((Err(error.downcast()?),)),
        }
    }
    charge_before!(
        linker.instance("wasi:http/types@0.3.0")?,
        wasmtime_wasi_http::p3::bindings::http::types::HostFields,
        answer
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_refuses_past_its_limit_and_charges_nothing_then() {
        let mut budget = HeaderBudget::new(1000);
        assert!(budget.spend(600).is_ok());
        let refused = budget.spend(401).unwrap_err();
        assert_eq!(refused.limit, 1000);
        assert_eq!(budget.spent(), 600);
        assert!(budget.spend(400).is_ok());
        assert!(budget.spend(1).is_err());
        assert!(budget.spend(u64::MAX).is_err(), "no wrap");
        assert!(refused.to_string().contains("--guest-header-budget"));
    }

    #[test]
    fn a_copy_costs_its_entries_and_the_set() {
        let mut map = http::HeaderMap::new();
        assert_eq!(map_cost(&map), FIELDS_COST);
        map.append("x-a", http::HeaderValue::from_static("12345"));
        map.append("x-a", http::HeaderValue::from_static("1"));
        assert_eq!(
            map_cost(&map),
            FIELDS_COST + (3 + 5 + ENTRY_COST) + (3 + 1 + ENTRY_COST)
        );
    }
}
