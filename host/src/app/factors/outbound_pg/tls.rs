//! TLS to PostgreSQL: tokio-postgres's `MakeTlsConnect` over rustls (on
//! ring, the stack wasmtime-wasi-http's outbound HTTPS already links).
//!
//! tokio-postgres reads `sslmode` itself: `disable` never asks for TLS,
//! `prefer` (the default) asks and goes on in plain text when the server
//! has none, `require` fails when it has none. Whenever TLS is used, the
//! server's certificate is verified, for the host the connection string
//! names (the granted one), against the Mozilla roots and the app's own CA
//! (`connection-builder.set-ca-root`): Spin's native-tls verifies the same
//! way, whatever the `sslmode`.

use super::Error;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio_postgres::Socket;

/// A CA certificate an app trusts besides the Mozilla roots.
#[derive(Debug, Clone)]
pub struct CaRoot {
    certificates: Vec<CertificateDer<'static>>,
    /// Its SHA-256, so that pooled connections made with it are kept apart
    /// from those made without it.
    digest: String,
}

impl CaRoot {
    /// The certificates of `pem`; Spin's `other("invalid root
    /// certificate: …")` when it holds none or one cannot be read.
    pub fn from_pem(pem: &str) -> Result<CaRoot, Error> {
        let invalid = |why: String| Error::Other(format!("invalid root certificate: {why}"));
        let certificates = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(e.to_string()))?;
        if certificates.is_empty() {
            return Err(invalid("no certificate in the PEM text".into()));
        }
        // Read now, so a certificate the verifier cannot use fails here.
        let mut roots = rustls::RootCertStore::empty();
        for certificate in &certificates {
            roots.add(certificate.clone()).map_err(|e| invalid(e.to_string()))?;
        }
        Ok(CaRoot {
            certificates,
            digest: hex(&Sha256::digest(pem.as_bytes())),
        })
    }

    pub fn digest(&self) -> &str {
        &self.digest
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn client_config(ca: Option<&CaRoot>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for certificate in ca.map(|ca| ca.certificates.as_slice()).unwrap_or_default() {
        // Checked in `from_pem`.
        let _ = roots.add(certificate.clone());
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports rustls's default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// Connects tokio-postgres's sockets with TLS, trusting `ca` too.
#[derive(Clone)]
pub struct RustlsConnector {
    config: Arc<rustls::ClientConfig>,
}

impl RustlsConnector {
    pub fn new(ca: Option<&CaRoot>) -> RustlsConnector {
        // The Mozilla roots alone are the same for every connection.
        static MOZILLA_ONLY: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
        let config = match ca {
            None => MOZILLA_ONLY.get_or_init(|| client_config(None)).clone(),
            Some(ca) => client_config(Some(ca)),
        };
        RustlsConnector { config }
    }
}

impl MakeTlsConnect<Socket> for RustlsConnector {
    type Stream = RustlsStream;
    type TlsConnect = RustlsConnect;
    type Error = rustls::pki_types::InvalidDnsNameError;

    fn make_tls_connect(&mut self, host: &str) -> Result<RustlsConnect, Self::Error> {
        Ok(RustlsConnect {
            config: self.config.clone(),
            server: ServerName::try_from(host.to_string())?,
        })
    }
}

/// One connection's handshake, with the server named as granted.
pub struct RustlsConnect {
    config: Arc<rustls::ClientConfig>,
    server: ServerName<'static>,
}

impl TlsConnect<Socket> for RustlsConnect {
    type Stream = RustlsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream>> + Send>>;

    fn connect(self, socket: Socket) -> Self::Future {
        let connector = tokio_rustls::TlsConnector::from(self.config);
        Box::pin(async move { connector.connect(self.server, socket).await.map(RustlsStream) })
    }
}

/// A TLS session over a PostgreSQL socket.
pub struct RustlsStream(tokio_rustls::client::TlsStream<Socket>);

impl TlsStream for RustlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        // SCRAM without channel binding, as with the plain socket
        // (`channel_binding=require` is refused by tokio-postgres).
        ChannelBinding::none()
    }
}

impl AsyncRead for RustlsStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for RustlsStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pem_without_a_certificate_is_spins_invalid_root_certificate() {
        for bad in [
            "",
            "not a certificate",
            "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n",
        ] {
            match CaRoot::from_pem(bad) {
                Err(Error::Other(why)) => assert!(why.starts_with("invalid root certificate: "), "{why}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }
}
