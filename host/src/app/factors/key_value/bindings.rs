//! The three key-value interface families, each over the component's
//! [`Grants`](super::Grants) and [`Backend`]s: a store handle is the
//! backend the grant opened; every call checks Spin's key and value limits
//! and answers in the family's own error type.

use super::backend::{Backend, Error};
use super::{check_sizes, Grants, KeyValueView};
use crate::app::state::HostState;
use wasmtime::component::{Accessor, HasData, Linker, Resource, StreamReader};

mod generated {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "doc-proxy:host/key-value",
        imports: {
            "fermyon:spin/key-value": async | trappable,
            "wasi:keyvalue": async | trappable,
            default: trappable,
        },
        with: {
            "fermyon:spin/key-value.store": super::Spin2Store,
            "spin:key-value/key-value.store": super::Spin3Store,
            "wasi:keyvalue/store.bucket": super::Bucket,
            "wasi:keyvalue/atomics.cas": super::Cas,
        },
    });
}

use generated::fermyon::spin::key_value as spin2;
use generated::spin::key_value::key_value as spin3;
use generated::wasi::keyvalue::{atomics, batch, store as wasi_store};

/// A store Spin 2's interface opened.
pub struct Spin2Store(Backend);
/// A store Spin 3's interface opened.
pub struct Spin3Store(Backend);
/// A bucket `wasi:keyvalue` opened.
pub struct Bucket(Backend);
/// A compare-and-swap in progress: the value it read.
pub struct Cas {
    backend: Backend,
    key: String,
    current: Option<Vec<u8>>,
}

/// The linker's view of a store's key-value state.
struct HasKeyValue;

impl HasData for HasKeyValue {
    type Data<'a> = KeyValueView<'a>;
}

fn view(state: &mut HostState) -> KeyValueView<'_> {
    state.key_value()
}

pub fn add_to_linker(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    spin2::add_to_linker::<HostState, HasKeyValue>(linker, view)?;
    spin3::add_to_linker::<HostState, HasKeyValue>(linker, view)?;
    wasi_store::add_to_linker::<HostState, HasKeyValue>(linker, view)?;
    atomics::add_to_linker::<HostState, HasKeyValue>(linker, view)?;
    batch::add_to_linker::<HostState, HasKeyValue>(linker, view)?;
    Ok(())
}

type Trap = wasmtime::Error;

impl From<Error> for spin2::Error {
    fn from(error: Error) -> Self {
        match error {
            Error::StoreTableFull => spin2::Error::StoreTableFull,
            Error::NoSuchStore => spin2::Error::NoSuchStore,
            Error::AccessDenied => spin2::Error::AccessDenied,
            Error::Other(why) => spin2::Error::Other(why),
        }
    }
}

impl From<Error> for spin3::Error {
    fn from(error: Error) -> Self {
        match error {
            Error::StoreTableFull => spin3::Error::StoreTableFull,
            Error::NoSuchStore => spin3::Error::NoSuchStore,
            Error::AccessDenied => spin3::Error::AccessDenied,
            Error::Other(why) => spin3::Error::Other(why),
        }
    }
}

impl From<Error> for wasi_store::Error {
    fn from(error: Error) -> Self {
        match error {
            Error::NoSuchStore => wasi_store::Error::NoSuchStore,
            Error::AccessDenied => wasi_store::Error::AccessDenied,
            Error::StoreTableFull => wasi_store::Error::Other("the store is full".into()),
            Error::Other(why) => wasi_store::Error::Other(why),
        }
    }
}

// What every family does with a store, in Spin's terms; each family's
// methods below only convert the error.

async fn get(grants: &Grants, backend: Backend, key: String) -> Result<Option<Vec<u8>>, Error> {
    check_sizes(&key, None)?;
    read(grants, backend.get(key).await)
}

async fn set(backend: Backend, key: String, value: Vec<u8>) -> Result<(), Error> {
    check_sizes(&key, Some(&value))?;
    backend.set(key, value).await
}

async fn delete(backend: Backend, key: String) -> Result<(), Error> {
    check_sizes(&key, None)?;
    backend.delete(key).await
}

async fn exists(backend: Backend, key: String) -> Result<bool, Error> {
    check_sizes(&key, None)?;
    backend.exists(key).await
}

