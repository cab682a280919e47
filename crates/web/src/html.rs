//! Small helpers for server-rendered HTML: escaping and the page frame.

use axum::response::Html;

use crate::auth::CurrentUser;
use crate::i18n::{Lang, t};

/// A time as people read it on pages: Japan time to the minute (`2026-11-23 09:00`).
pub fn jst_minute(t: mimamori_base::Timestamp) -> String {
    t.to_datetime()
        .with_timezone(&mimamori_base::time::jst())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The page frame: head, navigation (when logged in), content.
pub fn page(lang: Lang, title: &str, user: Option<&CurrentUser>, body: &str) -> Html<String> {
    use mimamori_policy::Permission as P;
    let nav = match user {
        Some(u) => format!(
            r#"<nav><a class="brand" href="/cameras">見守り mimamori</a>
{links}
<span class="spacer"></span><a class="who" href="/account">{who}</a>
<a href="/lang/{other}">{switch}</a>
<form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" value="{csrf}"><button>{logout}</button></form></nav>"#,
            links = [
                (P::CameraStatus, "/cameras", "nav.cameras"),
                (P::CameraSettings, "/cameras/new", "nav.add_camera"),
                (P::RetentionView, "/retention", "nav.retention"),
                (P::Designate, "/people", "nav.people"),
                (P::Instruct, "/instructions", "nav.instructions"),
                (P::AuditRead, "/audit", "nav.audit"),
            ]
            .iter()
            .filter(|(p, ..)| u.has(*p))
            .map(|(_, href, key)| format!(r#"<a href="{href}">{}</a>"#, t(lang, key)))
            .collect::<Vec<_>>()
            .join(" "),
            who = esc(&u.user.display_name),
            other = if lang == Lang::Ja { "en" } else { "ja" },
            switch = t(lang, "nav.switch_lang"),
            csrf = esc(&u.csrf),
            logout = t(lang, "nav.logout"),
        ),
        None => format!(
            r#"<nav><span class="brand">見守り mimamori</span><span class="spacer"></span><a href="/lang/{other}">{switch}</a></nav>"#,
            other = if lang == Lang::Ja { "en" } else { "ja" },
            switch = t(lang, "nav.switch_lang"),
        ),
    };
    let csrf_meta = user
        .map(|u| format!(r#"<meta name="csrf-token" content="{}">"#, esc(&u.csrf)))
        .unwrap_or_default();
    Html(format!(
        r#"<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — {app}</title>{csrf_meta}
<link rel="stylesheet" href="/assets/app.css"></head>
<body>{nav}<main>{body}</main>
<script type="application/json" id="i18n">{strings}</script>
<script src="/assets/app.js"></script></body></html>"#,
        lang = lang.code(),
        title = esc(title),
        app = t(lang, "app.title"),
        strings = crate::i18n::json_table(lang).replace("</", "<\\/"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
