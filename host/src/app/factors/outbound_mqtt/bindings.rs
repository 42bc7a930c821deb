//! Spin 2's and Spin 4's outbound MQTT interfaces over one implementation
//! ([`InstanceMqtt`](super::InstanceMqtt)): a connection resource is an open
//! [`Connection`], and errors and QoS convert one to one. The async family
//! takes what a call needs out of the store first, so a slow broker does
//! not hold it.

use super::{Connection, Error, MqttView, Qos};
use crate::app::state::HostState;
use wasmtime::component::{Accessor, HasData, Linker, Resource};

mod generated {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "doc-proxy:host/mqtt",
        imports: {
            "fermyon:spin/mqtt": async | trappable,
            default: trappable,
        },
        with: {
            "fermyon:spin/mqtt.connection": super::Spin2Connection,
            "spin:mqtt/mqtt.connection": super::Spin3Connection,
        },
    });
}

use generated::fermyon::spin::mqtt as spin2;
use generated::spin::mqtt::mqtt as spin3;

pub struct Spin2Connection(Connection);
pub struct Spin3Connection(Connection);

struct HasMqtt;

impl HasData for HasMqtt {
    type Data<'a> = MqttView<'a>;
}

fn view(state: &mut HostState) -> MqttView<'_> {
    state.mqtt()
}

pub fn add_to_linker(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    spin2::add_to_linker::<HostState, HasMqtt>(linker, view)?;
    spin3::add_to_linker::<HostState, HasMqtt>(linker, view)?;
    Ok(())
}

type Trap = wasmtime::Error;

/// The two interfaces' types are the same shape; this converts each way.
macro_rules! convert {
    ($spin:ident) => {
        impl From<Error> for $spin::Error {
            fn from(error: Error) -> Self {
                match error {
                    Error::InvalidAddress => $spin::Error::InvalidAddress,
                    Error::TooManyConnections => $spin::Error::TooManyConnections,
                    Error::ConnectionFailed(why) => $spin::Error::ConnectionFailed(why),
                    Error::Other(why) => $spin::Error::Other(why),
                }
            }
        }

        impl From<$spin::Qos> for Qos {
            fn from(qos: $spin::Qos) -> Self {
                match qos {
                    $spin::Qos::AtMostOnce => Qos::AtMostOnce,
                    $spin::Qos::AtLeastOnce => Qos::AtLeastOnce,
                    $spin::Qos::ExactlyOnce => Qos::ExactlyOnce,
                }
            }
        }
    };
}

convert!(spin2);
convert!(spin3);

// Spin 2: sync in its WIT, async here (the broker is on the network).

impl spin2::Host for MqttView<'_> {}

impl spin2::HostConnection for MqttView<'_> {
    async fn open(
        &mut self,
        address: String,
        username: String,
        password: String,
        keep_alive_interval_in_secs: u64,
    ) -> Result<Result<Resource<Spin2Connection>, spin2::Error>, Trap> {
        match self
            .mqtt
            .open(&address, username, password, keep_alive_interval_in_secs)
            .await
        {
            Ok(connection) => Ok(Ok(self.table.push(Spin2Connection(connection))?)),
            Err(e) => Ok(Err(e.into())),
        }
    }

    async fn publish(
        &mut self,
        connection: Resource<Spin2Connection>,
        topic: String,
        payload: Vec<u8>,
        qos: spin2::Qos,
    ) -> Result<Result<(), spin2::Error>, Trap> {
        let connection = self.table.get(&connection)?.0.clone();
        Ok(connection.publish(topic, payload, qos.into()).await.map_err(Into::into))
    }

    async fn drop(&mut self, connection: Resource<Spin2Connection>) -> Result<(), Trap> {
        self.table.delete(connection)?;
        Ok(())
    }
}

// Spin 4: async.

impl spin3::Host for MqttView<'_> {}

impl spin3::HostConnection for MqttView<'_> {
    fn drop(&mut self, connection: Resource<Spin3Connection>) -> Result<(), Trap> {
        self.table.delete(connection)?;
        Ok(())
    }
}

impl<T> spin3::HostConnectionWithStore<T> for HasMqtt {
    async fn open(
        accessor: &Accessor<T, Self>,
        address: String,
        username: String,
        password: String,
        keep_alive_interval_in_secs: u64,
    ) -> Result<Result<Resource<Spin3Connection>, spin3::Error>, Trap> {
        let mqtt = accessor.with(|mut access| access.get().mqtt.clone());
        match mqtt
            .open(&address, username, password, keep_alive_interval_in_secs)
            .await
        {
            Ok(connection) => {
                accessor.with(|mut access| Ok(Ok(access.get().table.push(Spin3Connection(connection))?)))
            }
            Err(e) => Ok(Err(e.into())),
        }
    }

    async fn publish(
        accessor: &Accessor<T, Self>,
        connection: Resource<Spin3Connection>,
        topic: String,
        payload: Vec<u8>,
        qos: spin3::Qos,
    ) -> Result<Result<(), spin3::Error>, Trap> {
        let connection = accessor.with(|mut access| Ok::<_, Trap>(access.get().table.get(&connection)?.0.clone()))?;
        Ok(connection.publish(topic, payload, qos.into()).await.map_err(Into::into))
    }
}
