//! Spin's services this host does not serve yet (AI models, and any later
//! major version of a service; Redis, MQTT, MySQL and PostgreSQL 2.0.0,
//! 3.0.0 and 4.0.0 to 4.2.0 are served by `factors::outbound_redis`,
//! `factors::outbound_mqtt`, `factors::outbound_mysql` and
//! `factors::outbound_pg`), linked anyway and denied at call time,
//! exactly as Spin answers a component whose manifest does not grant them:
//! SDKs (componentize-py's above all) import every interface of Spin's
//! world whether the app uses it or not, and Spin links them all.
//! `wasi:otel` (Spin 4's telemetry, linked only with its experimental flag)
//! is linked as a no-op. `wasi:sockets` is served (`factors::sockets`).
//!
//! The definitions are made from the component's own import types (every
//! version of every interface, with no bindings to keep in step): each
//! function answers the error Spin gives (`connection-failed("address …
//! is not permitted")` for MQTT and PostgreSQL, `invalid-input(…)`
//! for a model), and each resource is a type
//! of its own that no call ever makes. A component whose imports the host
//! cannot satisfy at all is refused at load, naming them.

use crate::app::state::HostState;
use wasmtime::component::types::{ComponentFunc, ComponentItem, Type};
use wasmtime::component::{Component, Linker, LinkerInstance, ResourceType, Val};
use wasmtime::Engine;

/// A service Spin links that this host denies, by import name prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Mqtt,
    Postgres,
    Llm,
    /// Telemetry: accepted and dropped.
    Otel,
}

const SERVICES: &[(&str, Service)] = &[
    ("fermyon:spin/mqtt@", Service::Mqtt),
    ("spin:mqtt/mqtt@", Service::Mqtt),
    ("fermyon:spin/postgres@", Service::Postgres),
    ("spin:postgres/postgres@", Service::Postgres),
    ("fermyon:spin/llm@", Service::Llm),
    ("wasi:otel/", Service::Otel),
];

/// The interfaces of those services that factors serve (their names are
/// defined in the linker already).
const SERVED: &[&str] = &[
    "spin:postgres/postgres@4.0.0",
    "spin:postgres/postgres@3.0.0",
    "fermyon:spin/postgres@2.0.0",
    "spin:postgres/postgres@4.1.0",
    "spin:postgres/postgres@4.2.0",
    "fermyon:spin/mqtt@2.0.0",
    "spin:mqtt/mqtt@3.0.0",
];

fn service_of(import: &str) -> Option<Service> {
    if SERVED.contains(&import) {
        return None;
    }
    SERVICES
        .iter()
        .find(|(prefix, _)| import.starts_with(prefix))
        .map(|(_, service)| *service)
}

/// The imports of `component` this host answers by denying, by name.
pub fn denied_imports(engine: &Engine, component: &Component) -> Vec<String> {
    component
        .component_type()
        .imports(engine)
        .filter(|(name, _)| service_of(name).is_some_and(|s| s != Service::Otel))
        .map(|(name, _)| name.to_string())
        .collect()
}

/// What a component granted every scheme (`*://…`) would be granted that
/// this host does not serve: the services it imports among MQTT and
/// PostgreSQL's other versions. Such a component is refused at
/// load, naming them (its calls would be denied where Spin would serve them).
pub fn granted_but_unserved(engine: &Engine, component: &Component, any_scheme: &[String]) -> Option<String> {
    if any_scheme.is_empty() {
        return None;
    }
    let mut services: Vec<&str> = component
        .component_type()
        .imports(engine)
        .filter_map(|(name, _)| match service_of(name) {
            Some(Service::Mqtt) => Some("outbound MQTT"),
            Some(Service::Postgres) => Some("outbound PostgreSQL"),
            _ => None,
        })
        .collect();
    services.sort_unstable();
    services.dedup();
    (!services.is_empty()).then(|| {
        format!(
            "allowed_outbound_hosts {} grants every scheme, and the component imports {}, which this host does \
             not serve (grant http://, https://, tcp://, udp://, redis://, postgres://, mysql:// or mqtt:// by name, or serve the app with Spin)",
            any_scheme.join(", "),
            services.join(", ")
        )
    })
}

/// `linker` with every denied service `component` imports defined (a copy,
/// when there is any: other components link against the original).
pub fn linker_for(
    engine: &Engine,
    linker: &Linker<HostState>,
    component: &Component,
) -> anyhow::Result<Option<Linker<HostState>>> {
    let imports: Vec<(String, ComponentItem)> = component
        .component_type()
        .imports(engine)
        .filter(|(name, _)| service_of(name).is_some())
        .map(|(name, item)| (name.to_string(), item.ty))
        .collect();
    if imports.is_empty() {
        return Ok(None);
    }
    let mut linker = linker.clone();
    let mut resources = 0u32;
    for (name, item) in imports {
        let service = service_of(&name).expect("filtered above");
        let ComponentItem::ComponentInstance(instance) = item else {
            anyhow::bail!("{name}: a Spin interface is an instance import");
        };
        let mut defining = linker.instance(&name)?;
        for (export, item) in instance.exports(engine) {
            match item.ty {
                ComponentItem::Resource(_) => {
                    // A type of its own per resource: no call ever makes one.
                    resources += 1;
                    defining.resource(export, ResourceType::host_dynamic(resources), |_, _| Ok(()))?;
                }
                ComponentItem::ComponentFunc(func) => define(&mut defining, export, func, service)?,
                // Types need no definition.
                _ => {}
            }
        }
    }
    Ok(Some(linker))
}

