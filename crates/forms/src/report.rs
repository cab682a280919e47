//! The yearly report on operation and disclosure (運用状況の公表, REQ-PUB-1,
//! Kitakyushu 第8条) as a document: its figures (gathered by the governance
//! layer from the records), one static HTML page (no script, no external asset:
//! ready for the city's website), the same as PDF (a [`Document`]), and the
//! figures as CSV. Counts only: no
//! name, contact, reason or image of anyone. Dates in 和暦 and Gregorian.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::FormError;
use crate::document::{Document, Section, Table, document_pdf};
use mimamori_base::Timestamp;
use mimamori_base::time::{japanese_date, japanese_era_year};

/// Requests on one ground in the year, by outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroundCount {
    pub ground: String,
    pub label: String,
    pub basis: String,
    pub received: u32,
    pub approved: u32,
    pub refused: u32,
    pub withdrawn: u32,
    pub undecided: u32,
}

/// A signed head of the audit log: anyone holding the public key can check that
/// the log up to `seq` still hashes to `head` (`mimamori audit verify`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedHead {
    pub seq: i64,
    pub at: Timestamp,
    pub head_hex: String,
    pub signature_hex: String,
}

/// A camera as the public may know it (Kitakyushu 別表1): name, where, what for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CameraLine {
    pub name: String,
    pub location: String,
    pub purpose: String,
}

/// The report of one fiscal year.
#[derive(Clone, Debug)]
pub struct YearlyReport {
    pub fiscal_year: i32,
    pub from: Timestamp,
    pub to: Timestamp,
    pub installer: String,
    pub regulation: String,
    pub cameras: Vec<CameraLine>,
    /// (label, basis)
    pub purposes: Vec<(String, String)>,
    pub retention_days: u32,
    pub retention_basis: String,
    pub requests: Vec<GroundCount>,
    /// (method label, provisions delivered by it in the year)
    pub deliveries: Vec<(String, u32)>,
    pub holds_made: u32,
    /// Erasure runs and the segments they erased, in the year.
    pub erasures: u32,
    pub erased_segments: i64,
    pub complaints_received: u32,
    pub complaints_closed: u32,
    pub inquiries_received: u32,
    pub inquiries_closed: u32,
    pub media_disposed: u32,
    pub public_key_hex: String,
    pub signed_heads: Vec<SignedHead>,
    pub generated_at: Timestamp,
}

impl YearlyReport {
    pub fn requests_total(&self) -> (u32, u32, u32) {
        self.requests.iter().fold((0, 0, 0), |(r, a, f), g| {
            (r + g.received, a + g.approved, f + g.refused)
        })
    }
}

/// The style of the static page, inline (no external asset).
const STYLE: &str = "body{font-family:sans-serif;max-width:52em;margin:2em auto;padding:0 1em;line-height:1.6}\
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #888;padding:.2em .6em;text-align:left}\
td.n{text-align:right}.muted{color:#555;font-size:.9em}code{font-size:.8em;word-break:break-all}";

fn date(t: mimamori_base::Timestamp) -> String {
    let d = t.jst_date();
    format!("{}（{}）", japanese_date(d), d.format("%Y-%m-%d"))
}

fn fy_title(r: &YearlyReport) -> String {
    let start = r.from.jst_date();
    format!("{}年度（{}度）", r.fiscal_year, japanese_era_year(start))
}

