//! The HTTP face of mimamori: a server-rendered UI (Japanese first, English on
//! request), the JSON scripting API, MP4 playback and download, and live view
//! over WebSocket. Every asset is served from the binary; nothing is fetched from
//! elsewhere.
//!
//! A door, not a decider: handlers parse the request, call one operation of the
//! application layer (`mimamori_governance::Governance`) with the signed-in
//! person as actor, and render the answer. Every route declares what it needs in
//! [`ROUTES`]; [`authz::guard`] enforces it. Inside: [`http`] (origin, session
//! and CSRF, the one error mapping, forms, ranged responses, TLS) and [`views`]
//! (the page frame and the checked strings) at the bottom; one module per
//! resource above them, sharing [`AppState`]; [`server`] is the one entry
//! point for the binary.

pub mod account;
pub mod agreements;
pub mod assets;
pub mod audit;
pub mod authz;
pub mod cameras;
pub mod http;
pub mod instructions;
pub mod login;
pub mod masking;
pub mod monitoring;
pub mod people;
pub mod provisions;
pub mod records;
pub mod report;
pub mod retention;
pub mod server;
pub mod state;
pub mod viewing;
pub mod views;

use axum::Router;

pub use state::AppState;

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

use authz::Need::{Monitor, NodeGrant, Permission as P, Public, Session};
use mimamori_policy::Permission::*;

