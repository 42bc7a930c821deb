//! The variables factor: a component's variables (`[component.X.variables]`
//! in the manifest, their templates filled in from `[variables]`), read
//! through every interface a component may use for them: Spin 2's
//! `fermyon:spin/variables`, Spin 3's `spin:variables/variables`, the draft
//! of `wasi:config/store` that Spin's SDKs use, and
//! `wasi:config/store@0.2.0-rc.1` (wasmtime-wasi-config's).
//! They answer alike: a name Spin would not accept is invalid, one the
//! manifest does not give the component is undefined.

use crate::app::factors::{Configure, Factor, Prepare};
use crate::app::state::HostState;
use std::collections::BTreeMap;
use std::sync::Arc;
use wasmtime::component::{Accessor, HasData, Linker};
use wasmtime_wasi_config::{WasiConfig, WasiConfigVariables};

mod generated {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "doc-proxy:host/spin-variables",
    });
}

use generated::fermyon::spin::variables as spin2;
use generated::spin::variables::variables as spin3;
use generated::wasi::config::store as config_draft;

/// One component's variables, shared by its instances.
pub struct Variables {
    values: BTreeMap<String, String>,
    /// The same values in wasmtime-wasi-config's form.
    rc1: WasiConfigVariables,
}

/// Why a variable could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    InvalidName(String),
    Undefined(String),
}

impl FromIterator<(String, String)> for Variables {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        let values: BTreeMap<String, String> = pairs.into_iter().collect();
        let rc1 = values.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Variables { values, rc1 }
    }
}

impl Variables {
    /// The value of `name`, by Spin's rules: the name must be a valid
    /// variable name, and the manifest must give it to the component.
    pub fn get(&self, name: &str) -> Result<&str, Lookup> {
        crate::app::manifest::check_variable_name(name).map_err(Lookup::InvalidName)?;
        self.values
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| Lookup::Undefined(format!("no variable {name:?} is given to this component")))
    }

    fn spin2(&self, name: &str) -> Result<String, spin2::Error> {
        self.get(name).map(str::to_owned).map_err(|e| match e {
            Lookup::InvalidName(why) => spin2::Error::InvalidName(why),
            Lookup::Undefined(why) => spin2::Error::Undefined(why),
        })
    }
}

/// The linker's view of a store's variables.
struct HasVariables;

impl HasData for HasVariables {
    type Data<'a> = &'a Variables;
}

impl spin2::Host for &Variables {
    fn get(&mut self, name: String) -> Result<String, spin2::Error> {
        self.spin2(&name)
    }
}

impl spin3::Host for &Variables {}

impl<T> spin3::HostWithStore<T> for HasVariables {
    async fn get(accessor: &Accessor<T, Self>, name: String) -> Result<String, spin3::Error> {
        accessor.with(|mut access| {
            access.get().get(&name).map(str::to_owned).map_err(|e| match e {
                Lookup::InvalidName(why) => spin3::Error::InvalidName(why),
                Lookup::Undefined(why) => spin3::Error::Undefined(why),
            })
        })
    }
}

impl config_draft::Host for &Variables {
    /// As Spin answers it: an undefined or invalid name is `none`, not an error.
    fn get(&mut self, key: String) -> Result<Option<String>, config_draft::Error> {
        Ok(Variables::get(self, &key).ok().map(str::to_owned))
    }

    fn get_all(&mut self) -> Result<Vec<(String, String)>, config_draft::Error> {
        Ok(self.values.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }
}

/// A store whose data holds its component's variables.
pub trait VariablesView {
    fn variables(&mut self) -> &Variables;
}

/// Links the four interfaces over each store's [`VariablesView`].
pub fn add_to_linker<T: VariablesView + Send + 'static>(linker: &mut Linker<T>) -> anyhow::Result<()> {
    spin2::add_to_linker::<T, HasVariables>(linker, T::variables)?;
    spin3::add_to_linker::<T, HasVariables>(linker, T::variables)?;
    config_draft::add_to_linker::<T, HasVariables>(linker, T::variables)?;
    wasmtime_wasi_config::add_to_linker(linker, |state: &mut T| WasiConfig::from(&state.variables().rc1))?;
    Ok(())
}

/// Shared by a component's stores.
pub type SharedVariables = Arc<Variables>;

pub struct VariablesFactor;

impl Factor for VariablesFactor {
    type ComponentState = SharedVariables;
    type InstanceState = SharedVariables;

    fn init(&self, linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        add_to_linker(linker)
    }

    fn configure(&self, ctx: &Configure<'_>, _previous: Option<&SharedVariables>) -> anyhow::Result<SharedVariables> {
        Ok(Arc::new(ctx.spec.variables.iter().cloned().collect()))
    }

    fn prepare(&self, state: &SharedVariables, _ctx: &Prepare<'_>) -> SharedVariables {
        state.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variables() -> Variables {
        [("variable".to_string(), "value".to_string())].into_iter().collect()
    }

    #[test]
    fn names_are_checked_then_looked_up_as_spin_does() {
        let vars = variables();
        assert_eq!(vars.get("variable"), Ok("value"));
        assert!(matches!(vars.get("non_existent"), Err(Lookup::Undefined(_))));
        for invalid in ["invalid-name", "invalid!name", "4invalidname", "Upper", ""] {
            assert!(matches!(vars.get(invalid), Err(Lookup::InvalidName(_))), "{invalid}");
        }
    }

    #[test]
    fn every_interface_answers_alike() {
        let mut vars = &variables();
        assert!(matches!(spin2::Host::get(&mut vars, "variable".into()), Ok(v) if v == "value"));
        assert!(matches!(
            spin2::Host::get(&mut vars, "nope".into()),
            Err(spin2::Error::Undefined(_))
        ));
        assert!(matches!(
            spin2::Host::get(&mut vars, "in-valid".into()),
            Err(spin2::Error::InvalidName(_))
        ));
        assert!(matches!(config_draft::Host::get(&mut vars, "variable".into()), Ok(Some(v)) if v == "value"));
        assert!(matches!(config_draft::Host::get(&mut vars, "nope".into()), Ok(None)));
        assert!(matches!(
            config_draft::Host::get(&mut vars, "in-valid".into()),
            Ok(None)
        ));
        assert!(matches!(
            config_draft::Host::get_all(&mut vars),
            Ok(all) if all == vec![("variable".to_string(), "value".to_string())]
        ));
    }
}
