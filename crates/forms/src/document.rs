//! Documents made of articles, as static HTML and as PDF: the installer's
//! regulation generated from the policy (REQ-REG-1), the 個人情報ファイル簿 entry
//! of the footage, and the yearly report's PDF. A document is headed sections,
//! each with paragraphs, a numbered list, label–value rows and a table; the page
//! has its style inline, no script and no external asset, so that it can be
//! published or printed as it is; the PDF is laid out by `templates/document.typ`.

use maud::{DOCTYPE, PreEscaped, html};
use serde_json::{Value, json};

use crate::{Form, FormError};

/// One article or section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    pub heading: String,
    pub paragraphs: Vec<String>,
    /// Numbered items under the paragraphs (（1）, （2）, …).
    pub items: Vec<String>,
    /// Label and value, as a two-column table.
    pub rows: Vec<(String, String)>,
    /// A table with a header row, after the rows.
    pub table: Option<Table>,
}

/// A table: its header and its rows (each as long as the header).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// A document: its title, what it is made from, and its sections.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Document {
    pub title: String,
    pub lead: String,
    pub sections: Vec<Section>,
    pub footer: String,
}

const STYLE: &str = "body{font-family:serif;max-width:46em;margin:2em auto;padding:0 1em;line-height:1.8}\
h1{font-size:1.4em;text-align:center}h2{font-size:1.05em;margin:1.4em 0 .3em}\
table{border-collapse:collapse;width:100%}th,td{border:1px solid #888;padding:.3em .6em;text-align:left;vertical-align:top}\
th{width:14em;background:#f3f3f3}table.grid th{width:auto}.muted{color:#555;font-size:.85em}ol{margin:.2em 0}";

/// The whole page.
pub fn document_html(d: &Document) -> String {
    html! {
        (DOCTYPE)
        html lang="ja" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (d.title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { (d.title) }
                @if !d.lead.is_empty() { p { (d.lead) } }
                @for s in &d.sections {
                    section {
                        @if !s.heading.is_empty() { h2 { (s.heading) } }
                        @for p in &s.paragraphs { p { (p) } }
                        @if !s.items.is_empty() {
                            ol { @for i in &s.items { li { (i) } } }
                        }
                        @if !s.rows.is_empty() {
                            table { @for (k, v) in &s.rows { tr { th { (k) } td { (v) } } } }
                        }
                        @if let Some(t) = &s.table {
                            table.grid {
                                thead { tr { @for h in &t.header { th { (h) } } } }
                                tbody { @for r in &t.rows { tr { @for c in r { td { (c) } } } } }
                            }
                        }
                    }
                }
                @if !d.footer.is_empty() { p.muted { (d.footer) } }
            }
        }
    }
    .into_string()
}

/// The document's data for its PDF template.
fn document_data(d: &Document) -> Value {
    json!({
        "title": d.title,
        "lead": d.lead,
        "footer": d.footer,
        "sections": d.sections.iter().map(|s| json!({
            "heading": s.heading,
            "paragraphs": s.paragraphs,
            "items": s.items,
            "rows": s.rows.iter().map(|(k, v)| [k, v]).collect::<Vec<_>>(),
            "table": s.table.as_ref().map(|t| json!({"header": t.header, "rows": t.rows})),
        })).collect::<Vec<_>>(),
    })
}

/// The document as PDF (A4, pages numbered).
pub fn document_pdf(d: &Document) -> Result<Vec<u8>, FormError> {
    crate::render(Form::Document, &document_data(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_the_page_has_no_script() {
        let d = Document {
            title: "規程 <script>".into(),
            sections: vec![Section {
                heading: "第1条".into(),
                items: vec!["a & b".into()],
                ..Section::default()
            }],
            ..Document::default()
        };
        let h = document_html(&d);
        assert!(h.contains("規程 &lt;script&gt;"), "{h}");
        assert!(h.contains("a &amp; b"));
        assert!(!h.contains("<script"));
    }
}
