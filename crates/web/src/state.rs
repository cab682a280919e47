//! What every handler can reach: the application layer, and the recorders (for
//! live status and frames, and to bring them in line after a camera changes).

use std::sync::Arc;

use mimamori_governance::Governance;
use mimamori_recorder::RecorderSet;

#[derive(Clone)]
pub struct AppState {
    pub gov: Arc<Governance>,
    pub recorders: Arc<RecorderSet>,
    /// How live view is relayed from another node that serves HTTPS.
    pub relay_tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
}

impl AppState {
    pub fn new(gov: Arc<Governance>, recorders: Arc<RecorderSet>) -> AppState {
        AppState {
            gov,
            recorders,
            relay_tls: None,
        }
    }
}