/// The report's content (the static page's body, and the preview's).
pub fn report_body(r: &YearlyReport) -> Markup {
    let (received, approved, refused) = r.requests_total();
    let last_day = r.to.add_micros(-1);
    html! {
        h1 { (r.installer) " 防犯カメラの運用状況 " (fy_title(r)) }
        p { "対象期間: " (date(r.from)) " 〜 " (date(last_day)) }
        p.muted { "根拠: " (r.regulation) "。個人を識別できる情報は含みません。" }
        h2 { "設置しているカメラ" }
        p { (r.cameras.len()) " 台" }
        table id="cameras" {
            thead { tr { th { "名称" } th { "設置場所" } th { "設置目的" } } }
            tbody {
                @for c in &r.cameras {
                    tr { td { (c.name) } td { (c.location) } td { (c.purpose) } }
                }
            }
        }
        h2 { "利用目的" }
        ul { @for (label, basis) in &r.purposes { li { (label) " " span.muted { "(" (basis) ")" } } } }
        h2 { "画像の保存期間" }
        p { (r.retention_days) " 日 " span.muted { "(" (r.retention_basis) ")" } }
        h2 { "画像の提供の申請・照会" }
        table id="requests" {
            thead { tr { th { "根拠" } th { "受付" } th { "提供" } th { "不提供" } th { "取下げ" } th { "審査中" } } }
            tbody {
                @for g in &r.requests {
                    tr data-ground=(g.ground) {
                        td { (g.label) @if !g.basis.is_empty() { " " span.muted { "(" (g.basis) ")" } } }
                        td.n { (g.received) } td.n { (g.approved) } td.n { (g.refused) } td.n { (g.withdrawn) } td.n { (g.undecided) }
                    }
                }
                tr { th { "計" } td.n id="requests-received" { (received) } td.n id="requests-approved" { (approved) } td.n id="requests-refused" { (refused) } td {} td {} }
            }
        }
        h2 { "提供の方法（提供済みのもの）" }
        table id="deliveries" {
            tbody { @for (m, n) in &r.deliveries { tr { td { (m) } td.n { (n) } } } }
        }
        h2 { "保存期間の延長・消去" }
        table id="retention" {
            tbody {
                tr { td { "保存期間の延長（保全）" } td.n id="holds" { (r.holds_made) } }
                tr { td { "期間経過による消去の実施回数" } td.n id="erasures" { (r.erasures) } }
                tr { td { "消去した録画ファイル数" } td.n { (r.erased_segments) } }
                tr { td { "廃棄した記録媒体" } td.n id="media-disposed" { (r.media_disposed) } }
            }
        }
        h2 { "苦情・問い合わせ" }
        table id="complaints" {
            thead { tr { th {} th { "受付" } th { "対応完了" } } }
            tbody {
                tr { td { "苦情" } td.n id="complaints-received" { (r.complaints_received) } td.n id="complaints-closed" { (r.complaints_closed) } }
                tr { td { "問い合わせ" } td.n { (r.inquiries_received) } td.n { (r.inquiries_closed) } }
            }
        }
        h2 { "操作記録の署名（改ざん検出用）" }
        p.muted { "操作記録（アクセスログ）は連鎖ハッシュで記録され、その先頭が定期的に署名されています。"
            "下の公開鍵と署名により、後日、記録が書き換えられていないことを確かめられます（各日の最後の署名。"
            "署名時刻を含む完全な値は report.csv にあり、mimamori audit verify --published report.csv で照合します）。" }
        p { "公開鍵 (Ed25519): " code id="public-key" { (r.public_key_hex) } }
        table id="signed-heads" {
            thead { tr { th { "署名日時" } th { "番号" } th { "先頭ハッシュ" } th { "署名" } } }
            tbody {
                @for h in &r.signed_heads {
                    tr { td { (h.at.jst_minute()) } td.n { (h.seq) } td { code { (h.head_hex) } } td { code { (h.signature_hex) } } }
                }
            }
        }
        p.muted { "作成: " (date(r.generated_at)) }
    }
}

/// The static page: a whole document with its style inline, no script.
pub fn report_html(r: &YearlyReport) -> String {
    html! {
        (DOCTYPE)
        html lang="ja" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (r.installer) " 防犯カメラの運用状況 " (fy_title(r)) }
                style { (PreEscaped(STYLE)) }
            }
            body { (report_body(r)) }
        }
    }
    .into_string()
}