fn define(
    instance: &mut LinkerInstance<'_, HostState>,
    name: &str,
    func: ComponentFunc,
    service: Service,
) -> anyhow::Result<()> {
    let label = name.to_string();
    if func.async_() {
        instance.func_new_concurrent(name, move |_, ty, params, results| {
            let answered = answer(service, &label, &ty, params, results);
            Box::pin(async move { answered })
        })?;
    } else {
        instance.func_new(name, move |_, ty, params, results| {
            answer(service, &label, &ty, params, results)
        })?;
    }
    Ok(())
}

/// Fills `results` with what Spin answers a component not granted `service`.
fn answer(
    service: Service,
    name: &str,
    ty: &ComponentFunc,
    params: &[Val],
    results: &mut [Val],
) -> wasmtime::Result<()> {
    let address = params.iter().find_map(|p| match p {
        // As Spin words it: PostgreSQL's as `postgres://host[:port]`, the
        // others' as the component gave it.
        Val::String(s) if service == Service::Postgres => Some(redact(s)),
        Val::String(s) => Some(s.clone()),
        _ => None,
    });
    for (slot, result_ty) in results.iter_mut().zip(ty.results()) {
        *slot = match service {
            Service::Otel => default_val(&result_ty).map_err(wasmtime::Error::msg)?,
            _ => match &result_ty {
                Type::Result(result) => match result.err() {
                    Some(error) => Val::Result(Err(Some(Box::new(denial(service, &error, address.as_deref())?)))),
                    None => Val::Result(Err(None)),
                },
                // Only an open would make a resource, and open is denied.
                _ => wasmtime::bail!("{name}: denied (this host does not serve it to components)"),
            },
        };
    }
    Ok(())
}

/// The error value Spin gives for `service`, of the interface's type.
fn denial(service: Service, error: &Type, address: Option<&str>) -> wasmtime::Result<Val> {
    let Type::Variant(variant) = error else {
        wasmtime::bail!("a Spin service's error is a variant");
    };
    let address = address.unwrap_or("");
    let (case, message) = match service {
        Service::Mqtt | Service::Postgres => ("connection-failed", format!("address {address} is not permitted")),
        Service::Llm => (
            "invalid-input",
            format!(
                "The component does not have access to use '{address}'. To give the component access, add \
                 '{address}' to the 'ai_models' key for the component in your spin.toml manifest"
            ),
        ),
        Service::Otel => ("other", String::new()),
    };
    let found = variant
        .cases()
        .find(|c| c.name == case)
        .or_else(|| variant.cases().find(|c| c.name == "other"));
    let Some(found) = found else {
        wasmtime::bail!("denied, and the interface's error has no {case} case");
    };
    let payload = match found.ty {
        Some(Type::String) => Some(Box::new(Val::String(message))),
        Some(other) => Some(Box::new(default_val(&other).map_err(wasmtime::Error::msg)?)),
        None => None,
    };
    Ok(Val::Variant(found.name.to_string(), payload))
}

/// An address as it may be shown: without credentials, path or query.
pub(crate) fn redact(address: &str) -> String {
    let Some((scheme, rest)) = address.split_once("://") else {
        return address.split(['@', '/', '?']).next().unwrap_or_default().to_string();
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}")
}

