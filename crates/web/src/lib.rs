//! The HTTP face of mimamori: a server-rendered UI (Japanese first, English on
//! request), the JSON scripting API, MP4 playback and download, and live view over
//! WebSocket. Every asset is served from the binary; nothing is fetched from
//! elsewhere. Handlers hold no SQL: they call the catalog, the recorders and the
//! playback module. Every route except the login is behind [`auth::require_login`].

pub mod account;
pub mod api;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod error;
pub mod html;
pub mod i18n;
pub mod live;
pub mod pages;
pub mod playback;
pub mod retention;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use mimamori_base::SharedClock;
use mimamori_catalog::Catalog;
use mimamori_policy::Policy;
use mimamori_recorder::RecorderSet;
use mimamori_storage::SegmentStore;

/// Web settings (from the config file).
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// A session ends this long after login, whatever happens.
    pub session_max_micros: i64,
    /// A session ends after this long without a request.
    pub session_idle_micros: i64,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            session_max_micros: 12 * 3600 * 1_000_000,
            session_idle_micros: 30 * 60 * 1_000_000,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub catalog: Catalog,
    pub store: SegmentStore,
    pub keys: Arc<mimamori_catalog::keys::KeyRing>,
    pub clock: SharedClock,
    pub recorders: Arc<RecorderSet>,
    pub sweeper: Arc<mimamori_governance::retention::Sweeper>,
    pub policy: Arc<Policy>,
    pub config: Arc<WebConfig>,
    pub throttle: Arc<auth::LoginThrottle>,
    pub recent_views: Arc<audit::RecentViews>,
}

/// The complete router: pages, API, assets, all behind the login guard.
pub fn router(state: AppState) -> Router {
    Router::new()
        // pages
        .route("/", get(pages::root))
        .route("/login", get(pages::login_page).post(pages::login_submit))
        .route("/logout", post(pages::logout_submit))
        .route("/lang/{lang}", get(pages::lang_switch))
        .route(
            "/cameras",
            get(pages::cameras_page).post(pages::camera_add_submit),
        )
        .route("/cameras/new", get(pages::camera_new_page))
        .route("/cameras/{id}", get(pages::camera_view_page))
        .route(
            "/cameras/{id}/settings",
            get(pages::camera_settings_page).post(pages::camera_settings_submit),
        )
        .route("/cameras/{id}/remove", post(pages::camera_remove_submit))
        // API
        .route("/api/login", post(api::login))
        .route("/api/logout", post(api::logout))
        .route("/api/cameras", get(api::cameras_list).post(api::camera_add))
        .route(
            "/api/cameras/{id}",
            get(api::camera_get).delete(api::camera_remove),
        )
        .route("/api/cameras/{id}/recordings", get(api::recordings))
        .route("/api/cameras/{id}/days", get(api::recorded_days))
        .route("/api/cameras/{id}/video.mp4", get(playback::video_mp4))
        .route(
            "/api/cameras/{id}/fragmented.mp4",
            get(playback::video_fragmented),
        )
        .route("/api/cameras/{id}/live", get(live::live_ws))
        .route("/account", get(account::account_page))
        .route("/account/password", post(account::password_submit))
        .route(
            "/account/sessions/{id}/revoke",
            post(account::session_revoke_submit),
        )
        .route("/api/password", post(account::password_api))
        .route("/audit", get(audit::audit_page))
        .route("/audit.csv", get(audit::audit_csv))
        .route("/retention", get(retention::retention_page))
        .route("/retention/holds", post(retention::hold_create_submit))
        .route(
            "/retention/holds/{id}/change",
            post(retention::hold_change_submit),
        )
        .route(
            "/retention/holds/{id}/release",
            post(retention::hold_release_submit),
        )
        .route(
            "/api/cameras/{id}/retention",
            get(retention::camera_retention_get),
        )
        .route(
            "/api/holds",
            get(retention::holds_list).post(retention::hold_create),
        )
        .route(
            "/api/holds/{id}",
            axum::routing::put(retention::hold_change),
        )
        .route("/api/holds/{id}/release", post(retention::hold_release))
        .route("/api/erasures", get(retention::erasures_list))
        // assets
        .route("/assets/{name}", get(assets::asset))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_login,
        ))
        .layer(axum::middleware::from_fn(audit::client_address))
        .with_state(state)
}