/// Long hexadecimal split into groups, so that a printed line can break.
fn grouped(hex: &str) -> String {
    hex.as_bytes()
        .chunks(16)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn table(header: &[&str], rows: Vec<Vec<String>>) -> Option<Table> {
    Some(Table {
        header: header.iter().map(|h| h.to_string()).collect(),
        rows,
    })
}

/// The report as a document of sections, with the static page's content.
pub fn report_document(r: &YearlyReport) -> Document {
    let (received, approved, refused) = r.requests_total();
    let last_day = r.to.add_micros(-1);
    let n = |v: u32| v.to_string();
    let mut requests: Vec<Vec<String>> = r
        .requests
        .iter()
        .map(|g| {
            vec![
                if g.basis.is_empty() {
                    g.label.clone()
                } else {
                    format!("{}（{}）", g.label, g.basis)
                },
                n(g.received),
                n(g.approved),
                n(g.refused),
                n(g.withdrawn),
                n(g.undecided),
            ]
        })
        .collect();
    requests.push(vec![
        "計".into(),
        n(received),
        n(approved),
        n(refused),
        String::new(),
        String::new(),
    ]);
    let sections = vec![
        Section {
            heading: "設置しているカメラ".into(),
            paragraphs: vec![format!("{} 台", r.cameras.len())],
            table: table(
                &["名称", "設置場所", "設置目的"],
                r.cameras
                    .iter()
                    .map(|c| vec![c.name.clone(), c.location.clone(), c.purpose.clone()])
                    .collect(),
            ),
            ..Section::default()
        },
        Section {
            heading: "利用目的".into(),
            items: r
                .purposes
                .iter()
                .map(|(label, basis)| format!("{label}（{basis}）"))
                .collect(),
            ..Section::default()
        },
        Section {
            heading: "画像の保存期間".into(),
            paragraphs: vec![format!("{} 日（{}）", r.retention_days, r.retention_basis)],
            ..Section::default()
        },
        Section {
            heading: "画像の提供の申請・照会".into(),
            table: table(&["根拠", "受付", "提供", "不提供", "取下げ", "審査中"], requests),
            ..Section::default()
        },
        Section {
            heading: "提供の方法（提供済みのもの）".into(),
            rows: r
                .deliveries
                .iter()
                .map(|(m, k)| (m.clone(), n(*k)))
                .collect(),
            ..Section::default()
        },
        Section {
            heading: "保存期間の延長・消去".into(),
            rows: vec![
                ("保存期間の延長（保全）".into(), n(r.holds_made)),
                ("期間経過による消去の実施回数".into(), n(r.erasures)),
                ("消去した録画ファイル数".into(), r.erased_segments.to_string()),
                ("廃棄した記録媒体".into(), n(r.media_disposed)),
            ],
            ..Section::default()
        },
        Section {
            heading: "苦情・問い合わせ".into(),
            table: table(
                &["", "受付", "対応完了"],
                vec![
                    vec!["苦情".into(), n(r.complaints_received), n(r.complaints_closed)],
                    vec!["問い合わせ".into(), n(r.inquiries_received), n(r.inquiries_closed)],
                ],
            ),
            ..Section::default()
        },
        Section {
            heading: "操作記録の署名（改ざん検出用）".into(),
            paragraphs: vec![
                "操作記録（アクセスログ）は連鎖ハッシュで記録され、その先頭が定期的に署名されています。下の公開鍵と署名により、後日、記録が書き換えられていないことを確かめられます（各日の最後の署名。署名時刻を含む完全な値は report.csv にあり、mimamori audit verify --published report.csv で照合します）。".into(),
                format!("公開鍵 (Ed25519): {}", grouped(&r.public_key_hex)),
            ],
            table: table(
                &["署名日時", "番号", "先頭ハッシュ", "署名"],
                r.signed_heads
                    .iter()
                    .map(|h| {
                        vec![
                            h.at.jst_minute(),
                            h.seq.to_string(),
                            grouped(&h.head_hex),
                            grouped(&h.signature_hex),
                        ]
                    })
                    .collect(),
            ),
            ..Section::default()
        },
    ];
    Document {
        title: format!("{} 防犯カメラの運用状況 {}", r.installer, fy_title(r)),
        lead: format!(
            "対象期間: {} 〜 {}。根拠: {}。個人を識別できる情報は含みません。",
            date(r.from),
            date(last_day),
            r.regulation
        ),
        sections,
        footer: format!("作成: {}", date(r.generated_at)),
    }
}

/// The report as PDF (the same content as the static page).
pub fn report_pdf(r: &YearlyReport) -> Result<Vec<u8>, FormError> {
    document_pdf(&report_document(r))
}

/// The figures as CSV (UTF-8 with BOM, for Excel): section, item, basis, value.
pub fn report_csv(r: &YearlyReport) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let mut row = |a: &str, b: &str, c: &str, d: String| {
        let _ = w.write_record([a, b, c, d.as_str()]);
    };
    row("区分", "項目", "根拠", "値".into());
    row("年度", &fy_title(r), "", r.fiscal_year.to_string());
    row("カメラ", "台数", "", r.cameras.len().to_string());
    row(
        "保存期間",
        "日数",
        &r.retention_basis,
        r.retention_days.to_string(),
    );
    for g in &r.requests {
        for (what, n) in [
            ("受付", g.received),
            ("提供", g.approved),
            ("不提供", g.refused),
            ("取下げ", g.withdrawn),
            ("審査中", g.undecided),
        ] {
            row(
                "提供の申請",
                &format!("{} {what}", g.label),
                &g.basis,
                n.to_string(),
            );
        }
    }
    for (m, n) in &r.deliveries {
        row("提供の方法", m, "", n.to_string());
    }
    row("保存期間の延長", "件数", "", r.holds_made.to_string());
    row("消去", "実施回数", "", r.erasures.to_string());
    row("消去", "録画ファイル数", "", r.erased_segments.to_string());
    row("記録媒体", "廃棄", "", r.media_disposed.to_string());
    row("苦情", "受付", "", r.complaints_received.to_string());
    row("苦情", "対応完了", "", r.complaints_closed.to_string());
    row("問い合わせ", "受付", "", r.inquiries_received.to_string());
    row("問い合わせ", "対応完了", "", r.inquiries_closed.to_string());
    row(PUBLIC_KEY_ROW, "Ed25519", "", r.public_key_hex.clone());
    for h in &r.signed_heads {
        row(
            SIGNED_HEAD_ROW,
            &h.seq.to_string(),
            &h.at.to_rfc3339(mimamori_base::time::jst()),
            format!("{} {}", h.head_hex, h.signature_hex),
        );
    }
    w.into_inner().unwrap_or_default()
}

