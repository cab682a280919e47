//! Serving HTTPS directly (REQ-LOC-1; also encrypts footage in transit): a configured certificate and key,
//! and optionally a CA whose client certificates identify registered terminals.
//! The SHA-256 fingerprint of the certificate a client presents is put in each
//! request's extensions ([`ClientCertificate`]) for the terminal rules to match.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use tokio_rustls::rustls;

/// The client certificate a TLS connection presented (verified against the client CA).
#[derive(Clone, Debug)]
pub struct ClientCertificate {
    pub sha256_hex: String,
}

/// Marks requests that arrived over TLS (session cookies then carry `Secure`).
#[derive(Clone, Copy, Debug)]
pub struct OverTls;

/// Where the server's certificate, key and (optionally) client CA live.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub certificate: PathBuf,
    pub key: PathBuf,
    /// CA certificates that sign terminals' client certificates. When set, clients are
    /// asked for a certificate; connections without one are still accepted (they
    /// just do not come from a certificate terminal).
    pub client_ca: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS file {path}: {message}")]
    File { path: String, message: String },
    #[error("TLS setup: {0}")]
    Setup(String),
}

fn file_err(path: &Path, e: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_err(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_err(path, e))?;
    if certs.is_empty() {
        return Err(file_err(path, "no PEM certificate in the file"));
    }
    Ok(certs)
}

/// Builds the rustls server configuration.
pub fn server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = certs(&files.certificate)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| file_err(&files.key, e))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in certs(ca)? {
                roots.add(c).map_err(|e| file_err(ca, e))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .allow_unauthenticated()
            .build()
            .map_err(|e| file_err(ca, e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| file_err(&files.certificate, e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The TLS client configuration for relaying live view from another node that
/// serves HTTPS: its certificate is verified against `peer_ca` (the CA that
/// signed the nodes' certificates), or the system's roots when none is named.
pub fn relay_client_config(peer_ca: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    match peer_ca {
        Some(ca) => {
            for c in certs(ca)? {
                roots.add(c).map_err(|e| file_err(ca, e))?;
            }
        }
        None => {
            for c in rustls_native_certs::load_native_certs().certs {
                // A system root rustls cannot use is left out, as browsers do.
                let _ = roots.add(c);
            }
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// SHA-256 of a DER certificate, lower-case hex.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}
