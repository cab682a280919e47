//! The HTTP face of mimamori: a server-rendered UI (Japanese first, English on
//! request), the JSON scripting API, MP4 playback and download, and live view over
//! WebSocket. Every asset is served from the binary; nothing is fetched from
//! elsewhere. Handlers hold no SQL: they call the catalog, the recorders and the
//! playback module. Every route declares what it needs in [`ROUTES`]; [`authz::guard`]
//! enforces it.

pub mod account;
pub mod api;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod error;
pub mod html;
pub mod i18n;
pub mod live;
pub mod pages;
pub mod people;
pub mod playback;
pub mod retention;
pub mod tls;

use std::sync::Arc;

use axum::Router;
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

/// Declares every route once, with what it needs; builds both [`ROUTES`] (read by
/// the guard and by the authorization matrix test) and the router. A route cannot be
/// added without saying what it needs.
macro_rules! routes {
    ($( $path:literal => { $( $method:ident $handler:path => $need:expr ),+ $(,)? } )*) => {
        /// Every route: method, path and what it needs.
        pub const ROUTES: &[authz::RouteSpec] = &[
            $( $( authz::RouteSpec {
                method: routes!(@method $method),
                path: $path,
                need: $need,
            }, )+ )*
        ];

        fn declared_routes() -> Router<AppState> {
            Router::new()
                $( .route($path, axum::routing::MethodRouter::new() $( .$method($handler) )+ ) )*
        }
    };
    (@method get) => { "GET" };
    (@method post) => { "POST" };
    (@method put) => { "PUT" };
    (@method delete) => { "DELETE" };
}

use authz::Need::{Permission as P, Public, Session};
use mimamori_policy::Permission::*;

routes! {
    "/" => { get pages::root => Session }
    "/login" => { get pages::login_page => Public, post pages::login_submit => Public }
    "/logout" => { post pages::logout_submit => Session }
    "/lang/{lang}" => { get pages::lang_switch => Public }
    "/assets/{name}" => { get assets::asset => Public }
    "/cameras" => { get pages::cameras_page => P(CameraStatus), post pages::camera_add_submit => P(CameraSettings) }
    "/cameras/new" => { get pages::camera_new_page => P(CameraSettings) }
    "/cameras/{id}" => { get pages::camera_view_page => P(CameraStatus) }
    "/cameras/{id}/settings" => {
        get pages::camera_settings_page => P(CameraSettings),
        post pages::camera_settings_submit => P(CameraSettings),
    }
    "/cameras/{id}/remove" => { post pages::camera_remove_submit => P(CameraSettings) }
    "/account" => { get account::account_page => Session }
    "/account/password" => { post account::password_submit => Session }
    "/account/sessions/{id}/revoke" => { post account::session_revoke_submit => Session }
    "/account/totp" => { post account::totp_start_submit => Session }
    "/account/totp/confirm" => { post account::totp_confirm_submit => Session }
    "/audit" => { get audit::audit_page => P(AuditRead) }
    "/audit.csv" => { get audit::audit_csv => P(AuditRead) }
    "/retention" => { get retention::retention_page => P(RetentionView) }
    "/retention/holds" => { post retention::hold_create_submit => P(RetentionHold) }
    "/retention/holds/{id}/change" => { post retention::hold_change_submit => P(RetentionHold) }
    "/retention/holds/{id}/release" => { post retention::hold_release_submit => P(RetentionHold) }
    "/people" => { get people::people_page => P(Designate), post people::person_create_submit => P(Designate) }
    "/people/{id}" => { get people::person_page => P(Designate) }
    "/people/{id}/designations" => { post people::designate_submit => P(Designate) }
    "/people/{id}/designations/{designation}/end" => { post people::designation_end_submit => P(Designate) }
    "/people/{id}/records" => { post people::record_submit => P(Designate) }
    "/instructions" => { get people::instructions_page => P(Instruct), post people::instruction_create_submit => P(Instruct) }
    "/instructions/{id}/revoke" => { post people::instruction_revoke_submit => P(Instruct) }
    "/api/login" => { post api::login => Public }
    "/api/logout" => { post api::logout => Session }
    "/api/me" => { get api::me => Session }
    "/api/password" => { post account::password_api => Session }
    "/api/cameras" => { get api::cameras_list => P(CameraStatus), post api::camera_add => P(CameraSettings) }
    "/api/cameras/{id}" => { get api::camera_get => P(CameraStatus), delete api::camera_remove => P(CameraSettings) }
    "/api/cameras/{id}/recordings" => { get api::recordings => P(CameraStatus) }
    "/api/cameras/{id}/days" => { get api::recorded_days => P(CameraStatus) }
    "/api/cameras/{id}/video.mp4" => { get playback::video_mp4 => P(Playback) }
    "/api/cameras/{id}/fragmented.mp4" => { get playback::video_fragmented => P(Playback) }
    "/api/cameras/{id}/live" => { get live::live_ws => P(LiveView) }
    "/api/cameras/{id}/retention" => { get retention::camera_retention_get => P(RetentionView) }
    "/api/holds" => { get retention::holds_list => P(RetentionView), post retention::hold_create => P(RetentionHold) }
    "/api/holds/{id}" => { put retention::hold_change => P(RetentionHold) }
    "/api/holds/{id}/release" => { post retention::hold_release => P(RetentionHold) }
    "/api/erasures" => { get retention::erasures_list => P(RetentionView) }
    "/api/audit" => { get audit::audit_api => P(AuditRead) }
    "/api/people" => { get people::people_api => P(Designate), post people::person_create_api => P(Designate) }
    "/api/people/{id}/designations" => { post people::designate_api => P(Designate) }
    "/api/designations/{id}/end" => { post people::designation_end_api => P(Designate) }
    "/api/people/{id}/records" => { post people::record_api => P(Designate) }
    "/api/instructions" => { get people::instructions_api => P(Instruct), post people::instruction_create_api => P(Instruct) }
    "/api/instructions/{id}/revoke" => { post people::instruction_revoke_api => P(Instruct) }
}

/// The complete router: every declared route behind [`authz::guard`].
pub fn router(state: AppState) -> Router {
    declared_routes()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authz::guard,
        ))
        .layer(axum::middleware::from_fn(audit::client_address))
        .with_state(state)
}