// Spin 2: sync in its WIT, async here (a store may be on the network).

impl spin2::Host for KeyValueView<'_> {}

impl spin2::HostStore for KeyValueView<'_> {
    async fn open(&mut self, label: String) -> Result<Result<Resource<Spin2Store>, spin2::Error>, Trap> {
        match self.grants.open(&label) {
            Ok(backend) => Ok(Ok(self.table.push(Spin2Store(backend))?)),
            Err(e) => Ok(Err(e.into())),
        }
    }

    async fn get(
        &mut self,
        store: Resource<Spin2Store>,
        key: String,
    ) -> Result<Result<Option<Vec<u8>>, spin2::Error>, Trap> {
        let backend = self.table.get(&store)?.0.clone();
        Ok(get(self.grants, backend, key).await.map_err(Into::into))
    }

    async fn set(
        &mut self,
        store: Resource<Spin2Store>,
        key: String,
        value: Vec<u8>,
    ) -> Result<Result<(), spin2::Error>, Trap> {
        let backend = self.table.get(&store)?.0.clone();
        Ok(set(backend, key, value).await.map_err(Into::into))
    }

    async fn delete(&mut self, store: Resource<Spin2Store>, key: String) -> Result<Result<(), spin2::Error>, Trap> {
        let backend = self.table.get(&store)?.0.clone();
        Ok(delete(backend, key).await.map_err(Into::into))
    }

    async fn exists(&mut self, store: Resource<Spin2Store>, key: String) -> Result<Result<bool, spin2::Error>, Trap> {
        let backend = self.table.get(&store)?.0.clone();
        Ok(exists(backend, key).await.map_err(Into::into))
    }

    async fn get_keys(&mut self, store: Resource<Spin2Store>) -> Result<Result<Vec<String>, spin2::Error>, Trap> {
        let backend = self.table.get(&store)?.0.clone();
        Ok(keys(self.grants, backend.keys().await).map_err(Into::into))
    }

    async fn drop(&mut self, store: Resource<Spin2Store>) -> Result<(), Trap> {
        self.table.delete(store)?;
        Ok(())
    }
}

// Spin 3: async in its WIT; the store handle is read under the accessor,
// and the backend's work awaited outside it.

fn spin3_backend<T>(
    accessor: &Accessor<T, HasKeyValue>,
    store: &Resource<Spin3Store>,
) -> Result<(Backend, Grants), Trap> {
    accessor.with(|mut access| {
        let view = access.get();
        Ok((view.table.get(store)?.0.clone(), view.grants.clone()))
    })
}

/// A value read, refused past the grant's result limit.
fn read(grants: &Grants, value: Result<Option<Vec<u8>>, Error>) -> Result<Option<Vec<u8>>, Error> {
    let value = value?;
    grants.within_limit(value.as_ref().map_or(0, Vec::len))?;
    Ok(value)
}

/// A key list, refused past the grant's result limit.
fn keys(grants: &Grants, keys: Result<Vec<String>, Error>) -> Result<Vec<String>, Error> {
    let keys = keys?;
    grants.within_limit(keys.iter().map(|k| k.len() + 16).sum())?;
    Ok(keys)
}

impl spin3::Host for KeyValueView<'_> {}

