//! TLS for servers and client adaptors: rustls with the `ring` provider, certificates and keys from PEM files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::rustls::{self, pki_types};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::error::ChannelError;

/// Certificate chain and private key of a TLS server, as PEM file paths.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerTls {
    /// PEM file with the certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// What a TLS client trusts and which name it expects.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientTls {
    /// PEM file with the CA (or self-signed) certificates to trust.
    pub ca: PathBuf,
    /// Server name to verify (DNS name or IP address).
    pub server_name: String,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_certs(path: &Path) -> Result<Vec<pki_types::CertificateDer<'static>>, ChannelError> {
    let pem = std::fs::read(path)
        .map_err(|e| ChannelError::Tls(format!("reading {}: {e}", path.display())))?;
    let certs: Result<Vec<_>, _> = rustls_pemfile::certs(&mut pem.as_slice()).collect();
    let certs = certs.map_err(|e| ChannelError::Tls(format!("parsing {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(ChannelError::Tls(format!(
            "{}: no certificate found",
            path.display()
        )));
    }
    Ok(certs)
}

impl ServerTls {
    /// Load the files and build an acceptor.
    pub fn acceptor(&self) -> Result<TlsAcceptor, ChannelError> {
        let certs = read_certs(&self.cert)?;
        let pem = std::fs::read(&self.key)
            .map_err(|e| ChannelError::Tls(format!("reading {}: {e}", self.key.display())))?;
        let key = rustls_pemfile::private_key(&mut pem.as_slice())
            .map_err(|e| ChannelError::Tls(format!("parsing {}: {e}", self.key.display())))?
            .ok_or_else(|| {
                ChannelError::Tls(format!("{}: no private key found", self.key.display()))
            })?;
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| ChannelError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| ChannelError::Tls(format!("{}: {e}", self.cert.display())))?;
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

impl ClientTls {
    /// Load the trusted certificates and build a connector plus the name to verify.
    pub fn connector(
        &self,
    ) -> Result<(TlsConnector, pki_types::ServerName<'static>), ChannelError> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in read_certs(&self.ca)? {
            roots
                .add(cert)
                .map_err(|e| ChannelError::Tls(format!("{}: {e}", self.ca.display())))?;
        }
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| ChannelError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = pki_types::ServerName::try_from(self.server_name.clone())
            .map_err(|e| ChannelError::Tls(format!("server name {:?}: {e}", self.server_name)))?;
        Ok((TlsConnector::from(Arc::new(config)), name))
    }
}