const PUBLIC_KEY_ROW: &str = "操作記録の公開鍵";
const SIGNED_HEAD_ROW: &str = "操作記録の署名";

/// The public key and the signed heads a report's CSV published, read back (for
/// `mimamori audit verify --published`): rows of [`report_csv`]'s own shape.
pub fn published_heads(csv: &[u8]) -> Result<(String, Vec<SignedHead>), String> {
    let csv = csv.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(csv);
    let mut key = String::new();
    let mut heads = Vec::new();
    for (n, record) in csv::Reader::from_reader(csv).records().enumerate() {
        let r = record.map_err(|e| format!("line {}: {e}", n + 2))?;
        let bad = |what: &str| format!("line {}: {what}", n + 2);
        match r.get(0) {
            Some(PUBLIC_KEY_ROW) => key = r.get(3).unwrap_or("").to_string(),
            Some(SIGNED_HEAD_ROW) => {
                let seq = r
                    .get(1)
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| bad("not a sequence number"))?;
                let at = r
                    .get(2)
                    .and_then(Timestamp::parse_rfc3339)
                    .ok_or_else(|| bad("not a time"))?;
                let (head, sig) = r
                    .get(3)
                    .and_then(|v| v.split_once(' '))
                    .ok_or_else(|| bad("not a head and a signature"))?;
                heads.push(SignedHead {
                    seq,
                    at,
                    head_hex: head.to_string(),
                    signature_hex: sig.to_string(),
                });
            }
            _ => {}
        }
    }
    Ok((key, heads))
}