impl spin3::HostStore for KeyValueView<'_> {
    fn drop(&mut self, store: Resource<Spin3Store>) -> Result<(), Trap> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl<T> spin3::HostStoreWithStore<T> for HasKeyValue {
    async fn open(
        accessor: &Accessor<T, Self>,
        label: String,
    ) -> Result<Result<Resource<Spin3Store>, spin3::Error>, Trap> {
        accessor.with(|mut access| {
            let view = access.get();
            match view.grants.open(&label) {
                Ok(backend) => Ok(Ok(view.table.push(Spin3Store(backend))?)),
                Err(e) => Ok(Err(e.into())),
            }
        })
    }

    async fn get(
        accessor: &Accessor<T, Self>,
        store: Resource<Spin3Store>,
        key: String,
    ) -> Result<Result<Option<Vec<u8>>, spin3::Error>, Trap> {
        let (backend, grants) = spin3_backend(accessor, &store)?;
        Ok(get(&grants, backend, key).await.map_err(Into::into))
    }

    async fn set(
        accessor: &Accessor<T, Self>,
        store: Resource<Spin3Store>,
        key: String,
        value: Vec<u8>,
    ) -> Result<Result<(), spin3::Error>, Trap> {
        let (backend, _) = spin3_backend(accessor, &store)?;
        Ok(set(backend, key, value).await.map_err(Into::into))
    }

    async fn delete(
        accessor: &Accessor<T, Self>,
        store: Resource<Spin3Store>,
        key: String,
    ) -> Result<Result<(), spin3::Error>, Trap> {
        let (backend, _) = spin3_backend(accessor, &store)?;
        Ok(delete(backend, key).await.map_err(Into::into))
    }

    async fn exists(
        accessor: &Accessor<T, Self>,
        store: Resource<Spin3Store>,
        key: String,
    ) -> Result<Result<bool, spin3::Error>, Trap> {
        let (backend, _) = spin3_backend(accessor, &store)?;
        Ok(exists(backend, key).await.map_err(Into::into))
    }

    async fn get_keys(
        accessor: &Accessor<T, Self>,
        store: Resource<Spin3Store>,
    ) -> Result<
        (
            StreamReader<String>,
            wasmtime::component::FutureReader<Result<(), spin3::Error>>,
        ),
        Trap,
    > {
        let (backend, grants) = spin3_backend(accessor, &store)?;
        let (keys, outcome) = match keys(&grants, backend.keys().await) {
            Ok(keys) => (keys, Ok(())),
            Err(e) => (Vec::new(), Err(spin3::Error::from(e))),
        };
        accessor.with(|mut access| {
            let keys = StreamReader::new(&mut access, keys)?;
            let outcome =
                wasmtime::component::FutureReader::new(&mut access, async move { Ok::<_, wasmtime::Error>(outcome) })?;
            Ok((keys, outcome))
        })
    }
}

// wasi:keyvalue, draft 2.

impl wasi_store::Host for KeyValueView<'_> {
    async fn open(&mut self, identifier: String) -> Result<Result<Resource<Bucket>, wasi_store::Error>, Trap> {
        match self.grants.open(&identifier) {
            Ok(backend) => Ok(Ok(self.table.push(Bucket(backend))?)),
            Err(e) => Ok(Err(e.into())),
        }
    }
}