/// The plainest value of `ty`: zero, empty, none, the first case, `ok`.
fn default_val(ty: &Type) -> Result<Val, String> {
    Ok(match ty {
        Type::Bool => Val::Bool(false),
        Type::S8 => Val::S8(0),
        Type::U8 => Val::U8(0),
        Type::S16 => Val::S16(0),
        Type::U16 => Val::U16(0),
        Type::S32 => Val::S32(0),
        Type::U32 => Val::U32(0),
        Type::S64 => Val::S64(0),
        Type::U64 => Val::U64(0),
        Type::Float32 => Val::Float32(0.0),
        Type::Float64 => Val::Float64(0.0),
        Type::Char => Val::Char('\0'),
        Type::String => Val::String(String::new()),
        Type::List(_) => Val::List(Vec::new()),
        Type::Record(record) => Val::Record(
            record
                .fields()
                .map(|field| Ok((field.name.to_string(), default_val(&field.ty)?)))
                .collect::<Result<_, String>>()?,
        ),
        Type::Tuple(tuple) => Val::Tuple(tuple.types().map(|t| default_val(&t)).collect::<Result<_, _>>()?),
        Type::Variant(variant) => {
            let first = variant.cases().next().ok_or("an empty variant")?;
            let payload = first.ty.map(|t| default_val(&t).map(Box::new)).transpose()?;
            Val::Variant(first.name.to_string(), payload)
        }
        Type::Enum(e) => Val::Enum(e.names().next().ok_or("an empty enum")?.to_string()),
        Type::Option(_) => Val::Option(None),
        Type::Result(result) => Val::Result(Ok(result.ok().map(|t| default_val(&t).map(Box::new)).transpose()?)),
        Type::Flags(_) => Val::Flags(Vec::new()),
        other => return Err(format!("no plain value of {other:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_are_known_by_their_interfaces() {
        assert_eq!(service_of("spin:postgres/postgres@5.0.0"), Some(Service::Postgres));
        assert_eq!(service_of("spin:mqtt/mqtt@9.0.0"), Some(Service::Mqtt));
        assert_eq!(service_of("fermyon:spin/llm@2.0.0"), Some(Service::Llm));
        assert_eq!(service_of("wasi:otel/tracing@0.2.0-rc.2"), Some(Service::Otel));
        for served in [
            "fermyon:spin/key-value@2.0.0",
            "spin:sqlite/sqlite@3.0.0",
            "wasi:sockets/tcp@0.2.0",
            "fermyon:spin/variables@2.0.0",
            "fermyon:spin/redis@2.0.0",
            "spin:redis/redis@3.0.0",
            "spin:postgres/postgres@4.0.0",
            "spin:postgres/postgres@3.0.0",
            "fermyon:spin/postgres@2.0.0",
            "spin:postgres/postgres@4.1.0",
            "spin:postgres/postgres@4.2.0",
            "fermyon:spin/mqtt@2.0.0",
            "spin:mqtt/mqtt@3.0.0",
            "fermyon:spin/mysql@2.0.0",
            "fermyon:spin/rdbms-types@2.0.0",
            "spin:mysql/mysql@3.0.0",
        ] {
            assert_eq!(service_of(served), None, "{served}");
        }
    }

    #[test]
    fn addresses_lose_their_credentials() {
        assert_eq!(
            redact("postgres://user:secret@db:5432/app?sslmode=x"),
            "postgres://db:5432"
        );
        assert_eq!(redact("mqtt://u:p@broker:1883"), "mqtt://broker:1883");
        assert_eq!(redact("llama2-chat"), "llama2-chat");
    }

    /// A component that imports a version of Spin's MQTT interface this
    /// host does not serve links, and each call is answered with Spin's
    /// error for a component not granted the address.
    #[tokio::test]
    async fn denied_services_answer_as_spin_does() {
        let engine = crate::app::engine::new_engine(
            2,
            1 << 20,
            crate::app::engine::Tuning::default(),
            crate::app::engine::CodeTarget::Native,
        )
        .unwrap();
        let wat = r#"(component
            (import "spin:mqtt/mqtt@9.0.0" (instance $mqtt
                (type $error (variant (case "invalid-address") (case "too-many-connections")
                    (case "connection-failed" string) (case "other" string)))
                (export "error" (type $e (eq $error)))
                (export "connection" (type $c (sub resource)))
                (export "[static]connection.open" (func (param "address" string) (param "username" string)
                    (param "password" string) (param "keep-alive-interval-in-secs" u64)
                    (result (result (own $c) (error $e)))))
            ))
        )"#;
        let component = Component::new(&engine, wat::parse_str(wat).unwrap()).unwrap();
        let base = Linker::<HostState>::new(&engine);
        assert_eq!(denied_imports(&engine, &component), ["spin:mqtt/mqtt@9.0.0"]);
        let linker = linker_for(&engine, &base, &component)
            .unwrap()
            .expect("a copy with the service");
        linker.instantiate_pre(&component).expect("every import defined");
        // The answer itself, from the function's own type.
        let instance_ty = component.component_type();
        let (_, item) = instance_ty.imports(&engine).next().unwrap();
        let ComponentItem::ComponentInstance(instance) = item.ty else {
            panic!()
        };
        let func = instance
            .exports(&engine)
            .find_map(|(_, item)| match item.ty {
                ComponentItem::ComponentFunc(f) => Some(f),
                _ => None,
            })
            .unwrap();
        let params = [
            Val::String("mqtt://user:pw@broker:1883".into()),
            Val::String("user".into()),
            Val::String("pw".into()),
            Val::U64(30),
        ];
        let mut results = [Val::Bool(false)];
        answer(Service::Mqtt, "open", &func, &params, &mut results).unwrap();
        assert_eq!(
            results[0],
            Val::Result(Err(Some(Box::new(Val::Variant(
                "connection-failed".into(),
                Some(Box::new(Val::String(
                    "address mqtt://user:pw@broker:1883 is not permitted".into()
                )))
            )))))
        );
    }
}
