//! What pages look like: the page frame with its navigation, and the small
//! pieces pages share. Templates are maud (checked at compile time, escaped by
//! default); strings come from [`i18n`], whose keys are checked at compile time.

pub mod i18n;

use axum::response::Html;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use mimamori_base::Timestamp;
use mimamori_governance::sessions::SignedIn;
use mimamori_policy::Permission as P;

use i18n::Lang;

/// A time as people read it on pages: Japan time to the minute.
pub fn minute(t: Timestamp) -> String {
    t.jst_minute()
}

/// The hidden CSRF field every form that changes something carries.
pub fn csrf_field(user: &SignedIn) -> Markup {
    html! { input type="hidden" name="csrf" value=(user.csrf); }
}

/// An error line above a form (`role="alert"`), if any.
pub fn alert(message: Option<&str>) -> Markup {
    html! {
        @if let Some(m) = message {
            p.error role="alert" { (m) }
        }
    }
}

/// A string of the table, picked by a function (for lists of links).
type Label = fn(&i18n::Strings) -> &'static str;

/// The navigation links, by the permission each needs.
const NAV: [(P, &str, Label); 8] = [
    (P::CameraStatus, "/cameras", |s| s.nav_cameras),
    (P::Provision, "/provisions", |s| s.nav_provisions),
    (P::CameraSettings, "/cameras/new", |s| s.nav_add_camera),
    (P::RetentionView, "/retention", |s| s.nav_retention),
    (P::Designate, "/people", |s| s.nav_people),
    (P::Instruct, "/instructions", |s| s.nav_instructions),
    (P::Records, "/complaints", |s| s.nav_records),
    (P::AuditRead, "/audit", |s| s.nav_audit),
];

/// The page frame: head, navigation (when signed in), content, the string table
/// for the page script.
pub fn page(lang: Lang, title: &str, user: Option<&SignedIn>, body: Markup) -> Html<String> {
    let s = lang.strings();
    let other = lang.other().code();
    let strings = i18n::json_table(lang).replace("</", "<\\/");
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — " (s.app_title) }
                @if let Some(u) = user {
                    meta name="csrf-token" content=(u.csrf);
                }
                link rel="stylesheet" href="/assets/app.css";
            }
            body {
                @match user {
                    Some(u) => nav {
                        a.brand href="/cameras" { "見守り mimamori" }
                        @for (p, href, label) in NAV {
                            @if u.person.has(p) { " " a href=(href) { (label(s)) } }
                        }
                        @if u.person.role == mimamori_policy::RoleKind::Police {
                            " " a href="/agreement" { (s.nav_agreement) }
                        }
                        span.spacer {}
                        a.who href="/account" { (u.person.user.display_name) }
                        a href={ "/lang/" (other) } { (s.nav_switch_lang) }
                        form.inline method="post" action="/logout" {
                            (csrf_field(u))
                            button { (s.nav_logout) }
                        }
                    },
                    None => nav {
                        span.brand { "見守り mimamori" }
                        span.spacer {}
                        a href={ "/lang/" (other) } { (s.nav_switch_lang) }
                    },
                }
                main { (body) }
                script type="application/json" id="i18n" { (PreEscaped(strings)) }
                script src="/assets/app.js" {}
            }
        }
    };
    Html(markup.into_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_the_table_cannot_close_its_script() {
        let html = page(Lang::Ja, "<b>x</b>", None, html! { p { "a & \"b\"" } }).0;
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;"), "{html}");
        assert!(html.contains("a &amp; &quot;b&quot;"), "{html}");
        let script = html.split("id=\"i18n\">").nth(1).unwrap();
        assert!(!script.split("</script>").next().unwrap().contains("</"));
    }
}