routes! {
    "/" => { get login::root => Session }
    "/login" => { get login::login_page => Public, post login::login_submit => Public }
    "/logout" => { post login::logout_submit => Session }
    "/lang/{lang}" => { get login::lang_switch => Public }
    "/assets/{name}" => { get assets::asset => Public }
    "/healthz" => { get monitoring::healthz => Monitor }
    "/readyz" => { get monitoring::readyz => Monitor }
    "/metrics" => { get monitoring::metrics => Monitor }
    "/cameras" => { get cameras::cameras_page => P(CameraStatus), post cameras::camera_add_submit => P(CameraSettings) }
    "/cameras/new" => { get cameras::camera_new_page => P(CameraSettings) }
    "/cameras/{id}" => { get cameras::camera_view_page => P(CameraStatus) }
    "/cameras/{id}/settings" => {
        get cameras::camera_settings_page => P(CameraSettings),
        post cameras::camera_settings_submit => P(CameraSettings),
    }
    "/cameras/{id}/description" => { post cameras::camera_description_submit => P(CameraSettings) }
    "/cameras/{id}/remove" => { post cameras::camera_remove_submit => P(CameraSettings) }
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
    "/retention/holds/{id}/copies" => { post retention::hold_copy_submit => P(RetentionHold) }
    "/people" => { get people::people_page => P(Designate), post people::person_create_submit => P(Designate) }
    "/people/{id}" => { get people::person_page => P(Designate) }
    "/people/{id}/designations" => { post people::designate_submit => P(Designate) }
    "/people/{id}/designations/{designation}/end" => { post people::designation_end_submit => P(Designate) }
    "/people/{id}/records" => { post people::record_submit => P(Designate) }
    "/instructions" => { get instructions::instructions_page => P(Instruct), post instructions::instruction_create_submit => P(Instruct) }
    "/instructions/{id}/revoke" => { post instructions::instruction_revoke_submit => P(Instruct) }
    "/provisions" => { get provisions::provisions_page => P(Provision), post provisions::provision_create_submit => P(Provision) }
    "/provisions/new" => { get provisions::provision_new_page => P(Provision) }
    "/provisions/register" => { get provisions::register_page => P(Provision) }
    "/provisions/register.csv" => { get provisions::register_csv => P(Provision) }
    "/provisions/register.pdf" => { get provisions::register_pdf => P(Provision) }
    "/provisions/{id}/request.pdf" => { get provisions::request_pdf => P(Provision) }
    "/provisions/{id}" => { get provisions::provision_page => P(Provision) }
    "/provisions/{id}/documents/{doc}" => { get provisions::document_get => P(Provision) }
    "/provisions/{id}/identity" => { post provisions::identity_submit => P(Provision) }
    "/provisions/{id}/decision" => { post provisions::decision_submit => P(ProvisionDecide) }
    "/provisions/{id}/extract" => { post provisions::extract_submit => P(Export) }
    "/provisions/{id}/delivery" => { post provisions::delivery_submit => P(Provision) }
    "/provisions/{id}/withdraw" => { post provisions::withdraw_submit => P(Provision) }
    "/provisions/{id}/letter" => { get provisions::letter_page => P(Provision) }
    "/provisions/{id}/letter.pdf" => { get provisions::letter_pdf => P(Provision) }
    "/provisions/{id}/view/{camera}" => { get provisions::viewing_get => P(Playback) }
    "/provisions/{id}/packages/{package}/still" => { get masking::still_get => P(Export) }
    "/provisions/{id}/packages/{package}/mask" => { post masking::mask_submit => P(Export) }
    "/complaints" => { get records::complaints_page => P(Records), post records::complaint_receive_submit => P(Records) }
    "/complaints/{id}/close" => { post records::complaint_close_submit => P(Records) }
    "/media" => { get records::media_page => P(Records), post records::medium_register_submit => P(Records) }
    "/media/{id}/dispose" => { post records::medium_dispose_submit => P(Records) }
    "/media/{id}/confirm" => { post records::medium_confirm_submit => P(Records) }
    "/checks" => { get records::checks_page => P(Records), post records::check_record_submit => P(Records) }
    "/checks/sign.pdf" => { get records::sign_pdf => P(Records) }
    "/checks/photos/{id}" => { get records::sign_photo_get => P(Records) }
    "/report" => { get report::report_page => P(Records) }
    "/documents/regulation.html" => { get report::regulation_html => P(Records) }
    "/documents/personal-file.html" => { get report::personal_file_html => P(Records) }
    "/documents/regulation.pdf" => { get report::regulation_pdf => P(Records) }
    "/documents/personal-file.pdf" => { get report::personal_file_pdf => P(Records) }
    "/report.pdf" => { get report::report_pdf_get => P(Records) }
    "/report.html" => { get report::report_html_get => P(Records) }
    "/report.csv" => { get report::report_csv_get => P(Records) }
    "/agreements" => { get agreements::agreements_page => P(ProvisionDecide), post agreements::agreement_create_submit => P(ProvisionDecide) }
    "/agreements/{id}/suspend" => { post agreements::agreement_suspend_submit => P(ProvisionDecide) }
    "/agreements/{id}/resume" => { post agreements::agreement_resume_submit => P(ProvisionDecide) }
    "/agreement" => { get agreements::station_page => P(Export) }
    "/agreement/extract" => { post agreements::station_extract_submit => P(Export) }
    "/api/login" => { post login::login_api => Public }
    "/api/logout" => { post login::logout_api => Session }
    "/api/me" => { get login::me => Session }
    "/api/password" => { post account::password_api => Session }
    "/api/cameras" => { get cameras::cameras_list => P(CameraStatus), post cameras::camera_add => P(CameraSettings) }
    "/api/cameras/{id}" => { get cameras::camera_get => P(CameraStatus), delete cameras::camera_remove => P(CameraSettings) }
    "/api/cameras/{id}/description" => { put cameras::camera_description_api => P(CameraSettings) }
    "/api/cameras/{id}/recordings" => { get cameras::recordings => P(CameraStatus) }
    "/api/cameras/{id}/days" => { get cameras::recorded_days => P(CameraStatus) }
    "/api/cameras/{id}/video.mp4" => { get viewing::video_mp4 => P(Playback) }
    "/api/cameras/{id}/fragmented.mp4" => { get viewing::video_fragmented => P(Playback) }
    "/api/cameras/{id}/live" => { get viewing::live_ws => P(LiveView) }
    "/api/relay/live/{id}" => { get viewing::relay_live_ws => NodeGrant }
    "/api/cameras/{id}/retention" => { get retention::camera_retention_get => P(RetentionView) }
    "/api/holds" => { get retention::holds_list => P(RetentionView), post retention::hold_create => P(RetentionHold) }
    "/api/holds/{id}" => { put retention::hold_change => P(RetentionHold) }
    "/api/holds/{id}/release" => { post retention::hold_release => P(RetentionHold) }
    "/api/holds/{id}/copies" => { post retention::hold_copy_api => P(RetentionHold) }
    "/api/holds/{id}/copies/{copy}" => { get retention::hold_copy_get => P(RetentionHold) }
    "/api/erasures" => { get retention::erasures_list => P(RetentionView) }
    "/api/audit" => { get audit::audit_api => P(AuditRead) }
    "/api/people" => { get people::people_api => P(Designate), post people::person_create_api => P(Designate) }
    "/api/people/{id}/designations" => { post people::designate_api => P(Designate) }
    "/api/designations/{id}/end" => { post people::designation_end_api => P(Designate) }
    "/api/people/{id}/records" => { post people::record_api => P(Designate) }
    "/api/instructions" => { get instructions::instructions_api => P(Instruct), post instructions::instruction_create_api => P(Instruct) }
    "/api/instructions/{id}/revoke" => { post instructions::instruction_revoke_api => P(Instruct) }
    "/api/provisions" => { get provisions::provisions_api => P(Provision), post provisions::provision_create_api => P(Provision) }
    "/api/provisions/{id}" => { get provisions::provision_api => P(Provision) }
    "/api/provisions/{id}/documents" => { post provisions::document_upload_api => P(Provision) }
    "/api/provisions/{id}/identity" => { post provisions::identity_api => P(Provision) }
    "/api/provisions/{id}/decision" => { post provisions::decision_api => P(ProvisionDecide) }
    "/api/provisions/{id}/extract" => { post provisions::extract_api => P(Export) }
    "/api/provisions/{id}/packages/{package}" => { get provisions::package_get => P(Export) }
    "/api/provisions/{id}/packages/{package}/mask" => { post masking::mask_api => P(Export) }
    "/api/provisions/{id}/delivery" => { post provisions::delivery_api => P(Provision) }
    "/api/provisions/{id}/withdraw" => { post provisions::withdraw_api => P(Provision) }
    "/api/complaints" => { get records::complaints_api => P(Records), post records::complaint_receive_api => P(Records) }
    "/api/complaints/{id}/close" => { post records::complaint_close_api => P(Records) }
    "/api/media" => { get records::media_api => P(Records), post records::medium_register_api => P(Records) }
    "/api/cameras/{id}/sign-photos" => { post records::sign_photo_upload_api => P(Records) }
    "/api/checks" => { get records::checks_api => P(Records), post records::check_record_api => P(Records) }
    "/api/media/{id}/dispose" => { post records::medium_dispose_api => P(Records) }
    "/api/media/{id}/confirm" => { post records::medium_confirm_api => P(Records) }
    "/api/agreements" => { get agreements::agreements_api => P(ProvisionDecide), post agreements::agreement_create_api => P(ProvisionDecide) }
    "/api/agreements/{id}/suspend" => { post agreements::agreement_suspend_api => P(ProvisionDecide) }
    "/api/agreements/{id}/resume" => { post agreements::agreement_resume_api => P(ProvisionDecide) }
    "/api/agreement" => { get agreements::station_api => P(Export) }
    "/api/agreement/extract" => { post agreements::station_extract_api => P(Export) }
}

/// The complete router: every declared route behind [`authz::guard`]; errors to
/// page requests become pages.
pub fn router(state: AppState) -> Router {
    let guard = authz::Guard {
        gov: state.gov.clone(),
        routes: ROUTES,
    };
    declared_routes()
        .layer(axum::middleware::from_fn(
            http::error_pages::pages_for_errors,
        ))
        .layer(axum::middleware::from_fn_with_state(guard, authz::guard))
        .layer(axum::middleware::from_fn(http::origin::client_address))
        .layer(axum::middleware::from_fn(http::headers::security_headers))
        // Nothing a person sends is large (no uploads yet): bounded before any work.
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(state)
}