impl wasi_store::HostBucket for KeyValueView<'_> {
    async fn get(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> Result<Result<Option<Vec<u8>>, wasi_store::Error>, Trap> {
        let backend = self.table.get(&bucket)?.0.clone();
        Ok(get(self.grants, backend, key).await.map_err(Into::into))
    }

    async fn set(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> Result<Result<(), wasi_store::Error>, Trap> {
        let backend = self.table.get(&bucket)?.0.clone();
        Ok(set(backend, key, value).await.map_err(Into::into))
    }

    async fn delete(&mut self, bucket: Resource<Bucket>, key: String) -> Result<Result<(), wasi_store::Error>, Trap> {
        let backend = self.table.get(&bucket)?.0.clone();
        Ok(delete(backend, key).await.map_err(Into::into))
    }

    async fn exists(&mut self, bucket: Resource<Bucket>, key: String) -> Result<Result<bool, wasi_store::Error>, Trap> {
        let backend = self.table.get(&bucket)?.0.clone();
        Ok(exists(backend, key).await.map_err(Into::into))
    }

    async fn list_keys(
        &mut self,
        bucket: Resource<Bucket>,
        cursor: Option<String>,
    ) -> Result<Result<wasi_store::KeyResponse, wasi_store::Error>, Trap> {
        let backend = self.table.get(&bucket)?.0.clone();
        if cursor.is_some() {
            // Spin's words: every key comes in one answer, so there is never a next page.
            return Ok(Err(wasi_store::Error::Other("list_keys: cursor not supported".into())));
        }
        Ok(keys(self.grants, backend.keys().await)
            .map(|keys| wasi_store::KeyResponse { keys, cursor: None })
            .map_err(Into::into))
    }

    async fn drop(&mut self, bucket: Resource<Bucket>) -> Result<(), Trap> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for KeyValueView<'_> {
    async fn increment(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        delta: i64,
    ) -> Result<Result<i64, wasi_store::Error>, Trap> {
        let backend = self.table.get(&bucket)?.0.clone();
        Ok(async {
            check_sizes(&key, None)?;
            backend.increment(key, delta).await
        }
        .await
        .map_err(Into::into))
    }

    async fn swap(&mut self, cas: Resource<Cas>, value: Vec<u8>) -> Result<Result<(), atomics::CasError>, Trap> {
        let cas = self.table.delete(cas)?;
        if let Err(e) = check_sizes(&cas.key, Some(&value)) {
            return Ok(Err(atomics::CasError::StoreError(e.into())));
        }
        match cas
            .backend
            .compare_and_swap(cas.key.clone(), cas.current.clone(), value)
            .await
        {
            Ok(true) => Ok(Ok(())),
            Ok(false) => {
                // The value changed since it was read: the guest gets a new
                // cas on the value now, to try again.
                let current = cas.backend.get(cas.key.clone()).await;
                match current {
                    Ok(current) => {
                        let again = self.table.push(Cas {
                            backend: cas.backend,
                            key: cas.key,
                            current,
                        })?;
                        Ok(Err(atomics::CasError::CasFailed(again)))
                    }
                    Err(e) => Ok(Err(atomics::CasError::StoreError(e.into()))),
                }
            }
            Err(e) => Ok(Err(atomics::CasError::StoreError(e.into()))),
        }
    }
}

impl atomics::HostCas for KeyValueView<'_> {
    async fn new(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> Result<Result<Resource<Cas>, wasi_store::Error>, Trap> {
        let backend = self.table.get(&bucket)?.0.clone();
        if let Err(e) = check_sizes(&key, None) {
            return Ok(Err(e.into()));
        }
        match backend.get(key.clone()).await {
            Ok(current) => Ok(Ok(self.table.push(Cas { backend, key, current })?)),
            Err(e) => Ok(Err(e.into())),
        }
    }

    async fn current(&mut self, cas: Resource<Cas>) -> Result<Result<Option<Vec<u8>>, wasi_store::Error>, Trap> {
        Ok(Ok(self.table.get(&cas)?.current.clone()))
    }

    async fn drop(&mut self, cas: Resource<Cas>) -> Result<(), Trap> {
        self.table.delete(cas)?;
        Ok(())
    }
}

impl batch::Host for KeyValueView<'_> {
    async fn get_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> Result<Result<Vec<(String, Option<Vec<u8>>)>, wasi_store::Error>, Trap> {
        let backend = self.table.get(&bucket)?.0.clone();
        let mut found = Vec::with_capacity(keys.len());
        let mut size = 0;
        for key in keys {
            if let Err(e) = check_sizes(&key, None) {
                return Ok(Err(e.into()));
            }
            match backend.get(key.clone()).await {
                Ok(value) => {
                    size += key.len() + value.as_ref().map_or(0, Vec::len);
                    if let Err(e) = self.grants.within_limit(size) {
                        return Ok(Err(e.into()));
                    }
                    found.push((key, value))
                }
                Err(e) => return Ok(Err(e.into())),
            }
        }
        Ok(Ok(found))
    }

    async fn set_many(
        &mut self,
        bucket: Resource<Bucket>,
        pairs: Vec<(String, Vec<u8>)>,
    ) -> Result<Result<(), wasi_store::Error>, Trap> {
        let backend = self.table.get(&bucket)?.0.clone();
        for (key, value) in pairs {
            if let Err(e) = check_sizes(&key, Some(&value)) {
                return Ok(Err(e.into()));
            }
            if let Err(e) = backend.set(key, value).await {
                return Ok(Err(e.into()));
            }
        }
        Ok(Ok(()))
    }

    async fn delete_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> Result<Result<(), wasi_store::Error>, Trap> {
        let backend = self.table.get(&bucket)?.0.clone();
        for key in keys {
            if let Err(e) = check_sizes(&key, None) {
                return Ok(Err(e.into()));
            }
            if let Err(e) = backend.delete(key).await {
                return Ok(Err(e.into()));
            }
        }
        Ok(Ok(()))
    }
}
